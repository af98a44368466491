import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExternalError } from '../errors.js';
import { HOLD_CHECK_PATH, HTTP_METHODS } from './caddy-config.js';
import { spawnCaddy } from './caddy-spawn.js';
import type { Hold } from './router.js';

/**
 * How many held requests go on at once when a hold is released; the rest
 * keep waiting their turn. A burst of hundreds at once can overflow an
 * app's accept queue (busybox httpd's is 9), and the kernel then retries
 * the connection for a minute or more.
 */
export const RELEASE_CONCURRENCY = 32;

/** Longest path a unix socket may have (sun_path, with its terminating NUL). */
const SOCKET_PATH_MAX = 107;

/**
 * The config of a hold's Caddy: requests on its socket are proxied to its
 * release socket once the router answers there. A health check every 50 ms
 * keeps the release socket down until then, and requests wait out the down
 * time (for up to `seconds`) without dialling it: Caddy closes a request's
 * body when a dial fails, so a POST could not be retried after one. This
 * config is never reloaded: a reload would end the waits with a 502.
 * Released, they go on RELEASE_CONCURRENCY at a time.
 */
export function holdConfig(hold: Pick<Hold, 'socket' | 'release'>, seconds: number): Record<string, unknown> {
  return {
    admin: { disabled: true, config: { persist: false } },
    logging: { logs: { default: { level: 'ERROR' } } },
    apps: {
      http: {
        // A stop waits this long for the answers of the requests it released.
        grace_period: '10m',
        servers: {
          hold: {
            listen: [`unix/${hold.socket}`],
            automatic_https: { disable: true },
            routes: [
              {
                handle: [
                  {
                    handler: 'reverse_proxy',
                    upstreams: [{ dial: `unix/${hold.release}`, max_requests: RELEASE_CONCURRENCY }],
                    health_checks: { active: { uri: HOLD_CHECK_PATH, interval: '50ms', timeout: '1s' } },
                    // Nothing reached an app while the socket is down, so any method may wait.
                    load_balancing: { try_duration: `${seconds}s`, try_interval: '50ms', retry_match: [{ method: HTTP_METHODS }] },
                  },
                ],
              },
            ],
          },
        },
      },
    },
  };
}

/** Holds, each a small Caddy process of its own, with its sockets and config under `dir`. */
export class CaddyHolds {
  constructor(private readonly dir: string) {}

  async start(app: string, seconds: number): Promise<Hold> {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const id = crypto.randomBytes(6).toString('hex');
    const socket = path.join(this.dir, `${id}.hold`);
    const release = path.join(this.dir, `${id}.release`);
    if (release.length > SOCKET_PATH_MAX) throw new ExternalError(`cannot hold requests: the socket path ${release} is longer than ${SOCKET_PATH_MAX} bytes; use a shorter SKIFF_HOME`);
    const configFile = path.join(this.dir, `${id}.json`);
    fs.writeFileSync(configFile, JSON.stringify(holdConfig({ socket, release }, seconds)), { mode: 0o600 });
    const { child, error } = await spawnCaddy(['run', '--config', configFile], this.dir, path.join(this.dir, 'holds.log'));
    if (error || child.pid === undefined) {
      fs.rmSync(configFile, { force: true });
      throw new ExternalError(`cannot hold ${app}'s requests: caddy does not start on this host (${error?.message ?? 'no pid'})`, error);
    }
    const hold = { id, socket, release, pid: child.pid };
    for (let i = 0; i < 250 && child.exitCode === null; i++) {
      if (await connects(socket)) {
        // Its first health check, made as it starts, has found the release socket down by now.
        await sleep(100);
        return hold;
      }
      await sleep(20);
    }
    this.stop(hold);
    throw new ExternalError(`cannot hold ${app}'s requests: the hold's Caddy did not start; see ${path.join(this.dir, 'holds.log')}`);
  }

  stop(hold: Hold): void {
    if (this.alive(hold)) process.kill(hold.pid, 'SIGTERM');
    fs.rmSync(path.join(this.dir, `${hold.id}.json`), { force: true });
  }

  /** Alive, and still that hold's process (its command line names the hold's config), not a process that took its pid. */
  alive(hold: Hold): boolean {
    try {
      return fs.readFileSync(`/proc/${hold.pid}/cmdline`, 'utf8').includes(`${hold.id}.json`);
    } catch {
      return false;
    }
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
