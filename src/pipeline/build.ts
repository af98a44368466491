import { BuildFailedError } from '../errors.js';
import type { Builder, BuildContext, BuiltImage } from '../builder/builder.js';

/** Picks the first builder that recognises the code, says which and why, and builds. */
export async function build(builders: readonly Builder[], ctx: BuildContext): Promise<BuiltImage & { builder: string }> {
  for (const builder of builders) {
    const why = await builder.detect(ctx);
    if (why === undefined) continue;
    ctx.progress.info(`Building with ${why}`);
    const image = await builder.build(ctx);
    return { ...image, builder: builder.name };
  }
  throw new BuildFailedError(
    'cannot tell how to build this: add a Dockerfile, or a package.json (node), requirements.txt or pyproject.toml (python), or index.html (static)',
  );
}
