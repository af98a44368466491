import { isServiceUrl } from '../domain/backing-service.js';
import { linkedConfig } from '../pipeline/app-config.js';
import { ConflictError, InvalidError, NotFoundError } from '../errors.js';
import { appliedGroups, getApp } from '../access/policy.js';
import { releaseOf } from '../pipeline/release.js';
import { rollout, type Released } from '../pipeline/deploy.js';
import type { App, Release } from '../domain/entities.js';
import { withOpLock, type Op, type Services } from './operation.js';
import { dataAfter, letAppsGo, restoreForRollback } from './backups.js';

function parseVersion(input: string): number {
  const m = /^v?([1-9][0-9]{0,8})$/.exec(input);
  if (!m) throw new InvalidError(`'${input}' is not a release; write it as v3 (releases APP lists them)`);
  return Number(m[1]);
}

/** A release of the app by its version as a user writes it (v3 or 3). */
export function getRelease(services: Pick<Services, 'store'>, app: App, input: string): Release {
  const rel = services.store.releases.find(app.name, parseVersion(input));
  if (!rel) throw new NotFoundError(`${app.name} has no release ${input}; releases ${app.name} lists them`);
  return rel;
}

/** Without a version: the newest deployed release before the current one, as Heroku does. */
function rollbackTarget(services: Services, app: App, input: string | undefined): Release {
  if (app.currentRelease === null) throw new ConflictError(`${app.name} has no release yet; push to deploy`);
  if (input !== undefined) {
    const rel = getRelease(services, app, input);
    if (rel.status !== 'deployed') throw new ConflictError(`v${rel.version} never went live (${rel.status}); pick a deployed release`);
    if (rel.version === app.currentRelease) throw new ConflictError(`v${rel.version} is already serving`);
    return rel;
  }
  const earlier = services.store.releases.list(app.name).find((r) => r.status === 'deployed' && r.version < (app.currentRelease ?? 0));
  if (!earlier) throw new ConflictError(`${app.name} has no earlier release to roll back to`);
  return earlier;
}

/**
 * rollback: a new release of an earlier release's image and config, rolled
 * out like any other; no rebuild. The app's config becomes that release's.
 * When a later release's phase ran with a linked database, its data may be
 * ahead of the target's code: withData restores the backup taken before
 * the first such phase (the app's requests held meanwhile), else it is said.
 */
export async function rollback(
  op: Op,
  appName: string,
  version: string | undefined,
  options: { releasePhase?: boolean; withData?: boolean } = {},
): Promise<Released> {
  const { services, caller } = op;
  const name = getApp(services, caller, appName).name;
  return withOpLock(op, name, 'rollback', async () => {
    const app = getApp(services, caller, name);
    const target = rollbackTarget(services, app, version);
    // With a registry, an image that is not on this host is pulled from it.
    if (!services.registry && !(await services.images.exists(target.image))) {
      throw new ConflictError(`the image of v${target.version} was pruned (SKIFF_KEEP_RELEASES keeps the newest ones); push that commit again instead`);
    }
    op.progress.step(`Rolling back ${app.name} to v${target.version}`);
    const after = dataAfter(services, app.name, target.version);
    let held: string[] = [];
    if (options.withData && after) held = await restoreForRollback(op, app.name, after);
    else if (options.withData) op.progress.info(`No release after v${target.version} ran a release phase with a linked database: the data stays as it is`);
    else if (after)
      op.progress.warn(
        `v${after.version}'s release phase ran on the linked database: its data may be ahead of v${target.version}'s code (rollback ${app.name} v${target.version} --with-data takes it back to before v${after.version})`,
      );
    try {
      return await rollbackTo(op, app, target, options.releasePhase);
    } finally {
      await letAppsGo(services, held);
    }
  });
}

/** The rollback's release of target, and the app's config made that release's. */
async function rollbackTo(op: Op, app: App, target: Release, releasePhase: boolean | undefined): Promise<Released> {
  const { services, caller } = op;
  // Links are live, as add-ons are on Heroku: the release runs with the services linked now, not with those of its day.
  const linked = linkedConfig(services.store, app.name);
  const config = { ...Object.fromEntries(Object.entries(target.config).filter(([, v]) => !isServiceUrl(v))), ...linked };
  const result = await rollout(
    services,
    { ...releaseOf(target), config, pusher: caller.user, description: `Rollback to v${target.version}` },
    op.progress,
    op.signal,
    { releasePhase },
  );
  // The config of the release that serves is the app's config again: as its own values, but for
  // those its groups give as they are now (a later change of the group still reaches it).
  const own = services.store.config.get(app.name);
  const grouped: Record<string, string> = {};
  for (const group of appliedGroups(services.store, app.name)) Object.assign(grouped, services.store.configGroups.vars(group));
  const wanted = Object.fromEntries(Object.entries(config).filter(([k, v]) => grouped[k] !== v && !(k in linked)));
  services.store.config.update(
    app.name,
    wanted,
    Object.keys(own).filter((k) => !(k in wanted)),
  );
  return result;
}
