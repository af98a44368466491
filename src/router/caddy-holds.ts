import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConflictError, ExternalError } from '../errors.js';
import { HOLD_CHECK_PATH, HTTP_METHODS } from './caddy-config.js';
import { caddyAdminRequest } from './caddy-admin.js';
import { spawnCaddy } from './caddy-spawn.js';
import type { Hold, HoldRequest } from './router.js';

/**
 * How many held requests go on at once when a hold is released; the rest
 * keep waiting their turn. More at once can overflow a small accept queue
 * (busybox httpd's is 9), and the kernel retries a dropped connection only
 * after a second, then for a minute or more: with 32, a handover's released
 * requests waited a second more in some runs of bench/handover.sh; with 4,
 * they went on more slowly than the app answered.
 */
export const RELEASE_CONCURRENCY = 8;

/** Longest path a unix socket may have (sun_path, with its terminating NUL). */
const SOCKET_PATH_MAX = 107;

/** How the pool is made: how many holds at once, and how long a request may wait in one. */
export interface HoldPool {
  slots: number;
  /** The longest any hold lasts; Skiff ends each hold at its own time before that. */
  seconds: number;
}

const slotName = (i: number): string => `slot-${String(i).padStart(3, '0')}`;

/**
 * The config of the holds' Caddy: one server a slot, whose requests are
 * proxied to the slot's release socket once the router answers there. A
 * health check every 50 ms keeps the release socket down until then, and
 * requests wait out the down time (for up to `seconds`) without dialling
 * it: Caddy closes a request's body when a dial fails, so a POST could not
 * be retried after one. This config is never reloaded: a reload would end
 * the waits with a 502. Released, they go on RELEASE_CONCURRENCY at a
 * time. The admin socket serves only the metrics: how many requests each
 * slot still has.
 */
export function holdPoolConfig(dir: string, pool: HoldPool): Record<string, unknown> {
  const servers: Record<string, unknown> = {};
  for (let i = 0; i < pool.slots; i++) {
    const { socket, release } = slotSockets(dir, slotName(i));
    servers[slotName(i)] = {
      listen: [`unix/${socket}`],
      automatic_https: { disable: true },
      // Counts the requests in the slot, waiting ones included: a slot is free again at none.
      metrics: {},
      routes: [
        {
          handle: [
            {
              handler: 'reverse_proxy',
              upstreams: [{ dial: `unix/${release}`, max_requests: RELEASE_CONCURRENCY }],
              health_checks: { active: { uri: HOLD_CHECK_PATH, interval: '50ms', timeout: '1s' } },
              // Nothing reached an app while the socket is down, so any method may wait.
              load_balancing: { try_duration: `${pool.seconds}s`, try_interval: '50ms', retry_match: [{ method: HTTP_METHODS }] },
            },
          ],
        },
      ],
    };
  }
  return {
    admin: { listen: `unix/${path.join(dir, 'admin.sock')}`, config: { persist: false } },
    logging: { logs: { default: { level: 'ERROR' } } },
    // A stop waits this long for the answers of the requests it released.
    apps: { http: { grace_period: '10m', servers } },
  };
}

function slotSockets(dir: string, slot: string): { socket: string; release: string } {
  return { socket: path.join(dir, `${slot}.hold`), release: path.join(dir, `${slot}.release`) };
}

/**
 * Holds: slots of one Caddy process under `dir`, started when the first hold
 * needs it and left running. A hold takes a free slot; a slot is free again
 * once its hold is released and has no request left. The caller keeps the
 * records of which slots are taken, and starts one hold at a time.
 */
export class CaddyHolds {
  private readonly configFile: string;
  private readonly pidFile: string;

  constructor(
    private readonly dir: string,
    private readonly pool: HoldPool,
  ) {
    this.configFile = path.join(dir, 'pool.json');
    this.pidFile = path.join(dir, 'pool.pid');
  }

