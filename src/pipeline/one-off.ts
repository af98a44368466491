import type { OneOffSpec } from '../runtime/runtime.js';
import { appIdentity, appMounts, appNetworks, oneOffLimits } from './converge.js';
import type { PipelineDeps } from './deps.js';

/** What a one-off runs: a release's image and config, or (verify) an image not released yet, as version 0. */
export interface OneOffSource {
  app: string;
  version: number;
  image: string;
  config: Record<string, string>;
  /** The port the release's web instances listen on; null: SKIFF_APP_PORT. */
  port: number | null;
}

/**
 * The one way a one-off's container is specified (verify, the release phase,
 * app.json's scripts, scheduled runs, `run`): the source's image and config
 * with PORT as its instances get it, the app's identity, the limits of the
 * process type it stands in for (web unless said), and the app's volumes
 * and its linked services' networks unless it runs before there is a
 * release to use them (verify).
 */
export function oneOffSpec(
  deps: Pick<PipelineDeps, 'config' | 'store'>,
  source: OneOffSource,
  command: string[],
  options: { process?: string; mounts?: boolean; cronRun?: number } = {},
): OneOffSpec {
  return {
    app: source.app,
    release: source.version,
    image: source.image,
    env: { ...source.config, PORT: String(source.port ?? deps.config.appPort) },
    command,
    ...appIdentity(deps, source.app),
    ...oneOffLimits(deps, source.app, options.process),
    ...(options.mounts === false ? {} : { mounts: appMounts(deps, source.app), networks: appNetworks(deps, source.app) }),
    ...(options.cronRun === undefined ? {} : { cronRun: options.cronRun }),
  };
}
