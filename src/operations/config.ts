import { assertConfigSize, describeConfigChange } from '../domain/config-vars.js';
import { InvalidError, NotFoundError } from '../errors.js';
import { configOf, configOrigins } from '../pipeline/app-config.js';
import { getApp } from '../access/policy.js';
import { releaseOf } from '../pipeline/release.js';
import { rollout } from '../pipeline/deploy.js';
import { withOpLock, type Op } from './operation.js';

/** When a config change takes effect. */
export type ConfigOutcome = 'first-deploy' | 'next-release' | 'released';

/**
 * After a change of the record that changes the app's config (its own
 * values, a group's, its groups), under the app's lock: unless told not to,
 * makes a release of the serving image with the config as it now is and
 * rolls it out. If the release does not come up, undo puts the record back.
 */
export async function releaseConfig(op: Op, app: string, description: string, options: ConfigOptions, undo: () => void): Promise<ConfigOutcome> {
  const { services, caller } = op;
  const running = services.store.releases.current(app);
  if (!running) {
    op.progress.step(`${description} (takes effect with the first deploy)`);
    return 'first-deploy';
  }
  if (!options.restart) {
    op.progress.step(`${description} (takes effect with the next release)`);
    return 'next-release';
  }
  op.progress.step(`${description} and restarting ${app}`);
  try {
    await rollout(services, { ...releaseOf(running), pusher: caller.user, description, config: configOf(services.store, app) }, op.progress, op.signal, {
      releasePhase: options.releasePhase,
    });
  } catch (err) {
    // The running release still has the old config: so must the record.
    undo();
    throw err;
  }
  return 'released';
}

/**
 * Records the change of the app's own values, then releases it (see
 * releaseConfig), under the app's lock; a release that does not come up
 * undoes the change.
 */
async function changeConfig(op: Op, appName: string, set: Record<string, string>, unset: string[], options: ConfigOptions): Promise<ConfigOutcome> {
  const { services, caller } = op;
  const app = getApp(services, caller, appName).name;
  const verb = unset.length ? 'Unset' : 'Set';
  const keys = unset.length ? unset : Object.keys(set);
  return withOpLock(op, app, 'config change', async () => {
    const origins = configOrigins(services.store, app);
    const linked = keys.filter((k) => origins[k]?.startsWith('service '));
    if (linked.length)
      throw new InvalidError(`${linked[0]} comes from ${origins[linked[0]]}, linked to ${app}: services:unlink ${origins[linked[0]].slice(8)} ${app} first`);
    const before = services.store.config.get(app);
    const after = { ...configOf(services.store, app), ...set };
    for (const key of unset) delete after[key];
    assertConfigSize(after);
    services.store.config.update(app, set, unset);
    services.log.info({ app, keys, user: caller.user }, `config ${verb.toLowerCase()}`);
    const restore = Object.fromEntries(Object.entries(before).filter(([k]) => keys.includes(k)));
    return releaseConfig(op, app, describeConfigChange(verb, keys), options, () =>
      services.store.config.update(
        app,
        restore,
        keys.filter((k) => !(k in before)),
      ),
    );
  });
}

/** restart: make a release now (else the next release takes the change); releasePhase: false skips the release command. */
export interface ConfigOptions {
  restart: boolean;
  releasePhase?: boolean;
}

/** config:set */
export async function setConfig(op: Op, app: string, vars: Record<string, string>, options: ConfigOptions): Promise<ConfigOutcome> {
  return changeConfig(op, app, vars, [], options);
}

/** config:unset: every key must be set. */
export async function unsetConfig(op: Op, appName: string, keys: readonly string[], options: ConfigOptions): Promise<ConfigOutcome> {
  const app = getApp(op.services, op.caller, appName);
  const vars = op.services.store.config.get(app.name);
  const unique = [...new Set(keys)];
  const missing = unique.filter((k) => !(k in vars));
  const origins = configOrigins(op.services.store, app.name);
  const grouped = missing.filter((k) => origins[k]?.startsWith('group '));
  if (grouped.length)
    throw new InvalidError(
      `${grouped.join(', ')} comes from ${origins[grouped[0]]}, not from ${app.name}: config:unset --group ${origins[grouped[0]].slice(6)} ${grouped[0]}, or config:groups:remove`,
    );
  if (missing.length) throw new NotFoundError(`${app.name} has no config var ${missing.join(', ')}`);
  return changeConfig(op, app.name, {}, unique, options);
}

/** The keys whose stored value the serving release does not have yet (set or unset with --no-restart). */
export function pendingKeys(services: Op['services'], app: string): { changed: string[]; removed: string[] } {
  const serving = services.store.releases.current(app);
  if (!serving) return { changed: [], removed: [] };
  const stored = configOf(services.store, app);
  return {
    changed: Object.keys(stored)
      .filter((k) => serving.config[k] !== stored[k])
      .sort(),
    removed: Object.keys(serving.config)
      .filter((k) => !(k in stored))
      .sort(),
  };
}
