import { PassThrough, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { getService } from '../access/policy.js';
import { MAX_KEEP, type Backup, type BackingService } from '../domain/backing-service.js';
import { ConflictError, DeployFailedError, ExternalError, NotFoundError, InvalidError } from '../errors.js';
import type { Release } from '../domain/entities.js';
import { Progress } from '../output/progress.js';
import { checkSchedule, nextRun, periodMs } from '../domain/cron.js';
import { printable } from '../domain/app-name.js';
import { notifyWebhooks } from '../pipeline/notify.js';
import { holdRequests, letRequestsGo } from '../pipeline/hold.js';
import type { Ask, Op, Services } from './operation.js';

/** How long a scratch copy has to answer before its check counts as failed. */
const CHECK_READY_MS = 120_000;

/** Backups a service keeps: past this, the oldest go (never the newest good one). */
export const KEEP_BACKUPS = 30;

/** What a dump held, as a person reads it: tables and rows, or keys and databases. */
export function countsSummary(counts: Record<string, number>, kind: BackingService['kind']): string {
  const names = Object.keys(counts);
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  return kind === 'postgres'
    ? `${names.length} table${names.length === 1 ? '' : 's'}, ${total} row${total === 1 ? '' : 's'}`
    : `${total} key${total === 1 ? '' : 's'} in ${names.length} database${names.length === 1 ? '' : 's'}`;
}

/** services:backup NAME: a backup now, good only once it restored and checked. */
export async function backupService(op: Op, name: string | undefined): Promise<Backup> {
  const service = getService(op.services, op.caller, name);
  return takeBackup(op.services, service, { trigger: 'manual', user: op.caller.user }, op.progress);
}

/**
 * Takes a backup: the service is dumped in one consistent state (with what
 * it held counted in that state), the dump is sealed into its file as it
 * comes, then the file is read back, restored into a scratch copy and
 * compared. Only then is it good; any failure marks it bad, goes to the
 * trail and the linked apps' webhooks, and is thrown.
 */
export async function takeBackup(services: Services, service: BackingService, by: { trigger: string; user: string }, progress: Progress): Promise<Backup> {
  const backup = services.store.backups.start({ serviceId: service.id, service: service.name, trigger: by.trigger });
  progress.step(`Backing up ${service.name} (backup ${backup.id})`);
  // The scratch copy that checks it starts while the dump is taken.
  const checker = services.serviceContainers.prepareCheck(service, CHECK_READY_MS);
  let counts: Record<string, number>;
  let bytes: number;
  try {
    const pipe = new PassThrough();
    const written = services.backupFiles.write(service.id, backup.id, pipe);
    try {
      counts = await services.serviceContainers.dump(service, services.store.backingServices.password(service.id), pipe);
      pipe.end();
    } catch (err) {
      pipe.destroy(err as Error);
      await written.catch(() => undefined);
      throw err;
    }
    bytes = await written;
  } catch (err) {
    await checker.discard();
    throw failed(services, service, backup, null, null, err, by.user);
  }
  progress.info(`Dumped ${countsSummary(counts, service.kind)}; restoring it into a scratch copy to check it`);
  return checkBackup(services, service, { ...backup, counts, bytes }, by.user, progress, checker);
}

/**
 * Restores a backup's file into a scratch copy and compares it with the
 * counts its dump recorded: marks it good, or bad (and says so everywhere).
 */
export async function checkBackup(
  services: Services,
  service: BackingService,
  backup: Backup & { counts: Record<string, number>; bytes: number },
  user: string,
  progress: Progress,
  checker = services.serviceContainers.prepareCheck(service, CHECK_READY_MS),
): Promise<Backup> {
  try {
    await checker.check(services.backupFiles.read(service.id, backup.id), backup.counts);
  } catch (err) {
    // A file that does not open fails before the check takes the scratch copy.
    await checker.discard();
    throw failed(services, service, backup, backup.counts, backup.bytes, err, user);
  }
  services.store.backups.finish(backup.id, { status: 'good', bytes: backup.bytes, counts: backup.counts, error: null });
  progress.step(`Backup ${backup.id} of ${service.name} is good: restored into a scratch copy, ${countsSummary(backup.counts, service.kind)} as dumped`);
  pruneBackups(services, service);
  return services.store.backups.find(service.id, backup.id) as Backup;
}

/** Marks the backup bad, records it in the trail, tells the linked apps' webhooks; returns the error to throw. */
function failed(
  services: Services,
  service: BackingService,
  backup: Backup,
  counts: Record<string, number> | null,
  bytes: number | null,
  err: unknown,
  user: string,
): Error {
  const why = (err as Error).message;
  services.log.warn({ err, service: service.name, backup: backup.id }, 'backup failed its check');
  services.store.backups.finish(backup.id, { status: 'bad', bytes, counts, error: why });
  const detail = { service: service.name, backup: backup.id, trigger: backup.trigger, error: why };
  services.store.events.record({ app: null, user, source: 'server', action: 'backup.failed', detail, outcome: `failed: ${why}` });
  for (const link of services.store.backingServices.links({ serviceId: service.id }))
    void notifyWebhooks(services, link.app, { event: 'backup.failed', app: link.app, ...detail, time: new Date().toISOString() });
  return new ExternalError(`backup ${backup.id} of ${service.name} is bad: ${why}`, err);
}

/**
 * Backups that go, files and records: scheduled ones past the schedule's
 * --keep, and any past KEEP_BACKUPS; the newest good one stays whatever its
 * age.
 */
function pruneBackups(services: Services, service: BackingService): void {
  const all = services.store.backups.list(service.id).filter((b) => b.status !== 'running');
  const newestGood = all.find((b) => b.status === 'good');
  const keep = service.schedule?.keep;
  const scheduled = all.filter((b) => b.trigger === SCHEDULED);
  const going = new Set([...all.slice(KEEP_BACKUPS), ...(keep === undefined ? [] : scheduled.slice(keep))]);
  for (const b of going) {
    if (b.id === newestGood?.id) continue;
    services.backupFiles.remove(service.id, b.id);
    services.store.backups.remove(service.id, b.id);
  }
}

/** The trigger of a scheduled backup. */
const SCHEDULED = 'schedule';

/**
 * services:backups:schedule NAME CRON|off [--keep N]: a backup at each time
 * the schedule names (UTC), taken by the server, the newest N of them kept.
 */
export function scheduleBackups({ services, caller }: Ask, name: string | undefined, cron: string | undefined, keep: string | undefined): BackingService {
  const service = getService(services, caller, name);
  if (cron === undefined) throw new InvalidError(`say when: services:backups:schedule ${service.name} "0 3 * * *" [--keep N], or off`);
  if (cron === 'off') {
    if (keep !== undefined) throw new InvalidError('--keep goes with a schedule, not with off');
    services.store.backingServices.setSchedule(service.id, null);
  } else {
    try {
      checkSchedule(cron, services.config.cron);
    } catch (err) {
      throw new InvalidError(`invalid schedule '${printable(cron)}': ${(err as Error).message}`);
    }
    const n = keep === undefined ? 7 : Number(keep);
    if (!Number.isInteger(n) || n < 1 || n > MAX_KEEP) throw new InvalidError(`--keep takes a whole number from 1 to ${MAX_KEEP}`);
    services.store.backingServices.setSchedule(service.id, { cron, keep: n, since: new Date().toISOString() });
  }
  return services.store.backingServices.find(service.name) as BackingService;
}

/**
 * The server's round: each service whose schedule named a time since its
 * last scheduled backup (or since the schedule was set) gets one now, one
 * service after another; a server that was down catches up once.
 */
export async function takeDueBackups(services: Services, now = new Date()): Promise<void> {
  for (const service of services.store.backingServices.list()) {
    if (!service.schedule) continue;
    const scheduled = services.store.backups.list(service.id).filter((b) => b.trigger === SCHEDULED);
    if (scheduled.some((b) => b.status === 'running')) continue;
    const since = scheduled[0]?.startedAt ?? service.schedule.since;
    const next = nextRun(service.schedule.cron, new Date(since), services.config.cron);
    if (next === null || next > now) continue;
    await takeBackup(services, service, { trigger: SCHEDULED, user: 'skiff' }, new Progress([])).catch((err: unknown) =>
      services.log.warn({ err, service: service.name }, 'scheduled backup failed'),
    );
  }
}

/** services:backups NAME: newest first, with the service's kind (what their counts count). */
export function listBackups({ services, caller }: Ask, name: string | undefined): { kind: BackingService['kind']; backups: Backup[] } {
  const service = getService(services, caller, name);
  return { kind: service.kind, backups: services.store.backups.list(service.id) };
}

function getBackup(services: Services, service: BackingService, id: string | undefined): Backup {
  if (id === undefined || !/^\d{1,12}$/.test(id)) throw new InvalidError(`'${id ?? ''}' is not a backup number; services:backups ${service.name} lists them`);
  const backup = services.store.backups.find(service.id, Number(id));
  if (!backup || !services.backupFiles.exists(service.id, backup.id))
    throw new NotFoundError(`${service.name} has no backup ${id}; services:backups ${service.name} lists them`);
  return backup;
}

/** services:backups:check NAME ID: restores a kept backup into a scratch copy again (its file may have changed on disk). */
export async function recheckBackup(op: Op, name: string | undefined, id: string | undefined): Promise<Backup> {
  const service = getService(op.services, op.caller, name);
  const backup = getBackup(op.services, service, id);
  if (backup.counts === null || backup.bytes === null)
    throw new InvalidError(`backup ${backup.id} was never whole (${backup.error ?? backup.status}); take another`);
  op.progress.step(`Checking backup ${backup.id} of ${service.name}`);
  return checkBackup(op.services, service, { ...backup, counts: backup.counts, bytes: backup.bytes }, op.caller.user, op.progress);
}

/** services:backups:download NAME ID: the backup's plain bytes (pg_dump's custom format, or redis's RDB) to out; fails at the end when the file was changed. */
export async function downloadBackup({ services, caller }: Ask, name: string | undefined, id: string | undefined, out: Writable): Promise<void> {
  const service = getService(services, caller, name);
  const backup = getBackup(services, service, id);
  if (backup.status !== 'good') throw new InvalidError(`backup ${backup.id} of ${service.name} is ${backup.status}, not good: download a good one`);
  const file = services.backupFiles.read(service.id, backup.id);
  try {
    await pipeline(file.stream, out, { end: false });
  } catch (err) {
    throw new ExternalError(`backup ${backup.id}'s file does not open whole (changed on disk?): services:backups:check ${service.name} ${backup.id}`, err);
  }
}

/** For doctor: services whose last backup is bad, or whose newest good one is older than two periods of their schedule. */
export function backupProblems(services: Pick<Services, 'store' | 'config'>, now = new Date()): string[] {
  const found: string[] = [];
  for (const service of services.store.backingServices.list()) {
    const schedule = service.schedule;
    const period = schedule && periodMs(schedule.cron, now, services.config.cron);
    if (schedule && period) {
      const good = services.store.backups.list(service.id).find((b) => b.status === 'good')?.finishedAt;
      // Counted from the later of the newest good backup and the schedule's start: a new schedule has two periods to make one.
      const since = good !== undefined && good !== null && good > schedule.since ? good : schedule.since;
      if (now.getTime() - Date.parse(since) > 2 * period)
        found.push(
          `${service.name} has had no good backup since ${since}, more than two periods of its schedule (${schedule.cron}); see services:backups ${service.name}`,
        );
    }
    // The last to finish: a kept one checked again and found bad counts as much as a new one.
    const last = services.store.backups
      .list(service.id)
      .filter((b) => b.finishedAt !== null)
      .sort((a, b) => (b.finishedAt as string).localeCompare(a.finishedAt as string))[0];
    if (last?.status === 'bad') found.push(`${service.name}'s last backup (${last.id}) is bad: ${last.error ?? '?'}; see services:backups ${service.name}`);
  }
  return found;
}

/** Holds a restore may keep an app's requests waiting: past it they go on (to the database as it is by then). */
const RESTORE_HOLD_MS = 5 * 60_000;

/**
 * services:restore NAME ID [--no-pause]: a fresh backup first (the state
 * it replaces, to come back to), then the backup is put back; meanwhile the
 * linked apps' requests wait at the router (they do not fail), unless
 * --no-pause leaves them serving. A restore that fails leaves the data as
 * it was (postgres: one transaction).
 */
export async function restoreService(
  op: Op,
  name: string | undefined,
  id: string | undefined,
  options: { pause: boolean },
): Promise<{ restored: Backup; before: Backup }> {
  const { services } = op;
  const service = getService(services, op.caller, name);
  const backup = getBackup(services, service, id);
  if (backup.status !== 'good' || backup.counts === null)
    throw new InvalidError(`backup ${backup.id} of ${service.name} is ${backup.status}, not good: restore a good one (services:backups ${service.name})`);
  const before = await takeBackup(services, service, { trigger: `before restore of ${backup.id}`, user: op.caller.user }, op.progress);
  const apps = services.store.backingServices.links({ serviceId: service.id }).map((l) => l.app);
  const held = options.pause ? await holdApps(services, apps, op.progress) : [];
  try {
    op.progress.step(`Restoring backup ${backup.id} into ${service.name}${held.length ? ` (${held.join(', ')} paused)` : ''}`);
    await putBack(services, service, { ...backup, counts: backup.counts });
  } finally {
    await letAppsGo(services, held);
  }
  op.progress.step(
    `${service.name} holds backup ${backup.id} again (${countsSummary(backup.counts, service.kind)}); backup ${before.id} has what it held before`,
  );
  return { restored: backup, before };
}

/** Holds the requests of these apps (those with a release, not paused already); returns those it held. */
async function holdApps(services: Services, apps: readonly string[], progress: Progress): Promise<string[]> {
  const held: string[] = [];
  try {
    for (const app of apps) {
      if (!services.store.releases.current(app) || services.store.apps.find(app)?.stopped) continue;
      if (await holdRequests(services, app, 'restore', new Date(Date.now() + RESTORE_HOLD_MS))) {
        held.push(app);
        progress.info(`Holding ${app}'s requests`);
      }
    }
  } catch (err) {
    for (const app of held) await letRequestsGo(services, app).catch(() => undefined);
    throw err;
  }
  return held;
}

/**
 * Before a release phase runs (migrations): a proven backup of each
 * postgres linked to the app, recorded with the release, so that
 * rollback --with-data can take the data back to before it. A backup that
 * is not good refuses the release.
 */
export async function backupBeforeRelease(services: Services, rel: Release, progress: Progress): Promise<void> {
  for (const link of services.store.backingServices.links({ app: rel.app })) {
    const service = services.store.backingServices.find(link.service);
    if (service?.id !== link.serviceId || service.kind !== 'postgres') continue;
    try {
      const backup = await takeBackup(services, service, { trigger: `before the release phase of ${rel.app} v${rel.version}`, user: rel.pusher }, progress);
      services.store.backups.recordForRelease(rel.app, rel.version, service.id, backup.id);
    } catch (err) {
      throw new DeployFailedError(
        `no proven backup of ${service.name} before the release phase (${(err as Error).message}); v${rel.version} is not released`,
        err,
      );
    }
  }
}

/** What a rollback to `version` would take the data back to: the backups taken before the first release phase after it, if any ran. */
export function dataAfter(
  services: Pick<Services, 'store'>,
  app: string,
  version: number,
): { version: number; backups: { serviceId: string; backupId: number }[] } | undefined {
  const later = services.store.releases
    .list(app)
    .filter((r) => r.version > version)
    .sort((a, b) => a.version - b.version);
  for (const r of later) {
    const backups = services.store.backups.forRelease(app, r.version);
    if (backups.length) return { version: r.version, backups };
  }
  return undefined;
}

/**
 * rollback --with-data: the linked apps' requests held (this app's and
 * those of every other app linked to the same services), each database
 * restored (after a fresh backup) to the backup taken before the release
 * phase of `after`. Returns the apps it holds: the caller lets them go
 * once the rollback's release is out.
 */
export async function restoreForRollback(
  op: Op,
  app: string,
  after: { version: number; backups: { serviceId: string; backupId: number }[] },
): Promise<string[]> {
  const { services } = op;
  const targets = after.backups.map(({ serviceId, backupId }) => {
    const service = services.store.backingServices.list().find((s) => s.id === serviceId);
    const backup = service && services.store.backups.find(serviceId, backupId);
    if (!service || !backup || backup.status !== 'good' || backup.counts === null || !services.backupFiles.exists(serviceId, backupId))
      throw new ConflictError(
        `the backup taken before v${after.version}'s release phase is gone (its service destroyed, or pruned); rollback without --with-data`,
      );
    return { service, backup: { ...backup, counts: backup.counts } };
  });
  const apps = [...new Set([app, ...targets.flatMap((t) => services.store.backingServices.links({ serviceId: t.service.id }).map((l) => l.app))])];
  const held = await holdApps(services, apps, op.progress);
  try {
    for (const { service, backup } of targets) {
      await takeBackup(services, service, { trigger: `before rollback of ${app}`, user: op.caller.user }, op.progress);
      op.progress.step(`Restoring ${service.name} to backup ${backup.id}, taken before v${after.version}'s release phase`);
      await putBack(services, service, backup);
    }
  } catch (err) {
    await letAppsGo(services, held);
    throw err;
  }
  return held;
}

/** Lets the held requests of these apps go. */
export async function letAppsGo(services: Services, apps: readonly string[]): Promise<void> {
  for (const app of apps) await letRequestsGo(services, app).catch((err: unknown) => services.log.error({ err, app }, 'could not let held requests go'));
}

/** Puts a good backup's data back into its service (its tables, the others dropped: postgres). */
function putBack(services: Services, service: BackingService, backup: Backup & { counts: Record<string, number> }): Promise<void> {
  return services.serviceContainers.restore(
    service,
    services.store.backingServices.password(service.id),
    services.backupFiles.read(service.id, backup.id),
    Object.keys(backup.counts),
    CHECK_READY_MS,
  );
}
