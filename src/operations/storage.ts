import { parseMountSpec, VOLUME_NAME_PATTERN } from '../domain/storage.js';
import { ConflictError, InvalidError, NotFoundError, UsageError } from '../errors.js';
import { printable } from '../domain/app-name.js';
import { getApp, mayUseApp } from '../access/policy.js';
import { SINGLE_WRITER_ON_SWARM, STORAGE_STAYS } from '../runtime/swarm-runtime.js';
import type { Mount } from '../domain/entities.js';
import { applyToRelease, serverOp, type Op, type Ask } from './operation.js';

/**
 * One of the app's volumes: where it is mounted (null: kept, not mounted),
 * its size on disk (null: unknown), the app it belongs to when shared from
 * another, and the other apps that mount it.
 */
export interface StorageEntry {
  name: string;
  path: string | null;
  bytes: number | null;
  mode: 'mounted' | 'single-writer' | 'unmounted';
  from: string | null;
  sharedWith: string[];
  /** The swarm node the volume lives on, for an app on the swarm runtime (this server's); null on one host. */
  node: string | null;
}

/**
 * storage:mount APP NAME:/path: the volume is made if new, and every
 * instance, one-off and release phase of the app mounts it. OTHER/NAME
 * mounts another app's existing volume: sharing is explicit, by someone who
 * may use both apps, and never of a single-writer volume.
 */
export async function mountStorage(op: Op, appName: string, spec: string, options: { singleWriter?: boolean } = {}): Promise<Mount> {
  const { services } = op;
  const app = getApp(services, op.caller, appName);
  const { name, path, from } = parseMountSpec(spec);
  const singleWriter = options.singleWriter === true;
  if (from !== null) {
    const source = getApp(services, op.caller, from);
    if (source.name === app.name) throw new InvalidError(`${name} is ${app.name}'s own volume: storage:mount ${app.name} ${name}:${path}`);
    if (singleWriter) throw new InvalidError('a shared volume cannot be single-writer: two apps mount it');
    if (services.store.mounts.list(source.name).some((m) => m.name === name && m.singleWriter)) {
      throw new ConflictError(`${source.name} mounts ${name} as single-writer: it has one writer, so it is not shared`);
    }
    if (services.store.mounts.list(source.name).some((m) => m.name === name && m.from !== null))
      throw new InvalidError(`${source.name}'s ${name} is shared from another app: mount it from there`);
    if (!(await services.volumes.names(source)).includes(name))
      throw new NotFoundError(`${source.name} has no storage named ${name}; storage ${source.name} lists it`);
  } else if (singleWriter && services.store.mounts.sharers(app.name, name).length) {
    throw new ConflictError(`${name} is shared with ${services.store.mounts.sharers(app.name, name).join(', ')}: a single-writer volume has one app`);
  }
  const webScale = services.store.formation.list(app.name).find((f) => f.process === 'web')?.quantity ?? 1;
  if (singleWriter && webScale > 1)
    throw new ConflictError(`${app.name} runs ${webScale} web instances; a single-writer volume allows one: ps:scale ${app.name} web=1 first`);
  const runtime = services.runtime.for(app.name);
  if (runtime.name === 'swarm') {
    if (singleWriter) throw new InvalidError(SINGLE_WRITER_ON_SWARM(app.name));
    const self = await runtime.thisNode();
    if (app.node && app.node !== self) throw new InvalidError(STORAGE_STAYS(app.name, self ?? ''));
  }
  const taken = services.store.mounts.list(app.name).find((m) => m.name === name || m.path === path);
  if (taken)
    throw new ConflictError(
      taken.name === name ? `${app.name} mounts ${name} already, at ${taken.path}` : `${app.name} mounts ${taken.name} at ${path} already`,
    );
  if (from === null) await services.volumes.ensure(app, name);
  const shared = from === null ? '' : ` (${from}'s, shared)`;
  op.progress.step(
    `Mounting ${name}${shared} at ${path} in ${app.name}${singleWriter ? ' (single writer: web only, one instance, handed over on each deploy)' : ''}`,
  );
  let mount: Mount | undefined;
  await applyToRelease(
    op,
    app.name,
    'storage change',
    'all',
    () => (mount = services.store.mounts.add(app.name, name, path, { singleWriter, from, sharedBy: from === null ? null : op.caller.user })),
    () => services.store.mounts.remove(app.name, name),
  );
  return mount as Mount;
}

/** storage:unmount APP NAME: no container mounts it from now on; the volume and its data stay. */
export async function unmountStorage(op: Op, appName: string, name: string): Promise<Mount> {
  const { services } = op;
  const shared = sharedFromOwnApp(op, appName, name);
  if (shared) {
    // The source app's side of a share: its users end it without any right to the app that mounts it.
    await endShares(serverOp(services, op.progress, op.signal), [shared], `${op.caller.user} ended it`);
    return shared.mount;
  }
  const app = getApp(services, op.caller, appName);
  const mount = services.store.mounts.list(app.name).find((m) => m.name === name || (m.from !== null && `${m.from}/${m.name}` === name));
  if (!mount) throw new NotFoundError(`${app.name} mounts no storage named '${printable(name)}'; storage ${app.name} lists it`);
  op.progress.step(`Unmounting ${name} from ${app.name} (its data stays)`);
  await applyToRelease(
    op,
    app.name,
    'storage change',
    'all',
    () => services.store.mounts.remove(app.name, mount.name),
    () => services.store.mounts.add(app.name, mount.name, mount.path, mount),
  );
  return mount;
}

