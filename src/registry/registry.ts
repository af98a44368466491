import type { Engine } from '../docker/engine.js';
import type { ProgressEvent, RegistryAuth } from '../docker/images.js';
import { ExternalError } from '../errors.js';
import type { Progress } from '../output/progress.js';

export interface RegistrySettings {
  /** host[:port]/path that images are named under. */
  prefix: string;
  username: string | undefined;
  password: string | undefined;
}

/**
 * The team's registry: release images are named REGISTRY/APP:vN (and
 * REGISTRY/APP:COMMIT), pushed after the build, and pulled wherever a
 * release has to run and its image is not there.
 */
/** The registry seam: where release images are named, pushed and pulled. */
export interface ReleaseRegistry {
  readonly prefix: string;
  releaseImage(app: string, version: number): string;
  commitImage(app: string, commit: string): string;
  authconfig(): RegistryAuth | undefined;
  push(tags: readonly string[], progress: Progress, signal: AbortSignal): Promise<void>;
  ensure(ref: string, progress: Progress): Promise<void>;
}

export class Registry implements ReleaseRegistry {
  constructor(
    private readonly engine: Engine,
    private readonly settings: RegistrySettings,
  ) {}

  get prefix(): string {
    return this.settings.prefix;
  }

  releaseImage(app: string, version: number): string {
    return `${this.settings.prefix}/${app}:v${version}`;
  }

  commitImage(app: string, commit: string): string {
    return `${this.settings.prefix}/${app}:${commit.slice(0, 12)}`;
  }

  /** What dockerode and swarm take as credentials; undefined without a user. */
  authconfig(): RegistryAuth | undefined {
    if (!this.settings.username) return undefined;
    return { username: this.settings.username, password: this.settings.password ?? '', serveraddress: this.settings.prefix.split('/')[0] };
  }

  /** Pushes each tag (all of one local image), streaming one line per layer; the registry's own message on failure. */
  async push(tags: readonly string[], progress: Progress, signal: AbortSignal): Promise<void> {
    for (const ref of tags) {
      progress.info(`Pushing ${ref}`);
      let stream: NodeJS.ReadableStream;
      try {
        stream = await this.engine.images.push(ref, this.authconfig(), signal);
      } catch (err) {
        throw new ExternalError(`the registry refused ${ref}: ${message(err)}`, err);
      }
      await this.follow(stream, ref, (e: ProgressEvent) => {
        if (e.status === 'Pushed' || e.status === 'Layer already exists' || e.status?.startsWith('Mounted from')) progress.output(`${e.id}: ${e.status}\n`);
        else if (e.status && /digest: sha256:/.test(e.status)) progress.output(`${e.status}\n`);
      });
    }
  }

  private async follow(stream: NodeJS.ReadableStream, ref: string, onEvent: (e: ProgressEvent) => void): Promise<void> {
    try {
      await this.engine.images.followProgress(stream, onEvent);
    } catch (err) {
      throw new ExternalError(`the registry failed for ${ref}: ${message(err)}`, err);
    }
  }

  /** Pulls ref when this engine does not have it. */
  async ensure(ref: string, progress: Progress): Promise<void> {
    if (await this.engine.images.exists(ref)) return;
    progress.info(`Pulling ${ref}`);
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.engine.images.pull(ref, this.authconfig());
    } catch (err) {
      throw new ExternalError(`could not pull ${ref} from the registry: ${message(err)}`, err);
    }
    await this.follow(stream, ref, (e: ProgressEvent) => {
      if (e.status === 'Pull complete' || e.status === 'Already exists') progress.output(`${e.id}: ${e.status}\n`);
    });
  }
}

function message(err: unknown): string {
  const e = err as { json?: { message?: string }; reason?: string; message?: string };
  return (e?.json?.message ?? e?.message ?? String(err)).split('\n')[0];
}
