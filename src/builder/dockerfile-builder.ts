import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Ignore } from '@balena/dockerignore';
import type tarFs from 'tar-fs';
import type { Engine } from '../docker/engine.js';
import { BuildFailedError, DeniedError, ExternalError } from '../errors.js';
import { appLabels, LABEL_APP, LABEL_APP_ID } from '../domain/names.js';
import { withBuildBounds } from '../docker/build-limits.js';
import { BuildOutputParser } from './build-output.js';
import type { BuildContext, Builder, BuiltImage, Source } from './builder.js';
import { hasSourceFile, readSourceFile } from './source-files.js';
import { assertMayBuildOn, referencedImages } from './base-images.js';
import { imageIsApps, withAppLabels } from './image-labels.js';

/** Builds the app's own Dockerfile with the engine's layer cache. */
export class DockerfileBuilder implements Builder {
  readonly name = 'dockerfile';

  constructor(private readonly engine: Engine) {}

  async detect({ dir, stack }: Source): Promise<string | undefined> {
    // An app set to a stack builds with it, Dockerfile or not.
    if (stack) return undefined;
    return hasSourceFile(dir, 'Dockerfile') ? "the app's Dockerfile" : undefined;
  }

  dockerfile({ dir }: Source): string {
    return readSourceFile(dir, 'Dockerfile') ?? '';
  }

  async build(ctx: BuildContext): Promise<BuiltImage> {
    return buildFromContext(this.engine, ctx, 'Dockerfile');
  }
}

/**
 * Sends ctx.dir to the engine as the build context and builds it with the
 * layer cache, streaming every line and checking each for an error. The
 * Dockerfile's base images are checked once, before anything is sent. What
 * kept names (folders Skiff wrote into the checkout) is sent whatever the
 * .dockerignore says.
 */
export async function buildFromContext(
  engine: Engine,
  ctx: BuildContext,
  dockerfile: string,
  settingOf: (image: string) => string | undefined = () => undefined,
  kept: readonly string[] = [],
): Promise<BuiltImage> {
  const text = readSourceFile(ctx.dir, dockerfile) ?? '';
  const labelled = withAppLabels(text, appLabels(ctx.app, ctx.appId));
  const missing: string[] = [];
  await ctx.progress.time('base images', async () => {
    await assertMayBuildOn(engine, text, ctx.access);
    for (const image of referencedImages(text)) if (!(await engine.images.exists(image))) missing.push(image);
  });
  try {
    return await ctx.progress
      .time('docker build', () => buildOnce(engine, ctx, labelled, kept))
      .catch((err: unknown) => {
        throw baseImageMissing(err, missing, settingOf) ?? err;
      });
  } catch (err) {
    // The engine's cache is shared: removing another app's image (a prune, a
    // destroy, a failed release) can take a cached layer this build was about
    // to use. Building again makes that layer anew.
    if (ctx.signal.aborted || !(err instanceof BuildFailedError) || !LOST_LAYER.test(err.message)) throw err;
    ctx.progress.info('A cached layer was removed while this built (another app was cleaned up); building again');
    return buildOnce(engine, ctx, labelled, kept);
  }
}

/**
 * A build that failed while a base image was not on this host failed to
 * pull it (whatever the engine's words: a DNS error, a refused connection,
 * a denied pull): said in one line, with the setting that names the image
 * where one does.
 */
export function baseImageMissing(err: unknown, missing: readonly string[], settingOf: (image: string) => string | undefined): BuildFailedError | undefined {
  if (!(err instanceof BuildFailedError) || missing.length === 0 || / returned a non-zero code/.test(err.message)) return undefined;
  const [image] = missing;
  const setting = settingOf(image);
  const hint = setting ? `set ${setting} to an image your Docker engine has` : 'build FROM an image your Docker engine has, or load it there first';
  return new BuildFailedError(`the base image ${image} is not on this host and could not be pulled; ${hint}`, err);
}

const LOST_LAYER = /unable to find image "sha256:|No such image: sha256:/;

/**
 * The build context: the checkout less what its .dockerignore excludes (as
 * `docker build` sends it), with the labelled Dockerfile added under a name of
 * its own, as `docker build -f -` adds one. The .dockerignore sent lists that
 * name and itself, so the engine takes both out of the context before the
 * build and a COPY of the whole checkout is cached as before.
 */
