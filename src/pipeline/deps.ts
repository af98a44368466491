import type { Builder } from '../builder/builder.js';
import type { Images } from '../builder/images.js';
import type { StackImages } from '../builder/stack-image.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Router } from '../router/router.js';
import type { Registry } from '../registry/registry.js';
import type { Runtimes } from '../runtime/runtimes.js';
import type { Store } from '../store/store.js';

/** What the stages of a push use. */
export interface PipelineDeps {
  config: Config;
  store: Store;
  log: Logger;
  builders: readonly Builder[];
  images: Images;
  /** Runs stackfile stacks' build and verify images. */
  stackImages: StackImages;
  /** The runtimes, each app's chosen by its setting or SKIFF_RUNTIME. */
  runtime: Runtimes;
  /** The team's registry, when SKIFF_REGISTRY names one. */
  registry: Registry | undefined;
  router: Router;
}
