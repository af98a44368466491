import { InvalidError } from '../errors.js';

export const PROCESS_TYPE_PATTERN = /^[a-z][a-z0-9_-]{0,29}$/;

/** Process types one app may define, and the longest command: each type is a service, a unit, a row. */
export const MAX_PROCESS_TYPES = 20;
export const MAX_COMMAND_LENGTH = 4096;

/** Process types and their commands; null means the image's own CMD. */
export type Processes = Record<string, string | null>;

/**
 * Reads a Procfile: `type: command` lines, # comments and blank lines
 * ignored. Without a Procfile an image has one process, web, running its CMD.
 */
export function parseProcfile(text: string | undefined): Processes {
  if (text === undefined) return { web: null };
  const processes: Processes = {};
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^([^:\s]+)\s*:\s*(.*)$/.exec(line);
    if (!m) throw new InvalidError(`Procfile line ${i + 1} is not 'type: command'`);
    const [, type, command] = m;
    if (!PROCESS_TYPE_PATTERN.test(type)) {
      throw new InvalidError(`Procfile line ${i + 1}: invalid process type '${type}' (lower-case letters, digits, '-' and '_')`);
    }
    if (command === '') throw new InvalidError(`Procfile line ${i + 1}: ${type} has no command`);
    // A command ends up in a container's argv and in a systemd unit's ExecStart: no control characters.
    if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(command)) throw new InvalidError(`Procfile line ${i + 1}: ${type}'s command has a control character`);
    if (command.length > MAX_COMMAND_LENGTH)
      throw new InvalidError(`Procfile line ${i + 1}: ${type}'s command is longer than ${MAX_COMMAND_LENGTH} characters`);
    if (type in processes) throw new InvalidError(`Procfile line ${i + 1}: ${type} is defined twice`);
    processes[type] = command;
    if (Object.keys(processes).length > MAX_PROCESS_TYPES) throw new InvalidError(`the Procfile defines more than ${MAX_PROCESS_TYPES} process types`);
  });
  if (Object.keys(processes).length === 0) throw new InvalidError('the Procfile defines no process types');
  return processes;
}

export function parseProcessType(input: string): string {
  if (!PROCESS_TYPE_PATTERN.test(input)) throw new InvalidError(`'${input}' is not a process type`);
  return input;
}

/** ps:scale's words: web=3 worker=0. */
export function parseScale(words: readonly string[]): Record<string, number> {
  if (words.length === 0) throw new InvalidError('give at least one TYPE=COUNT, e.g. web=2');
  const counts: Record<string, number> = {};
  for (const word of words) {
    const m = /^([^=]+)=(\d{1,3})$/.exec(word);
    if (!m) throw new InvalidError(`'${word}' is not TYPE=COUNT (a count from 0 to 100)`);
    const n = Number(m[2]);
    if (n > 100) throw new InvalidError(`${m[1]}=${n}: at most 100 instances per type`);
    counts[parseProcessType(m[1])] = n;
  }
  return counts;
}

/** Docker's memory notation: 512m, 1g, 256k, or bytes. */
export function parseMemory(input: string): number {
  const m = /^(\d{1,6})([kmg]?)b?$/i.exec(input.trim());
  if (!m) throw new InvalidError(`'${input}' is not a memory size; write it like 512m or 1g`);
  const bytes = Number(m[1]) * { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  if (bytes < 6 * 1024 ** 2) throw new InvalidError('memory must be at least 6m (Docker refuses less)');
  return bytes;
}

export function parseCpus(input: string): number {
  const n = Number(input);
  if (!/^\d+(\.\d+)?$/.test(input) || n <= 0 || n > 64) throw new InvalidError(`'${input}' is not a CPU count; write it like 0.5 or 2`);
  return n;
}

/** Words that start a command the shell must run itself: exec would not find them, or would not run the rest. */
const SHELL_WORDS = new Set([
  'if',
  'then',
  'else',
  'elif',
  'fi',
  'while',
  'until',
  'for',
  'do',
  'done',
  'case',
  'esac',
  '{',
  '}',
  '!',
  'cd',
  'export',
  'set',
  'unset',
  'source',
  '.',
  'exec',
  'trap',
  'ulimit',
  'umask',
  'eval',
  'wait',
  'exit',
  'return',
  'shift',
  'read',
  'alias',
  'time',
]);

/**
 * How a Procfile-style command runs: with sh, and when it is one simple
 * command (no ; & | < > ( ) or backquotes, no shell keyword or builtin
 * first, no VAR=value first), exec'd, so that the program itself is the
 * process the stop signal reaches. Debian's sh does not pass SIGTERM on: it
 * dies of it, and the program is killed outright without its grace period.
 */
export function shellCommand(command: string): string[] {
  const first = command.trim().split(/\s+/)[0] ?? '';
  const simple = !/[;&|<>()`\n]/.test(command) && !SHELL_WORDS.has(first) && !/^[A-Za-z_][A-Za-z0-9_]*=/.test(first) && first !== '';
  return ['sh', '-c', simple ? `exec ${command.trim()}` : command];
}
