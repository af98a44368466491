import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors.js';
import { oneLine } from './safe-output.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface ParsedArgs {
  positionals: string[];
  /** A flag is a boolean, an option a string; one its usage line marks repeatable (`[--opt VALUE...]`) every value given. */
  values: Record<string, string | boolean | string[] | undefined>;
}

/** What a usage line declares: its options (as node's parser takes them) and how many positional arguments it takes. */
export interface ArgsGrammar {
  options: Options;
  min: number;
  max: number;
}

/**
 * Reads a command's usage line, which is its one declaration of arguments:
 * `APP` is required, `[TYPE]` optional, `KEY...` one or more, `[--json]` a
 * flag, `[--stack STACK]` or `--confirm NAME` an option with a value, `-n
 * LINES` a short one (named n), `[--opt VALUE...]` one that may be given
 * again, and `< FILE` what stdin takes.
 */
export function grammarOf(usage: string): ArgsGrammar {
  const options: Options = {};
  let min = 0;
  let max = 0;
  const tokens = usage.match(/\[[^\]]*\]|<.*$|--?[a-z][a-z0-9-]*(?: [A-Z][A-Z0-9_]*(?:\.\.\.)?)?|\S+/g) ?? [];
  for (const token of tokens) {
    if (token.startsWith('<')) break;
    const optional = token.startsWith('[');
    const [word, value] = token.replace(/^\[|\]$/g, '').split(' ');
    const flag = /^(--?)([a-z][a-z0-9-]*)$/.exec(word);
    if (flag) {
      const name = flag[2];
      options[name] = {
        type: value === undefined ? 'boolean' : 'string',
        ...(flag[1] === '-' ? { short: name } : {}),
        ...(value?.endsWith('...') ? { multiple: true } : {}),
      };
      continue;
    }
    if (word.endsWith('...')) max = Infinity;
    else if (max !== Infinity) max++;
    if (!optional) min++;
  }
  return { options, min, max };
}

/**
 * Parses a command's arguments by its usage line with node's own parser,
 * strictly: an unknown flag, a missing value or a wrong count is a usage
 * error that shows the usage.
 */
export function parseCommandArgs(command: string, usage: string, args: string[]): ParsedArgs {
  const { options, min, max } = grammarOf(usage);
  // A negative number after an option that takes a value is that value (--max -3): the command then says what is wrong with it.
  const joined = args.flatMap((arg, i) =>
    isValueOption(options, args[i - 1]) && /^-\d/.test(arg)
      ? []
      : isValueOption(options, arg) && /^-\d/.test(args[i + 1] ?? '')
        ? [`${arg}=${args[i + 1]}`]
        : [arg],
  );
  let parsed;
  try {
    parsed = parseArgs({ args: joined, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${parserWords(err)}; usage: ${command} ${usage}`.replace(/^; /, ''));
  }
  const n = parsed.positionals.length;
  if (n < min || n > max) throw new UsageError(`usage: ${command} ${usage}`.trimEnd());
  return { positionals: parsed.positionals, values: parsed.values as ParsedArgs['values'] };
}

function isValueOption(options: ParseArgsConfig['options'], arg: string | undefined): boolean {
  if (arg === undefined || !arg.startsWith('-') || arg.includes('=')) return false;
  const name = arg.replace(/^--?/, '');
  const option = Object.entries(options ?? {}).find(([long, o]) => long === name || o.short === name)?.[1];
  return option?.type === 'string';
}

/** node's parser's complaint, in Skiff's words. */
function parserWords(err: unknown): string {
  const message = err instanceof Error ? err.message.split('\n')[0] : '';
  const code = (err as { code?: string }).code;
  const option = /Option '(-[^' ]+)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
    return /ambiguous/.test(message) ? `${option} takes a value; one that starts with '-' goes as ${option}=VALUE` : `${option} takes a value`;
  }
  return message.replace(/\. To specify a positional.*$/, '');
}

export function writeJson(out: NodeJS.WritableStream, value: unknown): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Fixed-width columns for listings; a cell is one line, whatever a user put in it. */
export function table(cells: string[][]): string {
  if (cells.length === 0) return '';
  const rows = cells.map((r) => r.map(oneLine));
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return (
    rows
      .map((r) =>
        r
          .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

/** Bytes as a person reads them (KiB, MiB, …); null: unknown. */
export function formatBytes(bytes: number | null): string {
  if (bytes === null) return '?';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let n = bytes;
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return `${u === 0 ? n : n.toFixed(1)} ${units[u]}`;
}
