import type Docker from 'dockerode';
import type { ImageInfo, ImageInspectInfo } from 'dockerode';
import { imageRepoTag, unlessNotFound } from './client.js';

/** One event of a pull or push stream. */
export interface ProgressEvent {
  status?: string;
  id?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/** A registry's credentials, as the engine takes them. */
export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress: string;
}

/** The engine's images, by reference (NAME:TAG or id): the only calls Skiff makes on them. */
export class ImageClient {
  constructor(private readonly docker: Docker) {}

  inspect(ref: string): Promise<ImageInspectInfo> {
    return this.docker.getImage(ref).inspect();
  }

  /** Its inspection; undefined when the engine does not have it. */
  find(ref: string): Promise<ImageInspectInfo | undefined> {
    return unlessNotFound(this.docker.getImage(ref).inspect());
  }

  async exists(ref: string): Promise<boolean> {
    return (await this.find(ref)) !== undefined;
  }

  async tag(source: string, target: string): Promise<void> {
    const [repo, tag] = imageRepoTag(target);
    await this.docker.getImage(source).tag({ repo, tag });
  }

  /** Removes a tag (the image goes with its last one), or with force an image by id. */
  async remove(ref: string, options: { force?: boolean } = {}): Promise<void> {
    await this.docker.getImage(ref).remove(options.force ? { force: true } : { noprune: false });
  }

  /** Images with all of these labels (KEY or KEY=VALUE). */
  list(labels: string[]): Promise<ImageInfo[]> {
    return this.docker.listImages({ filters: { label: labels } });
  }

  /** Builds with the classic builder; the stream is the engine's JSON progress. */
  build(context: NodeJS.ReadableStream | { context: string; src: string[] }, options: Record<string, unknown>): Promise<NodeJS.ReadableStream> {
    return this.docker.buildImage(context, options as Parameters<Docker['buildImage']>[1]);
  }

  push(ref: string, auth: RegistryAuth | undefined, signal: AbortSignal): Promise<NodeJS.ReadableStream> {
    const [repo, tag] = imageRepoTag(ref);
    return this.docker.getImage(repo).push({ tag, authconfig: auth, abortSignal: signal } as object);
  }

  pull(ref: string, auth?: RegistryAuth): Promise<NodeJS.ReadableStream> {
    return this.docker.pull(ref, auth ? { authconfig: auth } : {});
  }

  /** Rejects when the registry refuses these credentials. */
  async checkAuth(auth: RegistryAuth): Promise<void> {
    await this.docker.checkAuth(auth);
  }

  /** Follows a pull, push or build stream to its end; an error event rejects with the engine's or registry's own message. */
  followProgress(stream: NodeJS.ReadableStream, onEvent: (e: ProgressEvent) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      let failure: string | undefined;
      this.docker.modem.followProgress(
        stream,
        (err: Error | null) => {
          if (err || failure) reject(new Error(failure ?? err?.message ?? 'failed'));
          else resolve();
        },
        (e: ProgressEvent) => {
          if (e.error) failure ??= e.errorDetail?.message ?? e.error;
          else onEvent(e);
        },
      );
    });
  }
}
