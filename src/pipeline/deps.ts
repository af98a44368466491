import type { Builder } from '../builder/builder.js';
import type { ImageStore } from '../builder/images.js';
import type { StackImageRunner } from '../builder/stack-image.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Router } from '../router/router.js';
import type { Clock } from '../clock.js';
import type { ReleaseRegistry } from '../registry/registry.js';
import type { AppRuntimes } from '../runtime/runtime.js';
import type { VolumeStore } from '../runtime/volumes.js';
import type { Store } from '../store/store.js';
import type { Release } from '../domain/entities.js';
import type { Progress } from '../output/progress.js';

/** What the stages of a push use: each an interface, so a test can hand in a fake. */
export interface PipelineDeps {
  config: Config;
  store: Store;
  log: Logger;
  builders: readonly Builder[];
  images: ImageStore;
  /** Runs stackfile stacks' build and verify images. */
  stackImages: StackImageRunner;
  /** The runtimes, each app's chosen by its setting or SKIFF_RUNTIME. */
  runtime: AppRuntimes;
  /** The team's registry, when SKIFF_REGISTRY names one. */
  registry: ReleaseRegistry | undefined;
  router: Router;
  /** Apps' named volumes (storage). */
  volumes: VolumeStore;
  /** How the pipeline waits. */
  clock: Clock;
  /** Takes a proven backup of the app's linked databases before its release phase runs (migrations), recorded with the release. */
  releaseBackups: ReleaseBackups;
}

/** The backups a release phase is preceded by; a backup that fails refuses the release. */
export interface ReleaseBackups {
  beforeReleasePhase(rel: Release, progress: Progress): Promise<void>;
}
