import type { StackDefinition } from '../domain/stackfile.js';
import type { Progress } from '../output/progress.js';

/** The stack an app is set to build with: a built-in one by name, or one defined by a stackfile. */
export type AppStack = { kind: 'builtin'; name: string } | { kind: 'stackfile'; definition: StackDefinition };

/** What a builder looks at: the checked-out commit, and the app's stack if it has one. */
export interface Source {
  dir: string;
  stack: AppStack | null;
}

/** Which apps' images a build may start from: the pusher's own and those shared with them. */
export interface BuildAccess {
  mayUse(app: string): boolean;
  /** SKIFF_REGISTRY's prefix: REGISTRY/APP names a release image as skiff/APP does. */
  registryPrefix: string | undefined;
}

export interface BuildContext extends Source {
  app: string;
  access: BuildAccess;
  buildId: number;
  /** The image tag to produce. */
  tag: string;
  progress: Progress;
  signal: AbortSignal;
}

export interface BuiltImage {
  tag: string;
  id: string;
}

/**
 * How a checked-out commit becomes an image. detect says whether this
 * builder fits the source, and why; builders are asked in order: the app's
 * stack, then its Dockerfile, then the built-in stacks.
 */
export interface Builder {
  name: string;
  detect(source: Source): Promise<string | undefined>;
  /** The Dockerfile this builder would build with, for a user to read (or what it does instead). */
  dockerfile(source: Source): string;
  build(ctx: BuildContext): Promise<BuiltImage>;
}
