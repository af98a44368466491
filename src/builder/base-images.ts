import { createRequire } from 'node:module';
import type { DockerfileParser as Parser } from 'dockerfile-ast';
import type { Engine } from '../docker/engine.js';
import { LABEL_APP, LABEL_APP_ID } from '../domain/names.js';
import { DeniedError } from '../errors.js';
import type { BuildAccess } from './builder.js';

/** The parser loads with the first Dockerfile it reads: the server, which mostly waits, does not carry it. */
export const dockerfileParser = (): typeof Parser => (createRequire(import.meta.url)('dockerfile-ast') as { DockerfileParser: typeof Parser }).DockerfileParser;

/**
 * Every image a Dockerfile builds on, as the engine will read it: each
 * FROM and each COPY --from that is not a stage of the same file, with
 * ARG defaults and build args put in ($X, ${X}, ${X:-default}, ${X:+alt}).
 */
export function referencedImages(dockerfile: string, buildArgs: Record<string, string> = {}): string[] {
  const parsed = dockerfileParser().parse(dockerfile);
  const args = new Map<string, string>();
  for (const arg of parsed.getInitialARGs()) {
    const property = arg.getProperty();
    const name = property?.getName();
    if (!name) continue;
    args.set(name, buildArgs[name] ?? expand(property?.getValue() ?? '', args));
  }
  for (const [name, value] of Object.entries(buildArgs)) if (!args.has(name)) args.set(name, value);
  const stages: string[] = [];
  const images: string[] = [];
  const isStage = (ref: string): boolean => stages.includes(ref.toLowerCase()) || /^\d+$/.test(ref);
  for (const from of parsed.getFROMs()) {
    const image = expand(from.getImage() ?? '', args);
    if (image && !isStage(image) && image.toLowerCase() !== 'scratch') images.push(image);
    const stage = from.getBuildStage();
    stages.push((stage ?? `${stages.length}`).toLowerCase());
  }
  for (const copy of parsed.getCOPYs()) {
    const source = copy.getFromFlag()?.getValue();
    if (source && !isStage(expand(source, args))) images.push(expand(source, args));
  }
  return [...new Set(images)];
}

function expand(text: string, args: ReadonlyMap<string, string>): string {
  return text.replace(
    /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (_m: string, braced: string | undefined, op: string | undefined, word: string | undefined, bare: string | undefined) => {
      const value = args.get(braced ?? bare ?? '') ?? '';
      if (op === '-') return value || (word ?? '');
      if (op === '+') return value ? (word ?? '') : '';
      return value;
    },
  );
}

/** The app a release image name belongs to, by name alone: skiff/APP or REGISTRY/APP (for an image the host does not have). */
function appOfName(image: string, registryPrefix: string | undefined): string | undefined {
  const name = image.replace(/^(docker\.io\/)?/, '').replace(/[@:][^/]*$/, '');
  for (const prefix of ['skiff', registryPrefix].filter((p): p is string => Boolean(p))) {
    if (name.startsWith(`${prefix}/`)) return name.slice(prefix.length + 1);
  }
  return undefined;
}

/**
 * Refuses a Dockerfile that would start from, or copy out of, another
 * tenant's image: whatever spelling names it (tag, id, digest), the engine
 * resolves it here the way the build will, and an image with Skiff's app
 * label for an app the pusher may not use is refused, and so is one whose
 * identity label is not that app's (an app of that name that was destroyed;
 * an image from before identities counts by its age). A name the host lacks
 * that points at a release repository (skiff/APP, REGISTRY/APP) is judged by
 * its app name.
 */
export async function assertMayBuildOn(engine: Engine, dockerfile: string, access: BuildAccess, buildArgs: Record<string, string> = {}): Promise<void> {
  for (const image of referencedImages(dockerfile, buildArgs)) {
    const found = await engine.images.find(image);
    const labels = found && (found.Config?.Labels ?? {});
    const app = labels ? labels[LABEL_APP] : appOfName(image, access.registryPrefix);
    // The image's identity decides, not its name: an app of the same name made later is not its owner.
    if (app !== undefined && !access.mayUse({ app, appId: labels?.[LABEL_APP_ID], created: found?.Created })) {
      throw new DeniedError(
        `access denied: the Dockerfile builds on ${image}, an image of an app you may not use; build on a public base image or on your own app's`,
      );
    }
  }
}
