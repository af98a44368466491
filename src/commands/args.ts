import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors.js';
import { oneLine } from './safe-output.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface ParsedArgs {
  positionals: string[];
  values: Record<string, string | boolean | undefined>;
}

/**
 * Parse a command's arguments with node's own parser, strictly: an unknown
 * flag or a missing value is a usage error that shows the command's usage.
 */
export function parseCommandArgs(
  command: string,
  usage: string,
  args: string[],
  options: Options,
  positionals: { min: number; max: number },
): ParsedArgs {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0].replace(/\. To specify a positional.*$/, '') : '';
    throw new UsageError(`${why}; usage: ${command} ${usage}`.replace(/^; /, ''));
  }
  const n = parsed.positionals.length;
  if (n < positionals.min || n > positionals.max) {
    throw new UsageError(`usage: ${command} ${usage}`);
  }
  return { positionals: parsed.positionals, values: parsed.values as ParsedArgs['values'] };
}

export function writeJson(out: NodeJS.WritableStream, value: unknown): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Fixed-width columns for listings; a cell is one line, whatever a user put in it. */
export function table(cells: string[][]): string {
  if (cells.length === 0) return '';
  const rows = cells.map((r) => r.map(oneLine));
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd()).join('\n') + '\n';
}