/** storage:unmount OTHER APP/NAME by a user of APP who may not use OTHER: the share of APP's volume with OTHER, if there is one. */
function sharedFromOwnApp(op: Op, appName: string, name: string): { app: string; name: string; from: string; mount: Mount } | undefined {
  const { store } = op.services;
  const slash = name.indexOf('/');
  const consumer = store.apps.find(appName);
  if (slash < 0 || !consumer || mayUseApp(store, consumer.name, op.caller)) return undefined;
  const from = name.slice(0, slash);
  if (!mayUseApp(store, from, op.caller)) return undefined;
  const mount = store.mounts.list(consumer.name).find((m) => m.from === from && m.name === name.slice(slash + 1));
  return mount ? { app: consumer.name, name: mount.name, from, mount } : undefined;
}

/** storage APP: mounted volumes and kept ones. */
export async function listStorage({ services, caller }: Ask, appName: string): Promise<StorageEntry[]> {
  const app = getApp(services, caller, appName);
  const mounts = services.store.mounts.list(app.name);
  const volumes = await services.volumes.list(app);
  const bytes = async (m: Mount): Promise<number | null> => {
    const source = m.from === null ? undefined : services.store.apps.find(m.from);
    return (m.from === null ? volumes : source ? await services.volumes.list(source) : []).find((v) => v.name === m.name)?.bytes ?? null;
  };
  const runtime = services.runtime.for(app.name);
  const node = await runtime.thisNode();
  const entries: StorageEntry[] = [];
  for (const m of mounts) {
    const sharedWith = m.from === null ? services.store.mounts.sharers(app.name, m.name) : [];
    const mode = m.singleWriter ? 'single-writer' : 'mounted';
    entries.push({ name: m.name, path: m.path, bytes: await bytes(m), mode, from: m.from, sharedWith, node });
  }
  for (const v of volumes) {
    if (!mounts.some((m) => m.name === v.name && m.from === null)) {
      const sharedWith = services.store.mounts.sharers(app.name, v.name);
      entries.push({ name: v.name, path: null, bytes: v.bytes, mode: 'unmounted', from: null, sharedWith, node });
    }
  }
  return entries.sort((a, b) => a.name.localeCompare(b.name));
}

/** storage:destroy APP NAME --confirm NAME: the volume and its data go; only an unmounted one. */
export async function destroyStorage({ services, caller }: Ask, appName: string, name: string, confirm: string | undefined): Promise<void> {
  const app = getApp(services, caller, appName, { owner: true });
  if (!VOLUME_NAME_PATTERN.test(name)) throw new InvalidError(`invalid storage name '${printable(name)}'`);
  if (services.store.mounts.list(app.name).some((m) => m.name === name && m.from === null))
    throw new ConflictError(`${name} is mounted in ${app.name}; storage:unmount ${app.name} ${name} first`);
  const sharers = services.store.mounts.sharers(app.name, name);
  if (sharers.length)
    throw new ConflictError(`${sharers.join(', ')} mount${sharers.length === 1 ? 's' : ''} ${name}; storage:unmount ${sharers[0]} ${app.name}/${name} first`);
  if (!(await services.volumes.names(app)).includes(name)) throw new NotFoundError(`${app.name} has no storage named ${name}; storage ${app.name} lists it`);
  if (confirm !== name)
    throw new UsageError(`this deletes ${name} of ${app.name} and all its data; to go on, run: storage:destroy ${app.name} ${name} --confirm ${name}`);
  await services.volumes.remove(app, name);
}

/**
 * Ends shares of volumes: each app that mounts one stops mounting it, with
 * a release of that app under its own lock (its instances restart without
 * the volume). Returns the shares it could not end (their app did not come
 * up without it); those keep the volume in use.
 */
export async function endShares(op: Op, shares: readonly { app: string; name: string; from: string }[], why: string): Promise<string[]> {
  const left: string[] = [];
  for (const share of shares) {
    const mount = op.services.store.mounts.list(share.app).find((m) => m.name === share.name && m.from === share.from);
    if (!mount) continue;
    op.progress.step(`Ending the share of ${share.from}/${share.name} with ${share.app} (${why})`);
    try {
      await applyToRelease(
        op,
        share.app,
        'storage change',
        'all',
        () => op.services.store.mounts.remove(share.app, mount.name),
        () => op.services.store.mounts.add(share.app, mount.name, mount.path, mount),
      );
      op.services.store.events.record({
        app: share.app,
        user: op.caller.user,
        source: 'server',
        action: 'storage:unmount',
        detail: { storage: `${share.from}/${share.name}`, why },
        outcome: 'ok',
      });
    } catch (err) {
      op.services.log.warn({ err, app: share.app, from: share.from, storage: share.name }, 'could not end a share');
      left.push(`${share.app} (${share.from}/${share.name})`);
    }
  }
  return left;
}

/** Every share of this app's volumes with other apps. */
export function sharesOf(services: Op['services'], app: string): { app: string; name: string; from: string }[] {
  return services.store.mounts.sharers(app).flatMap((consumer) =>
    services.store.mounts
      .list(consumer)
      .filter((m) => m.from === app)
      .map((m) => ({ app: consumer, name: m.name, from: app })),
  );
}
