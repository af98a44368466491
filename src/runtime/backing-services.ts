import { randomBytes } from 'node:crypto';
import { PassThrough, Readable, type Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { demuxLogs, isConflict, isNotFound, isNotModified, uniqueSuffix } from '../docker/client.js';
import type { Engine } from '../docker/engine.js';
import { LABEL_SERVICE_ID, databaseName, serviceResourceName, type BackingService } from '../domain/backing-service.js';
import { ConflictError, ExternalError } from '../errors.js';
import type { Logger } from '../log.js';
import { DATA_PATHS, clientContainerSpec, scratchContainerSpec, serviceContainerSpec, serviceLabels } from './backing-service-spec.js';
import { runAttached } from './attached-run.js';
import { followLogs, type LogSource } from './log-follower.js';
import type { LogLine } from './log-lines.js';
import type { LogOptions, OneOffIO } from './runtime.js';
import {
  POSTGRES_COUNT,
  POSTGRES_COUNTS_SQL,
  POSTGRES_DUMP_SCRIPT,
  POSTGRES_RESTORE,
  POSTGRES_RESTORE_SCRIPT,
  dropTablesNotIn,
  REDIS_DUMP_SCRIPT,
  REDIS_KEYSPACE,
  countsDiffer,
  parseCounts,
  parseKeyspace,
} from './service-dumps.js';

/** What a service's container is doing: the engine's state, or missing. */
export interface ServiceState {
  state: string;
  /** Bytes its volume holds, when the engine says. */
  bytes: number | null;
}

/** A command's end in a service's container: its exit status and its stderr (stdout went where it was asked to). */
export interface ExecOutcome {
  exitCode: number;
  stderr: string;
}

/** A dump's check, prepared before the dump is taken. */
export interface DumpCheck {
  check(dump: { size: number; stream: Readable }, expected: Record<string, number>): Promise<void>;
  discard(): Promise<void>;
}

/** A container a check runs in, removed by `remove`. */
export interface Scratch {
  id: string;
  remove(): Promise<void>;
}

type Bounds = { memory: number | null; cpus: number | null; pids: number };

/** The command that says a service answers: pg_isready over TCP (the first start's own server listens on none), redis-cli PING. */
function readyCommand(service: Pick<BackingService, 'kind'>): string[] {
  return service.kind === 'postgres' ? ['pg_isready', '-q', '-h', '127.0.0.1', '-U', 'postgres'] : ['redis-cli', 'ping'];
}

/**
 * Services' containers, networks and volumes in the engine: each named for
 * the service and its identity and labelled with both; nothing that is not
 * the service's by identity is used or removed.
 */
export class ServiceContainers {
  constructor(
    private readonly engine: Engine,
    private readonly bounds: Bounds,
    private readonly log: Logger,
  ) {}

  /** Makes (or starts again) what the service runs on, and returns once it answers. */
  async ensure(service: BackingService, password: string, timeoutMs: number): Promise<void> {
    await this.ensureImage(service);
    const name = serviceResourceName(service);
    const labels = serviceLabels(service);
    const network = await this.engine.networks.find(name);
    if (network && network.Labels?.[LABEL_SERVICE_ID] !== service.id) throw new ConflictError(`a network named ${name} exists and is not ${service.name}'s`);
    // Internal: the service reaches nothing outside; only its linked apps' containers reach it.
    if (!network) await this.engine.networks.create({ Name: name, Driver: 'bridge', Internal: true, Labels: labels });
    const volume = await this.engine.volumes.find(name);
    if (volume && volume.Labels?.[LABEL_SERVICE_ID] !== service.id) throw new ConflictError(`a volume named ${name} exists and is not ${service.name}'s`);
    if (!volume) await this.engine.volumes.create(name, labels);
    const found = await this.find(service);
    let id = found?.Id;
    if (id === undefined) {
      try {
        id = await this.engine.containers.create(serviceContainerSpec(service, password, this.bounds));
      } catch (err) {
        if (!isConflict(err)) throw err;
        id = (await this.find(service))?.Id;
        if (id === undefined) throw err;
      }
    }
    if (found?.State !== 'running') {
      try {
        await this.engine.containers.start(id);
      } catch (err) {
        // Started meanwhile (by its restart policy, or another start): as good.
        if (!isNotModified(err)) throw err;
      }
    }
    await this.waitReady(service, id, password, timeoutMs);
  }

  /** The service's image, pulled when this host lacks it. */
  private async ensureImage(service: BackingService): Promise<void> {
    const { images } = this.engine;
    if (await images.exists(service.image)) return;
    try {
      await images.followProgress(await images.pull(service.image), () => undefined);
    } catch (err) {
      throw new ExternalError(
        `this host has no image ${service.image} and could not pull it (${(err as Error).message}); an admin sets SKIFF_SERVICE_${service.kind.toUpperCase()}_IMAGE to one it has`,
        err,
      );
    }
  }

  /** The service's own container: its identity's label and its name (its scratch and client containers carry the label too). */
  private async find(service: Pick<BackingService, 'name' | 'id'>): Promise<{ Id: string; State: string } | undefined> {
    const list = await this.engine.containers.list([`${LABEL_SERVICE_ID}=${service.id}`]);
    return list.find((c) => c.Names.includes(`/${serviceResourceName(service)}`));
  }

  /** Polls the kind's ready command in the container until it succeeds, or fails with its last lines. */
  private async waitReady(service: BackingService, id: string, password: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let delay = 50;
    for (;;) {
      const { exitCode } = await this.execIn(id, readyCommand(service), authEnv(service, password), new PassThrough().resume()).catch(() => ({
        exitCode: -1,
        stderr: '',
      }));
      if (exitCode === 0) return;
      const info = await this.engine.containers.inspect(id).catch(() => undefined);
      if (info && (info.State.Status === 'exited' || info.State.Status === 'dead'))
        throw new ExternalError(`${service.name} stopped as it started: ${await this.tail(id)}`);
      if (Date.now() > deadline) throw new ExternalError(`${service.name} did not answer within ${timeoutMs / 1000}s: ${await this.tail(id)}`);
      await sleep(delay);
      delay = Math.min(delay * 2, 500);
    }
  }

  private async tail(id: string): Promise<string> {
    const text = demuxLogs(await this.engine.containers.recentLogs(id, { tail: 5 }).catch(() => Buffer.alloc(0)));
    return text.trim().split('\n').join(' | ') || '(no output)';
  }

  async state(service: BackingService): Promise<ServiceState> {
    const found = await this.find(service);
    const usage = await this.engine.volumes.sizes().catch(() => []);
    const size = usage.find((v) => v.Name === serviceResourceName(service))?.UsageData?.Size;
    return {
      // The listing's state is the engine's (running, exited, restarting…).
      state: found?.State ?? 'missing',
      bytes: size !== undefined && size >= 0 ? size : null,
    };
  }

  async restart(service: BackingService, password: string, stopSeconds: number, timeoutMs: number): Promise<void> {
    const found = await this.find(service);
    if (found) await this.engine.containers.restart(found.Id, stopSeconds);
    await this.ensure(service, password, timeoutMs);
  }

  /** Removes its container, network and volume (its data). */
  async remove(service: BackingService): Promise<void> {
    for (const c of await this.engine.containers.list([`${LABEL_SERVICE_ID}=${service.id}`])) await this.engine.containers.remove(c.Id).catch(ignoreGone);
    const name = serviceResourceName(service);
    const network = await this.engine.networks.find(name);
    if (network?.Labels?.[LABEL_SERVICE_ID] === service.id) await this.engine.networks.removeWithContainers(name);
    const volume = await this.engine.volumes.find(name);
    if (volume?.Labels?.[LABEL_SERVICE_ID] === service.id) await this.engine.volumes.remove(name).catch(ignoreGone);
  }

  /** Its log lines: recent ones, then new ones while options.follow. */
  async logs(service: BackingService, options: LogOptions, onLine: (line: LogLine) => void): Promise<void> {
    const { containers } = this.engine;
    const list = async (): Promise<LogSource[]> => {
      const found = await this.find(service);
      return found
        ? [
            {
              id: found.Id,
              name: (line: LogLine) => ({ ...line, source: service.name }),
              recent: (tail: number) => containers.recentLogs(found.Id, { tail, timestamps: true }),
              follow: (since: number) => containers.followLogs(found.Id, since),
            },
          ]
        : [];
    };
    await followLogs(this.engine, list, options, onLine);
  }

  /**
   * Dumps the service in one consistent state, in its own container: the
   * dump's bytes go to `out` as they come; returns what the check compares
   * (each table's rows, or each database's keys) as that state had them.
   */
  async dump(service: BackingService, password: string, out: Writable, attempt = 1): Promise<Record<string, number>> {
    const dir = `/tmp/skiff-dump-${uniqueSuffix()}`;
    const env = { ...authEnv(service, password), SKIFF_DIR: dir, SKIFF_DB: databaseName(service) };
    const text = async (file: string): Promise<string> => {
      const chunks = new PassThrough();
      const parts: Buffer[] = [];
      chunks.on('data', (c: Buffer) => parts.push(c));
      const r = await this.exec(service, ['cat', `${dir}/${file}`], {}, chunks);
      if (r.exitCode !== 0) throw new ExternalError(`the dump left no ${file}: ${r.stderr.trim()}`);
      return Buffer.concat(parts).toString();
    };
    try {
      const script = service.kind === 'postgres' ? POSTGRES_DUMP_SCRIPT : REDIS_DUMP_SCRIPT;
      const made = await this.exec(service, ['sh', '-c', script], env, new PassThrough().resume());
      if (made.exitCode !== 0) throw new ExternalError(`the dump failed: ${lastLine(made.stderr)}`);
      let counts: Record<string, number>;
      if (service.kind === 'postgres') counts = parseCounts(await text('counts.tsv'));
      else {
        const [before, after] = [parseKeyspace(await text('before')), parseKeyspace(await text('after'))];
        if (countsDiffer(before, after) !== '') {
          // Keys came or went while the dump was taken: its count is not known. Again, a few times.
          if (attempt < 3) return await this.dump(service, password, out, attempt + 1);
          throw new ExternalError('keys came or went during each of three dumps, so no count to check a dump against was known; try again when it is quieter');
        }
        counts = before;
      }
      const copied = await this.exec(service, ['cat', `${dir}/dump`], {}, out);
      if (copied.exitCode !== 0) throw new ExternalError(`could not read the dump: ${lastLine(copied.stderr)}`);
      return counts;
    } finally {
      await this.exec(service, ['rm', '-rf', dir], {}, new PassThrough().resume()).catch(() => undefined);
    }
  }

  /**
   * What checks a dump of the service: a scratch copy of it (same image, no
   * network, nothing of its data). A postgres one starts at once, so that
   * it is up by the time the dump is taken; a redis one at the check, since
   * it loads its dump as it starts. `check` restores the dump into it and
   * compares what it holds with the counts the dump recorded, throwing why
   * they differ or why it did not restore; the copy goes after the check,
   * or with `discard`.
   */
  prepareCheck(service: BackingService, timeoutMs: number): DumpCheck {
    const password = randomBytes(16).toString('hex');
    const early = service.kind === 'postgres' ? this.scratch(service, password, timeoutMs, async () => {}) : undefined;
    // Its failure is the check's to report.
    early?.catch(() => undefined);
    return {
      check: (dump, expected) => this.check(service, password, early, dump, expected, timeoutMs),
      discard: async () => {
        if (early)
          await early.then(
            (s) => s.remove(),
            () => undefined,
          );
      },
    };
  }

  private async check(
    service: BackingService,
    password: string,
    early: Promise<Scratch> | undefined,
    dump: { size: number; stream: Readable },
    expected: Record<string, number>,
    timeoutMs: number,
  ): Promise<void> {
    const env = { ...authEnv(service, password), SKIFF_DB: databaseName(service), SKIFF_FILE: '/tmp/skiff-restore', SKIFF_SQL: POSTGRES_COUNTS_SQL };
    const scratch = await (
      early ?? this.scratch(service, password, timeoutMs, (id) => this.engine.containers.putFile(id, '/data', 'dump.rdb', dump.size, dump.stream))
    ).catch((err: unknown) => {
      dump.stream.destroy();
      throw new ExternalError(`the dump did not load: ${(err as Error).message}`, err);
    });
    try {
      let actual: Record<string, number>;
      if (service.kind === 'postgres') {
        await this.engine.containers.putFile(scratch.id, '/tmp', 'skiff-restore', dump.size, dump.stream);
        const restored = await this.execIn(scratch.id, POSTGRES_RESTORE, env, new PassThrough().resume());
        if (restored.exitCode !== 0) throw new ExternalError(`pg_restore failed: ${lastLine(restored.stderr)}`);
        actual = parseCounts(await this.output(scratch.id, POSTGRES_COUNT, env));
      } else {
        actual = parseKeyspace(await this.output(scratch.id, REDIS_KEYSPACE, env));
      }
      const differ = countsDiffer(expected, actual);
      if (differ !== '') throw new ExternalError(`the restored copy differs: ${differ}`);
    } finally {
      dump.stream.destroy();
      await scratch.remove();
    }
  }

  /**
   * Puts a dump back into the service: postgres in one transaction (the
   * tables the dump lacks dropped, the others made again from it; any error
   * leaves the database as it was), redis by stopping it, replacing its RDB
   * and starting it again. `tables` are the dump's (postgres).
   */
  async restore(
    service: BackingService,
    password: string,
    dump: { size: number; stream: Readable },
    tables: readonly string[],
    timeoutMs: number,
  ): Promise<void> {
    const found = await this.find(service);
    if (!found) throw new ExternalError(`${service.name} has no container; services:restart ${service.name}`);
    if (service.kind === 'redis') {
      await this.engine.containers.stop(found.Id, 30).catch((err: unknown) => (isNotModified(err) ? undefined : Promise.reject(err as Error)));
      try {
        await this.engine.containers.putFile(found.Id, DATA_PATHS.redis, 'dump.rdb', dump.size, dump.stream);
      } finally {
        await this.ensure(service, password, timeoutMs);
      }
      return;
    }
    const dir = `/tmp/skiff-restore-${uniqueSuffix()}`;
    const env = { ...authEnv(service, password), SKIFF_DIR: dir, SKIFF_DB: databaseName(service) };
    try {
      const made = await this.execIn(found.Id, ['mkdir', '-m', '700', dir], {}, new PassThrough().resume());
      if (made.exitCode !== 0) throw new ExternalError(`could not make a place for the dump: ${lastLine(made.stderr)}`);
      await this.engine.containers.putFile(found.Id, dir, 'dump', dump.size, dump.stream);
      const pre = Buffer.from(dropTablesNotIn(tables));
      await this.engine.containers.putFile(found.Id, dir, 'pre.sql', pre.length, Readable.from([pre]));
      const restored = await this.execIn(found.Id, ['sh', '-c', POSTGRES_RESTORE_SCRIPT], env, new PassThrough().resume());
      if (restored.exitCode !== 0) throw new ExternalError(`the restore failed and was rolled back: ${lastLine(restored.stderr)}`);
    } finally {
      dump.stream.destroy();
      await this.execIn(found.Id, ['rm', '-rf', dir], {}, new PassThrough().resume()).catch(() => undefined);
    }
  }

  /** A command's stdout as text; a non-zero exit is an error with its stderr. */
  private async output(id: string, command: string[], env: Record<string, string>): Promise<string> {
    const out = new PassThrough();
    const parts: Buffer[] = [];
    out.on('data', (c: Buffer) => parts.push(c));
    const r = await this.execIn(id, command, env, out);
    if (r.exitCode !== 0) throw new ExternalError(`${command[0]} failed: ${lastLine(r.stderr)}`);
    return Buffer.concat(parts).toString();
  }

  /** Runs a command in the service's container: stdout into `stdout`, stderr kept (its last 4 KiB). */
  async exec(service: BackingService, command: string[], env: Record<string, string>, stdout: Writable): Promise<ExecOutcome> {
    const found = await this.find(service);
    if (!found || found.State !== 'running') throw new ExternalError(`${service.name} is not running; services:restart ${service.name}`);
    return this.execIn(found.Id, command, env, stdout);
  }

  /** psql or redis-cli attached to io, in a throwaway container on the service's network; returns its exit status. */
  async connect(service: BackingService, password: string, io: OneOffIO): Promise<number> {
    const tty = io.tty !== undefined;
    const id = await this.engine.containers.create(clientContainerSpec(service, password, this.bounds, tty, uniqueSuffix()));
    return runAttached(this.engine, id, tty, io, async () => {});
  }

  /** Writes a file into the service's container (a backup to restore from). */
  async putFile(service: BackingService, dir: string, name: string, size: number, content: Readable): Promise<void> {
    const found = await this.find(service);
    if (!found) throw new ExternalError(`${service.name} has no container; services:restart ${service.name}`);
    await this.engine.containers.putFile(found.Id, dir, name, size, content);
  }

  /**
   * A scratch copy of the service's kind and version with nothing of its
   * data, to restore a backup into and check it; `prepare` runs on it
   * before it starts (to put a file in place), then it is started and
   * waited for.
   */
  async scratch(service: BackingService, password: string, timeoutMs: number, prepare: (id: string) => Promise<void>): Promise<Scratch> {
    const id = await this.engine.containers.create(scratchContainerSpec(service, password, this.bounds, uniqueSuffix()));
    const remove = (): Promise<void> => this.engine.containers.remove(id).catch(ignoreGone);
    try {
      await prepare(id);
      await this.engine.containers.start(id);
      await this.waitReady(service, id, password, timeoutMs);
    } catch (err) {
      await remove();
      throw err;
    }
    return { id, remove };
  }

  /** Writes a file into a scratch container. */
  async putScratchFile(scratch: Scratch, dir: string, name: string, size: number, content: Readable): Promise<void> {
    await this.engine.containers.putFile(scratch.id, dir, name, size, content);
  }

  /** Runs a command in a scratch container. */
  async execScratch(scratch: Scratch, command: string[], env: Record<string, string>, stdout: Writable): Promise<ExecOutcome> {
    return this.execIn(scratch.id, command, env, stdout);
  }

  private async execIn(id: string, command: string[], env: Record<string, string>, stdout: Writable): Promise<ExecOutcome> {
    const { containers } = this.engine;
    const run = await containers.exec(id, command, env);
    const stderr = new PassThrough();
    let errText = '';
    stderr.on('data', (c: Buffer) => (errText = (errText + c.toString()).slice(-4096)));
    const ended = new Promise<void>((resolve, reject) => {
      run.stream.once('end', resolve);
      run.stream.once('close', resolve);
      run.stream.once('error', reject);
    });
    containers.demux(run.stream, stdout, stderr);
    await ended;
    return { exitCode: (await run.exitCode()) ?? -1, stderr: errText };
  }

  /** At the server's start: removes the scratch containers of checks of these services that a stopped server left (another Skiff's on the same engine are not its). */
  async removeScratches(service: Pick<BackingService, 'id'>): Promise<void> {
    for (const c of await this.engine.containers.list([`${LABEL_SERVICE_ID}=${service.id}`, 'skiff.service-check'])) {
      this.log.info({ container: c.Names[0] }, 'removing the scratch container of an interrupted backup check');
      await this.engine.containers.remove(c.Id).catch(ignoreGone);
    }
  }
}

/** The last non-empty line of a command's stderr: what went wrong, for one line of a message. */
function lastLine(stderr: string): string {
  return stderr.trim().split('\n').at(-1) ?? '(no output)';
}

/** The password where the kind's client tools read it: PGPASSWORD, REDISCLI_AUTH. */
export function authEnv(service: Pick<BackingService, 'kind'>, password: string): Record<string, string> {
  return service.kind === 'postgres' ? { PGPASSWORD: password } : { REDISCLI_AUTH: password };
}

function ignoreGone(err: unknown): void {
  if (!isNotFound(err) && !isConflict(err)) throw err;
}
