import fs from 'node:fs';
import path from 'node:path';
import type { Engine } from '../docker/engine.js';
import { BuildFailedError } from '../errors.js';
import type { BuildContext, Builder, BuiltImage, Source } from './builder.js';
import { buildFromContext } from './dockerfile-builder.js';
import { BUILTIN_STACKS, type BuiltinStack, type StackSettings } from './stacks.js';

/** Where generated files go inside the build context; the stacks' images leave it out of the app. */
export const GENERATED_DIR = '.skiff';

export interface StackBuilderOptions {
  images: StackSettings['images'];
  /** A CA bundle on this host to trust during package installs. */
  caFile?: string;
}

/** Builds code without a Dockerfile with the first built-in stack that recognises it. */
export class BuiltinStackBuilder implements Builder {
  readonly name = 'stack';

  constructor(
    private readonly engine: Engine,
    private readonly options: StackBuilderOptions,
  ) {}

  private find({ dir, stack: appStack }: Source): { stack: BuiltinStack; why: string } | undefined {
    if (appStack?.kind === 'stackfile') return undefined;
    if (appStack?.kind === 'builtin') {
      const stack = BUILTIN_STACKS.find((s) => s.name === appStack.name);
      if (!stack) throw new BuildFailedError(`the app's stack '${appStack.name}' is not a built-in stack; set another with apps:stack-update`);
      if (!stack.detect(dir)) throw new BuildFailedError(`the app's stack is ${stack.name}, and this commit has nothing it builds (${stack.needs})`);
      return { stack, why: "the app's stack" };
    }
    for (const stack of BUILTIN_STACKS) {
      const why = stack.detect(dir);
      if (why) return { stack, why };
    }
    return undefined;
  }

  async detect(source: Source): Promise<string | undefined> {
    const found = this.find(source);
    return found && `the ${found.stack.name} stack (${found.why})`;
  }

  dockerfile(source: Source): string {
    const generated = this.dockerfileFor(source);
    if (!generated) throw new Error('dockerfile called without a stack that fits');
    return generated.text;
  }

  private dockerfileFor(source: Source): { stack: string; text: string } | undefined {
    const found = this.find(source);
    if (!found) return undefined;
    const caFile = this.options.caFile ? `${GENERATED_DIR}/ca.crt` : undefined;
    return { stack: found.stack.name, text: found.stack.dockerfile(source.dir, { images: this.options.images, caFile }) };
  }

  async build(ctx: BuildContext): Promise<BuiltImage> {
    const generated = this.dockerfileFor(ctx);
    if (!generated) throw new Error('build called without a stack that fits');
    const dir = path.join(ctx.dir, GENERATED_DIR);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'Dockerfile'), generated.text);
    if (this.options.caFile) fs.copyFileSync(this.options.caFile, path.join(dir, 'ca.crt'));
    const settings: Record<string, string> = {
      [this.options.images.node]: 'SKIFF_STACK_NODE_IMAGE',
      [this.options.images.python]: 'SKIFF_STACK_PYTHON_IMAGE',
      [this.options.images.static]: 'SKIFF_STACK_STATIC_IMAGE',
    };
    // The generated files go whatever the app's .dockerignore says (a `.*` there would leave out the CA bundle the Dockerfile copies).
    return buildFromContext(this.engine, ctx, `${GENERATED_DIR}/Dockerfile`, (image) => settings[image], [GENERATED_DIR]);
  }
}