function packContext(ctx: BuildContext, dockerfile: string, kept: readonly string[]): { context: NodeJS.ReadableStream; name: string } {
  const require = createRequire(import.meta.url);
  // tar-fs packs with streamx, which pipes like a node stream but is not typed as one.
  const tar = require('tar-fs') as typeof tarFs;
  const name = `.dockerfile.${crypto.randomBytes(10).toString('hex')}`;
  const ignoreFile = path.join(ctx.dir, '.dockerignore');
  const ignores = readSourceFile(ctx.dir, '.dockerignore') ?? '';
  const excluded = (require('@balena/dockerignore') as () => Ignore)().add(ignores);
  // An exception (!pattern) can take back a file under an excluded directory: such directories are walked, not skipped.
  const exceptions = /^\s*!/m.test(ignores);
  const context = tar.pack(ctx.dir, {
    ignore: (file) => {
      if (file === ignoreFile) return true;
      const relative = path.relative(ctx.dir, file);
      if (kept.some((k) => relative === k || relative.startsWith(`${k}/`))) return false;
      return excluded.ignores(relative) && !(exceptions && fs.lstatSync(file).isDirectory());
    },
    finalize: false,
    finish: (pack) => {
      pack.entry({ name }, dockerfile);
      pack.entry({ name: '.dockerignore' }, `${ignores}\n.dockerignore\n${name}\n`);
      pack.finalize();
    },
  }) as unknown as NodeJS.ReadableStream;
  return { context, name };
}

async function buildOnce(engine: Engine, ctx: BuildContext, dockerfile: string, kept: readonly string[]): Promise<BuiltImage> {
  const { context, name } = packContext(ctx, dockerfile, kept);
  return withBuildBounds(
    engine,
    ctx.limits,
    async (bounds) => {
      let stream: NodeJS.ReadableStream;
      try {
        stream = await engine.images.build(context, {
          t: ctx.tag,
          dockerfile: name,
          rm: true,
          forcerm: true,
          ...bounds,
          abortSignal: ctx.signal,
        });
      } catch (err) {
        if (ctx.signal.aborted) throw new BuildFailedError('build cancelled', err);
        throw new ExternalError('the Docker engine refused the build', err);
      }
      return followBuild(engine, ctx, stream);
    },
    (why) => ctx.progress.info(why),
  );
}

async function followBuild(engine: Engine, ctx: BuildContext, stream: NodeJS.ReadableStream): Promise<BuiltImage> {
  const parser = new BuildOutputParser();
  let failure: string | undefined;
  let imageId: string | undefined;
  const handle = (events: ReturnType<BuildOutputParser['push']>): void => {
    for (const e of events) {
      if (e.text) ctx.progress.output(e.text);
      if (e.error) failure ??= e.error;
      if (e.imageId) imageId = e.imageId;
    }
  };
  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      reject(new BuildFailedError('build cancelled'));
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    stream.on('data', (chunk: Buffer) => handle(parser.push(chunk)));
    stream.on('end', () => {
      ctx.signal.removeEventListener('abort', onAbort);
      handle(parser.end());
      resolve();
    });
    stream.on('error', (err: Error) => {
      ctx.signal.removeEventListener('abort', onAbort);
      reject(ctx.signal.aborted ? new BuildFailedError('build cancelled', err) : new ExternalError('the build stream broke', err));
    });
  });
  if (failure) throw new BuildFailedError(`docker build failed: ${failure}`);

  let info;
  try {
    info = await engine.images.inspect(ctx.tag);
  } catch (err) {
    throw new BuildFailedError(`the build ended without producing ${ctx.tag}`, err);
  }
  if (!imageIsApps(info.Config?.Labels, ctx.app, ctx.appId)) {
    await engine.images.remove(ctx.tag).catch(() => undefined);
    const found = Object.entries(info.Config?.Labels ?? {}).filter(([k]) => k === LABEL_APP || k === LABEL_APP_ID);
    const shown = found.map(([k, v]) => `${k}=${v}`).join(', ') || 'none';
    throw new DeniedError(
      `access denied: the built image's Skiff labels are not this app's (${shown}); set no skiff.* label in the Dockerfile, not even through a variable`,
    );
  }
  return { tag: ctx.tag, id: imageId ?? info.Id };
}
