import type { Progress } from '../output/progress.js';
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

/** One instance of one process type of one release, as the pipeline asks for it. */
export interface ProcessSpec {
  app: string;
  release: number;
  process: string;
  /** 1, 2, 3 … within the process type: web.1, web.2. */
  index: number;
  image: string;
  /** The Procfile's command, run with sh -c; null runs the image's CMD. */
  command: string | null;
  env: Record<string, string>;
  /** The port a web process listens on inside its container (PORT); other types get none. */
  port: number | null;
  /** Limits: bytes of memory, number of CPUs, processes (a fork bomb stops there). */
  memory: number | null;
  cpus: number | null;
  pids: number;
  /** A path a web instance must answer with 2xx to be ready; without one, any HTTP answer will do. */
  healthcheck?: string | null;
}

export interface Instance {
  id: string;
  name: string;
  app: string;
  release: number;
  process: string;
  index: number;
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
  /** The limits of the process type it stands in for. */
  memory: number | null;
  cpus: number | null;
  pids: number;
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

/** One process type of a release as a rolling runtime runs it: an instance's spec, and how many. */
export interface FormationSpec extends Omit<ProcessSpec, 'index'> {
  quantity: number;
}

export interface RollingDeployOptions extends DeployOptions {
  /** Process types whose tasks are replaced even when their spec did not change (a restart, a new release). */
  restart: readonly string[] | 'all';
}

/** What a rolling runtime deployed: where web traffic goes, and what runs now. */
export interface RolledOut {
  upstreams: string[];
  instances: Instance[];
}

export interface NodeInfo {
  id: string;
  hostname: string;
  role: string;
  availability: string;
  state: string;
  address: string;
  engine: string;
  tasks: { app: string; process: string; index: number; release: number; state: string }[];
}

/**
 * The scheduler seam. start runs a new instance and returns once it is ready
 * (a web process answers HTTP; others stay up), or removes it and throws;
 * stop stops and removes instances; status says what runs; logs reads and
 * follows output; run attaches a one-off process; destroy removes all an app
 * owns.
 */
export interface Runtime {
  name: string;
  start(spec: ProcessSpec, options: DeployOptions): Promise<Instance>;
  stop(instances: readonly Instance[]): Promise<void>;
  status(app: string): Promise<Instance[]>;
  destroy(app: string): Promise<void>;
  logs(app: string, options: LogOptions, onLine: (line: LogLine) => void): Promise<void>;
  /** Runs a one-off process attached to io; returns its exit status. It is removed afterwards, whatever happens. */
  run(spec: OneOffSpec, io: OneOffIO): Promise<number>;
  /**
   * Runtimes whose engine replaces instances itself (swarm) take the whole
   * formation at once: they start new instances before old ones stop, check
   * their health, and roll back by themselves when the new ones fail.
   */
  rollout?(app: string, formation: readonly FormationSpec[], options: RollingDeployOptions): Promise<RolledOut>;
  /** Why this runtime cannot be used now (e.g. the engine is no swarm manager); undefined when it can. */
  unavailable?(): Promise<string | undefined>;
  /** The hosts a cluster runtime spreads instances over, and what runs on each. */
  nodes?(): Promise<NodeInfo[]>;
  /** Runs a command inside a running instance (a stack's COMMAND health check); a timeout counts as a failure. */
  exec(instance: Instance, command: string[], options: { timeoutMs: number; signal: AbortSignal }): Promise<{ exitCode: number; output: string }>;
}
