import { BuildFailedError } from '../errors.js';
import type { Builder, BuildContext, BuiltImage, Source } from '../builder/builder.js';

/** The first builder that recognises the code, and why it does: what a push builds with, and what stacks:dockerfile shows. */
export async function chooseBuilder(builders: readonly Builder[], source: Source): Promise<{ builder: Builder; why: string }> {
  for (const builder of builders) {
    const why = await builder.detect(source);
    if (why !== undefined) return { builder, why };
  }
  throw new BuildFailedError(
    'cannot tell how to build this: add a Dockerfile, or a package.json (node), requirements.txt or pyproject.toml (python), or index.html (static)',
  );
}

/** Picks the builder, says which and why, and builds. */
export async function build(builders: readonly Builder[], ctx: BuildContext): Promise<BuiltImage & { builder: string }> {
  const { builder, why } = await chooseBuilder(builders, ctx);
  ctx.progress.info(`Building with ${why}`);
  const image = await builder.build(ctx);
  return { ...image, builder: builder.name };
}
