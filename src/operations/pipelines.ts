import { parseAppName, parseNameLikeApp } from '../domain/app-name.js';
import { nextStage, parseStage, type Stage } from '../domain/pipeline.js';
import { ConflictError, DeniedError, InvalidError, NotFoundError, userMessage } from '../errors.js';
import { getApp, mayUseApp, pipelineOf } from '../access/policy.js';
import { releaseOf } from '../pipeline/release.js';
import { rollout } from '../pipeline/deploy.js';
import { configOf } from '../pipeline/app-config.js';
import type { Pipeline } from '../domain/entities.js';
import { syncAllRefs } from './apps.js';
import { withOpLock, type Op, type Ask } from './operation.js';

/** A pipeline's name follows the rules of an app's. */
function parsePipelineName(input: string | undefined): string {
  return parseNameLikeApp(input, 'pipeline');
}

/** Who may change a pipeline: its owner and admins. */
function ownPipeline({ services, caller }: Ask, input: string | undefined): Pipeline {
  const name = parsePipelineName(input);
  const pipeline = services.store.pipelines.find(name);
  const mayRead = pipeline && (caller.admin || pipeline.owner === caller.user);
  if (!pipeline || !mayRead) {
    if (pipeline && maySee({ services, caller }, pipeline))
      throw new DeniedError(`access denied: only the owner of pipeline ${name} (${pipeline.owner}) or an admin may do that`);
    throw new NotFoundError(`no pipeline ${name}; create it with pipelines:create ${name}`);
  }
  return pipeline;
}

/** A pipeline shows to its owner, admins, and users of any of its apps; to anyone else it does not exist. */
function maySee({ services, caller }: Ask, pipeline: Pipeline): boolean {
  return caller.admin || pipeline.owner === caller.user || pipeline.apps.some((a) => mayUseApp(services.store, a.app, caller));
}

export function createPipeline(ask: Ask, input: string): Pipeline {
  return ask.services.store.pipelines.create(parsePipelineName(input), ask.caller.user);
}

/** pipelines:add NAME APP --stage STAGE: the pipeline's owner (or an admin), who may use the app. */
export function addToPipeline(ask: Ask, name: string, appName: string, stage: string | undefined): { pipeline: Pipeline; stage: Stage } {
  const pipeline = ownPipeline(ask, name);
  const app = getApp(ask.services, ask.caller, appName);
  const at = parseStage(stage);
  ask.services.store.pipelines.addApp(pipeline.name, app.name, at);
  syncAllRefs(ask.services, app.name);
  return { pipeline: ask.services.store.pipelines.find(pipeline.name) as Pipeline, stage: at };
}

/** pipelines:remove NAME APP: the pipeline's owner, or the app's owner, or an admin. */
export function removeFromPipeline(ask: Ask, name: string, appName: string): void {
  const { services, caller } = ask;
  const pipeline = services.store.pipelines.find(parsePipelineName(name));
  const app = parseAppName(appName);
  const member = pipeline?.apps.some((a) => a.app === app);
  const ownsApp = services.store.apps.find(app)?.createdBy === caller.user;
  if (!pipeline || !member || !(caller.admin || pipeline.owner === caller.user || ownsApp)) {
    if (pipeline && maySee(ask, pipeline) && member)
      throw new DeniedError(`access denied: only the owner of pipeline ${pipeline.name} or of ${app}, or an admin, may do that`);
    throw new NotFoundError(`${app} is not in a pipeline ${parsePipelineName(name)}`);
  }
  services.store.pipelines.removeApp(app);
  syncAllRefs(services, app);
}

export function destroyPipeline(ask: Ask, name: string): void {
  const pipeline = ownPipeline(ask, name);
  ask.services.store.pipelines.remove(pipeline.name);
  for (const { app } of pipeline.apps) syncAllRefs(ask.services, app);
}

export function listPipelines(ask: Ask): Pipeline[] {
  return ask.services.store.pipelines.list().filter((p) => maySee(ask, p));
}

/** One app of a pipeline as pipelines NAME shows it; what the caller may not use shows as its name and stage only. */
export interface PipelineAppInfo {
  app: string;
  stage: Stage;
  release: number | null;
  image: string | null;
  commit: string | null;
}