  async start(app: string, request: HoldRequest): Promise<Hold> {
    const { pid, slots } = await this.ensure(app);
    const free = slots.filter((s) => !request.taken.has(s));
    if (free.length <= request.keepFree) {
      throw new ConflictError(
        `the router holds the requests of ${slots.length - free.length} apps already, the most it may for ${request.reason === 'pause' ? 'pauses' : 'deploys'} (SKIFF_MAX_HOLDS ${slots.length}); try again when one has resumed`,
      );
    }
    // Preferably a slot whose release socket is gone (its health check has seen it down); else one waits two checks.
    const ready = free.filter((s) => !fs.existsSync(slotSockets(this.dir, s).release));
    const choices = ready.length ? ready : free;
    const slot = choices[Math.floor(Math.random() * choices.length)];
    if (!ready.length) await sleep(150);
    return { id: slot, ...slotSockets(this.dir, slot), pid };
  }

  /** Whether the hold's process still runs: its pid, and still the pool's (its command line names the pool's config). */
  alive(hold: Hold): boolean {
    return isPool(hold.pid, this.configFile);
  }

  /** Of these holds, the ones with no request left in them (all of them when their process is gone). */
  async drained(holds: readonly Hold[]): Promise<Hold[]> {
    const live = new Set(holds.filter((h) => this.alive(h)));
    if (!live.size) return [...holds];
    const res = await caddyAdminRequest(`unix/${path.join(this.dir, 'admin.sock')}`, 'GET', '/metrics', undefined, 5000);
    if (res.status !== 200) throw new ExternalError(`the holds' Caddy did not give its metrics (${res.status})`);
    const inFlight = new Map<string, number>();
    for (const m of res.body.matchAll(/^caddy_http_requests_in_flight\{[^}]*server="([^"]+)"[^}]*\} (\S+)$/gm)) {
      inFlight.set(m[1], (inFlight.get(m[1]) ?? 0) + Number(m[2]));
    }
    return holds.filter((h) => !live.has(h) || (inFlight.get(h.id) ?? 0) === 0);
  }

  /** The pool's process and slots: the running one, or one started now. */
  private async ensure(app: string): Promise<{ pid: number; slots: string[] }> {
    const running = this.running();
    if (running) return running;
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    // The last slot has the longest socket paths; it listens once the process is up.
    const last = slotSockets(this.dir, slotName(this.pool.slots - 1));
    if (last.release.length > SOCKET_PATH_MAX) {
      throw new ExternalError(`cannot hold requests: the socket paths under ${this.dir} are longer than ${SOCKET_PATH_MAX} bytes; use a shorter SKIFF_HOME`);
    }
    fs.writeFileSync(this.configFile, JSON.stringify(holdPoolConfig(this.dir, this.pool)), { mode: 0o600 });
    const { child, error } = await spawnCaddy(['run', '--config', this.configFile], this.dir, path.join(this.dir, 'holds.log'));
    if (error || child.pid === undefined) {
      throw new ExternalError(`cannot hold ${app}'s requests: caddy does not start on this host (${error?.message ?? 'no pid'})`, error);
    }
    fs.writeFileSync(this.pidFile, String(child.pid));
    for (let i = 0; i < 250 && child.exitCode === null; i++) {
      if (await connects(last.socket)) {
        // The first health checks, made as it starts, have found the release sockets down by now.
        await sleep(100);
        return { pid: child.pid, slots: this.slotsOf(this.configFile) };
      }
      await sleep(20);
    }
    if (child.exitCode === null) process.kill(child.pid, 'SIGTERM');
    throw new ExternalError(`cannot hold ${app}'s requests: the holds' Caddy did not start; see ${path.join(this.dir, 'holds.log')}`);
  }

  private running(): { pid: number; slots: string[] } | null {
    let pid: number;
    try {
      pid = Number(fs.readFileSync(this.pidFile, 'utf8'));
    } catch {
      return null;
    }
    // Its slots are those of the config it started with, which a change of SKIFF_MAX_HOLDS does not touch.
    return isPool(pid, this.configFile) ? { pid, slots: this.slotsOf(this.configFile) } : null;
  }

  private slotsOf(file: string): string[] {
    const config = JSON.parse(fs.readFileSync(file, 'utf8')) as { apps: { http: { servers: Record<string, unknown> } } };
    return Object.keys(config.apps.http.servers);
  }
}

function isPool(pid: number, configFile: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(configFile);
  } catch {
    return false;
  }
}

function connects(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(socket);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}
