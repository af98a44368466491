import type { Progress } from '../pipeline/progress.js';

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

export interface DeployOptions {
  readyTimeoutMs: number;
  progress: Progress;
  signal: AbortSignal;
}

/**
 * The scheduler seam. deploy starts a new instance and returns once it
 * answers (or removes it and throws); retire stops what no longer serves;
 * status says what runs; destroy removes all an app owns.
 */
export interface Runtime {
  name: string;
  deploy(spec: ProcessSpec, options: DeployOptions): Promise<Instance>;
  retire(app: string, keepRelease: number | null): Promise<Instance[]>;
  status(app: string): Promise<Instance[]>;
  destroy(app: string): Promise<void>;
}
