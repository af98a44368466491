import type { StackDefinition } from '../domain/stackfile.js';
import type { Progress } from '../output/progress.js';
import type { BuildLimits } from '../docker/build-limits.js';

/** The stack an app is set to build with: a built-in one by name, or one defined by a stackfile. */
export type AppStack = { kind: 'builtin'; name: string } | { kind: 'stackfile'; definition: StackDefinition };

/** What a builder looks at: the checked-out commit, and the app's stack if it has one. */
export interface Source {
  dir: string;
  stack: AppStack | null;
}

/** Whom an image belongs to, as its labels say; a name alone (an image the host lacks) has neither id nor time. */
export interface ImageOwner {
  app: string;
  appId?: string;
  created?: string;
}

/** Which apps' images a build may start from: the pusher's own and those shared with them. */
export interface BuildAccess {
  /** Whether the pusher may build on an image of this app: by its identity label, else (older images) its creation time. */
  mayUse(owner: ImageOwner): boolean;
  /** SKIFF_REGISTRY's prefix: REGISTRY/APP names a release image as skiff/APP does. */
  registryPrefix: string | undefined;
}

export interface BuildContext extends Source {
  app: string;
  /** The app's identity, which its images carry beside its name (a name can be destroyed and taken again). */
  appId: string;
  /** What every step of the build is held to. */
  limits: BuildLimits;
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
