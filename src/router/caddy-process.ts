import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExternalError } from '../errors.js';
import type { Logger } from '../log.js';
import { withoutKeys } from './caddy-config.js';
import { caddyAdminRequest } from './caddy-admin.js';
import { spawnCaddy } from './caddy-spawn.js';

export interface CaddyProcessOptions {
  /** Folder for Caddy's config, pid file, data and admin socket. */
  dir: string;
  admin: string;
  log: Logger;
  /** The whole config to start with, so a fresh Caddy serves every app at once. */
  config: () => Record<string, unknown>;
}

/**
 * Skiff's own Caddy: started when its admin API does not answer, detached so
 * that it keeps serving while Skiff restarts, and adopted by the next Skiff.
 */
export class CaddyProcess {
  constructor(private readonly options: CaddyProcessOptions) {}

  async answers(): Promise<boolean> {
    try {
      return (await caddyAdminRequest(this.options.admin, 'GET', '/config/', undefined, 2000)).status === 200;
    } catch {
      return false;
    }
  }

  /**
   * Caddy reloads on a fresh SO_REUSEPORT socket; Linux resets connections
   * still queued on the old one unless tcp_migrate_req moves them over. Set it
   * when we may (root), else say that switches can drop a connection.
   */
  ensureMigrateReq(): void {
    const file = '/proc/sys/net/ipv4/tcp_migrate_req';
    try {
      if (fs.readFileSync(file, 'utf8').trim() === '1') return;
      fs.writeFileSync(file, '1');
    } catch (err) {
      this.options.log.warn({ err }, 'net.ipv4.tcp_migrate_req is not 1: a route switch under load may reset a connection');
    }
  }

  /** Starts Caddy unless one answers already; resolves once its admin API answers. */
  async ensure(): Promise<void> {
    if (await this.answers()) return;
    const { dir, log } = this.options;
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const socket = this.options.admin.startsWith('unix/') ? this.options.admin.slice('unix/'.length) : undefined;
    if (socket) fs.rmSync(socket, { force: true });
    const configFile = path.join(dir, 'caddy.json');
    const config = this.options.config();
    // Keys of custom certificates stay off the disk: Caddy starts without them and gets them through its admin API.
    const onDisk = withoutKeys(config);
    fs.writeFileSync(`${configFile}.tmp`, JSON.stringify(onDisk, null, 2), { mode: 0o600 });
    fs.renameSync(`${configFile}.tmp`, configFile);
    const { child, error } = await spawnCaddy(['run', '--config', configFile, '--pidfile', path.join(dir, 'caddy.pid')], dir, path.join(dir, 'caddy.log'));
    if (error) {
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      throw new ExternalError(
        missing
          ? "caddy is not installed, and Skiff's router is Caddy: install Debian's caddy package (npm start's set-up does), or set SKIFF_CADDY_ADMIN to the admin API of a Caddy of your own"
          : `could not start caddy: ${error.message}`,
        error,
      );
    }
    for (let i = 0; i < 100; i++) {
      if (await this.answers()) {
        if (onDisk !== config) {
          const loaded = await caddyAdminRequest(this.options.admin, 'POST', '/load', JSON.stringify(config));
          if (loaded.status !== 200) log.error({ body: loaded.body }, 'caddy refused the custom certificates');
        }
        log.info({ caddyPid: child.pid }, 'caddy started');
        return;
      }
      if (child.exitCode !== null) break;
      await sleep(100);
    }
    throw new ExternalError(`Caddy did not start; see ${path.join(dir, 'caddy.log')}`);
  }
}
