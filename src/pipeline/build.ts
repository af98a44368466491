import { BuildFailedError } from '../errors.js';
import type { Builder, BuildContext, BuiltImage } from '../builder/builder.js';

/** Picks the first builder that recognises the code, says which and why, and builds. */
export async function build(builders: readonly Builder[], ctx: BuildContext): Promise<BuiltImage & { builder: string }> {
  for (const builder of builders) {
    const why = await builder.detect(ctx.dir);
    if (why === undefined) continue;
    ctx.progress.info(`Using the ${builder.name} builder (${why})`);
    const image = await builder.build(ctx);
    return { ...image, builder: builder.name };
  }
  throw new BuildFailedError('no Dockerfile at the root of the pushed commit; add one and push again');
}
