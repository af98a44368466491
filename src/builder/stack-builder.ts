import fs from 'node:fs';
import path from 'node:path';
import type { Docker } from '../docker/client.js';
import type { BuildContext, Builder, BuiltImage } from './builder.js';
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
    private readonly docker: Docker,
    private readonly options: StackBuilderOptions,
  ) {}

  private find(dir: string): { stack: BuiltinStack; why: string } | undefined {
    for (const stack of BUILTIN_STACKS) {
      const why = stack.detect(dir);
      if (why) return { stack, why };
    }
    return undefined;
  }

  async detect(dir: string): Promise<string | undefined> {
    const found = this.find(dir);
    return found && `the ${found.stack.name} stack (${found.why})`;
  }

  dockerfile(dir: string): string {
    const generated = this.dockerfileFor(dir);
    if (!generated) throw new Error('dockerfile called without a stack that fits');
    return generated.text;
  }

  private dockerfileFor(dir: string): { stack: string; text: string } | undefined {
    const found = this.find(dir);
    if (!found) return undefined;
    const caFile = this.options.caFile ? `${GENERATED_DIR}/ca.crt` : undefined;
    return { stack: found.stack.name, text: found.stack.dockerfile(dir, { images: this.options.images, caFile }) };
  }

  async build(ctx: BuildContext): Promise<BuiltImage> {
    const generated = this.dockerfileFor(ctx.dir);
    if (!generated) throw new Error('build called without a stack that fits');
    const dir = path.join(ctx.dir, GENERATED_DIR);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'Dockerfile'), generated.text);
    if (this.options.caFile) fs.copyFileSync(this.options.caFile, path.join(dir, 'ca.crt'));
    return buildFromContext(this.docker, ctx, `${GENERATED_DIR}/Dockerfile`);
  }
}
