import type { Readable, Writable } from 'node:stream';
import type { Repos } from '../git/repos.js';
import type { PipelineDeps } from '../pipeline/deps.js';

/** Who runs a command: a key's user over SSH, or the admin on the host. */
export interface Caller {
  user: string;
  admin: boolean;
  via: 'ssh' | 'host' | 'https';
  fingerprint?: string;
  address?: string;
}

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

export interface TerminalSize {
  rows: number;
  cols: number;
}

/** What commands may use; main.ts builds the concrete ones. */
export interface Services extends PipelineDeps {
  repos: Repos;
  version: string;
}

export interface CommandContext {
  args: string[];
  caller: Caller;
  io: CommandIO;
  services: Services;
}

export interface CommandSpec {
  name: string;
  aliases?: string[];
  /** Arguments after the name, as help shows them. */
  usage: string;
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
