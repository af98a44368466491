import type { Progress } from '../pipeline/progress.js';

export interface BuildContext {
  app: string;
  buildId: number;
  /** The checked-out commit. */
  dir: string;
  /** The image tag to produce. */
  tag: string;
  progress: Progress;
  signal: AbortSignal;
}

export interface BuiltImage {
  tag: string;
  id: string;
}

/** How a checked-out commit becomes an image. detect says whether this builder fits the code, and why. */
export interface Builder {
  name: string;
  detect(dir: string): Promise<string | undefined>;
  /** The Dockerfile this builder would build dir with, for a user to read. */
  dockerfile(dir: string): string;
  build(ctx: BuildContext): Promise<BuiltImage>;
}
