import type { Progress } from '../pipeline/progress.js';
import type { LogLine } from './log-lines.js';

export interface LogOptions {
  /** Recent lines to show, over all instances. */
  tail: number;
  /** Only this process type. */
  process?: string;
  /** Keep streaming new lines (and new instances) until signal aborts. */
  follow: boolean;
  signal: AbortSignal;
}

/** One process of one release, as the pipeline asks for it. */
export interface ProcessSpec {
  app: string;
  release: number;
  process: string;
  image: string;
  env: Record<string, string>;
  /** The port the process listens on inside its container (PORT). */
  port: number;
}

export interface Instance {
  id: string;
  name: string;
  app: string;
  release: number;
  process: string;
  state: string;
  /** Where the instance answers on this host, when it has a port. */
  hostPort?: number;
  startedAt?: string;
}

/** A one-off process: a throwaway instance of a release, attached to the caller. */
export interface OneOffSpec {
  app: string;
  release: number;
  image: string;
  env: Record<string, string>;
  command: string[];
}

export interface OneOffIO {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  tty?: { rows: number; cols: number };
  onResize?: (listener: (size: { rows: number; cols: number }) => void) => void;
  signal: AbortSignal;
}

export interface DeployOptions {
  readyTimeoutMs: number;
  progress: Progress;
  signal: AbortSignal;
}

/**
 * The scheduler seam. deploy starts a new instance and returns once it
 * answers (or removes it and throws); retire stops what no longer serves;
 * status says what runs; logs reads and follows output; destroy removes
 * all an app owns.
 */
export interface Runtime {
  name: string;
  deploy(spec: ProcessSpec, options: DeployOptions): Promise<Instance>;
  retire(app: string, keepRelease: number | null): Promise<Instance[]>;
  status(app: string): Promise<Instance[]>;
  destroy(app: string): Promise<void>;
  logs(app: string, options: LogOptions, onLine: (line: LogLine) => void): Promise<void>;
  /** Runs a one-off process attached to io; returns its exit status. It is removed afterwards, whatever happens. */
  run(spec: OneOffSpec, io: OneOffIO): Promise<number>;
}
