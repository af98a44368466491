import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Engine } from '../docker/engine.js';
import { BuildFailedError } from '../errors.js';
import { withBuildBounds } from '../docker/build-limits.js';
import { appLabels } from '../domain/names.js';
import type { BuildContext, Builder, BuiltImage, Source } from './builder.js';
import type { StackImages } from './stack-image.js';
import { assertMayBuildOn } from './base-images.js';

/** The largest build context a build image may send (a checkout with its dependencies fits). */
const MAX_CONTEXT_BYTES = 2 * 1024 * 1024 * 1024;

/**
 * Builds an app whose stack is defined by a stackfile, by the build image
 * protocol: the stack's build image runs with the checkout mounted at
 * $CODEBASE and the engine's socket, and must build $IMAGE.
 */
export class StackImageBuilder implements Builder {
  readonly name = 'stack-image';

  constructor(
    private readonly engine: Engine,
    private readonly stackImages: StackImages,
  ) {}

  async detect(source: Source): Promise<string | undefined> {
    return source.stack?.kind === 'stackfile' ? `the ${source.stack.definition.name} stack (the app's stack)` : undefined;
  }

  dockerfile(source: Source): string {
    if (source.stack?.kind !== 'stackfile') throw new Error('dockerfile called without a stackfile stack');
    const image = source.stack.definition.service.build.image;
    return `# No Dockerfile: the ${source.stack.definition.name} stack's build image ${image} builds the app.\n# It runs with CODEBASE (the checked-out code) and IMAGE (the tag to build) set, and a Docker API that may build $IMAGE only.\n`;
  }

  async build(ctx: BuildContext): Promise<BuiltImage> {
    if (ctx.stack?.kind !== 'stackfile') throw new Error('build called without a stackfile stack');
    const { definition } = ctx.stack;
    const image = definition.service.build.image;
    ctx.progress.info(`Running the build image ${image}`);
    const status = await withBuildBounds(
      this.engine,
      ctx.limits,
      (forced) =>
        this.stackImages.run(
          {
            app: ctx.app,
            purpose: 'build',
            image: definition.service.build,
            env: { CODEBASE: ctx.dir, IMAGE: ctx.tag, APP: ctx.app },
            limits: ctx.limits,
            mounts: [{ path: ctx.dir, readOnly: false }],
            buildApi: {
              image: ctx.tag,
              checkDockerfile: (text, buildArgs) => assertMayBuildOn(this.engine, text, ctx.access, buildArgs),
              maxContextBytes: MAX_CONTEXT_BYTES,
              forced,
            },
          },
          ctx.progress,
          ctx.signal,
        ),
      (why) => ctx.progress.info(why),
    );
    if (ctx.signal.aborted) throw new BuildFailedError('build cancelled');
    if (status !== 0) throw new BuildFailedError(`the ${definition.name} stack's build image exited with status ${status}`);
    let built;
    try {
      built = await this.engine.images.inspect(ctx.tag);
    } catch (err) {
      throw new BuildFailedError(`the ${definition.name} stack's build image finished without building $IMAGE (${ctx.tag})`, err);
    }
    // Skiff manages only images with its label; add it in a metadata-only layer.
    const labels = built.Config?.Labels ?? {};
    if (Object.entries(appLabels(ctx.app, ctx.appId)).some(([k, v]) => labels[k] !== v)) await this.label(ctx);
    const labelled = await this.engine.images.inspect(ctx.tag);
    return { tag: ctx.tag, id: labelled.Id };
  }

  private async label(ctx: BuildContext): Promise<void> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-label-'));
    let stream: NodeJS.ReadableStream;
    try {
      fs.writeFileSync(path.join(dir, 'Dockerfile'), `FROM ${ctx.tag}\n`);
      stream = await this.engine.images.build({ context: dir, src: ['Dockerfile'] }, { t: ctx.tag, labels: appLabels(ctx.app, ctx.appId), rm: true });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    await this.engine.images
      .followProgress(stream, () => undefined)
      .catch((err: Error) => {
        throw new BuildFailedError(`could not label the built image: ${err.message}`, err);
      });
  }
}
