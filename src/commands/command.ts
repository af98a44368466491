import type { Readable, Writable } from 'node:stream';
import type { AuditNote } from '../operations/audit.js';
import type { Caller, Services } from '../operations/operation.js';
import type { TerminalSize } from '../output/terminal.js';
import type { ParsedArgs } from './args.js';

export type { Caller, Services, TerminalSize };

export interface CommandIO {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  /** Fires when the client goes away; long-running commands stop then. */
  signal: AbortSignal;
  /** The client's terminal, when it asked for one (ssh -t), and its size changes. */
  tty?: TerminalSize;
  onResize?: (listener: (size: TerminalSize) => void) => void;
  /** stdout without the newline translation a terminal session gets: for bytes from another terminal. */
  rawStdout?: Writable;
}

export interface CommandContext extends ParsedArgs {
  /** The arguments as given; positionals and values are them parsed by the usage line. */
  args: string[];
  caller: Caller;
  io: CommandIO;
  services: Services;
}

/**
 * A command, declared once: its usage line is what help shows, what usage
 * errors quote and what its arguments are parsed by (see grammarOf); audit
 * says what the trail records of it. A command parses, calls one operation
 * and renders.
 */
export interface CommandSpec {
  name: string;
  aliases?: string[];
  /** Arguments after the name, as help shows them, and as they are parsed. */
  usage: string;
  /** The arguments go to run as they are, unparsed (everything after the app is a command to run). */
  raw?: boolean;
  /** A command that changes something records an event: the app it touched and facts safe to keep (never a config value). */
  audit?: (args: ParsedArgs) => AuditNote;
  summary: string;
  adminOnly?: boolean;
  /** Internal commands run but are not listed in help. */
  hidden?: boolean;
  /**
   * Its output is the app's own bytes (logs, a one-off's terminal, a build
   * log, a config value), passed through as they are; every other command's
   * output has its control characters escaped.
   */
  rawOutput?: boolean;
  run(ctx: CommandContext): Promise<number | void>;
}