export async function showPipeline(ask: Ask, input: string): Promise<{ pipeline: Pipeline; apps: PipelineAppInfo[] }> {
  const { services, caller } = ask;
  const name = parsePipelineName(input);
  const pipeline = services.store.pipelines.find(name);
  if (!pipeline || !maySee(ask, pipeline)) throw new NotFoundError(`no pipeline ${name}; create it with pipelines:create ${name}`);
  const apps = await Promise.all(
    pipeline.apps.map(async ({ app, stage }) => {
      const rel = mayUseApp(services.store, app, caller) ? services.store.releases.current(app) : undefined;
      return { app, stage, release: rel?.version ?? null, image: rel ? ((await services.images.id(rel.image)) ?? null) : null, commit: rel?.commit ?? null };
    }),
  );
  return { pipeline, apps };
}

export interface PromotionResult {
  app: string;
  release?: number;
  error?: string;
}

/**
 * pipelines:promote APP [--to APP2]: the source's current release (its image,
 * the same digest, never rebuilt; its code's processes, checks and jobs) is
 * released on each target — the apps at the next stage, or the one named —
 * with the target's own config, release phase, checks and usual rollout,
 * one after the other. A target that fails keeps its release and is named;
 * the others go on. The caller must own each target (or be an admin).
 */
export async function promote(op: Op, appName: string, to: string | undefined): Promise<PromotionResult[]> {
  const { services, caller } = op;
  const source = getApp(services, caller, appName);
  const membership = pipelineOf(services.store, source.name);
  if (!membership) throw new InvalidError(`${source.name} is in no pipeline; add it with pipelines:add PIPELINE ${source.name} --stage staging`);
  const pipeline = services.store.pipelines.find(membership.pipeline) as Pipeline;
  if (source.currentRelease === null) throw new ConflictError(`${source.name} has no release to promote; push to it first`);
  const rel = services.store.releases.current(source.name);
  if (!rel) throw new ConflictError(`${source.name} has no release v${source.currentRelease}`);
  let targets: string[];
  if (to !== undefined) {
    const target = parseAppName(to);
    if (!pipeline.apps.some((a) => a.app === target))
      throw new InvalidError(`${target} is not in pipeline ${pipeline.name}; add it with pipelines:add ${pipeline.name} ${target} --stage production`);
    if (target === source.name) throw new InvalidError(`${target} is the app promoted from; name another with --to`);
    targets = [target];
  } else {
    const stage = nextStage(membership.stage);
    if (!stage) throw new InvalidError(`${source.name} is at the last stage (production) of pipeline ${pipeline.name}; promote to an app with --to`);
    targets = pipeline.apps.filter((a) => a.stage === stage).map((a) => a.app);
    if (targets.length === 0)
      throw new InvalidError(`pipeline ${pipeline.name} has no ${stage} app; add one with pipelines:add ${pipeline.name} APP --stage ${stage}`);
  }
  // Every target is checked before any is touched.
  for (const t of targets) getApp(services, caller, t, { owner: true });
  const digest = (await services.images.id(rel.image)) ?? 'unknown';
  if (!services.registry && digest === 'unknown')
    throw new ConflictError(`the image of ${source.name} v${rel.version} is not on this host; push ${source.name} again`);
  const description = `Promote ${source.name} v${rel.version} (${digest.replace(/^(sha256:[0-9a-f]{12}).*$/, '$1')}, commit ${rel.commit.slice(0, 7)})`;
  const results: PromotionResult[] = [];
  for (const target of targets) {
    op.progress.step(`Promoting ${source.name} v${rel.version} to ${target}`);
    try {
      const { release } = await withOpLock(op, target, 'promote', () =>
        rollout(
          services,
          { ...releaseOf(rel), app: target, buildId: null, pusher: caller.user, description, config: configOf(services.store, target) },
          op.progress,
          op.signal,
        ),
      );
      results.push({ app: target, release: release.version });
    } catch (err) {
      op.progress.warn(`${target} keeps its release: ${userMessage(err)}`);
      results.push({ app: target, error: userMessage(err) });
    }
  }
  return results;
}
