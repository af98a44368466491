import fs from 'node:fs';
import { expect } from 'vitest';
import { SkiffServer, makeKey, removeDockerLeftovers, tempDir, type RunResult } from './skiff.js';

/**
 * A server with an admin and two tenants, for the security suite: `victim`
 * owns what is attacked, `mallory` is a registered user of another tenant
 * who attacks it, and each keeps to the rights a plain user has.
 */
export class Tenants {
  readonly keys: Record<'admin' | 'victim' | 'mallory', string> = { admin: '', victim: '', mallory: '' };
  readonly apps: string[] = [];

  private constructor(readonly server: SkiffServer) {}

  static async start(env: Record<string, string> = {}): Promise<Tenants> {
    const tenants = new Tenants(await SkiffServer.start(env));
    const dir = tempDir('tenant-keys');
    for (const user of ['admin', 'victim', 'mallory'] as const) {
      tenants.keys[user] = await makeKey(dir, user);
      const added = await tenants.server.cli(
        ['keys:add', user, ...(user === 'admin' ? ['--admin'] : [])],
        fs.readFileSync(`${tenants.keys[user]}.pub`, 'utf8'),
      );
      expect(added.exitCode, added.stderr).toBe(0);
    }
    return tenants;
  }

  /** An app name this test owns (removed from Docker afterwards). */
  app(prefix: string): string {
    const name = `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
    this.apps.push(name);
    return name;
  }

  ssh(user: keyof Tenants['keys'], args: string[], input?: string): Promise<RunResult> {
    return this.server.ssh(this.keys[user], args, { input });
  }

  push(user: keyof Tenants['keys'], repo: string, app: string, ref = 'main'): Promise<RunResult> {
    return this.server.git(this.keys[user], repo, ['push', this.server.remote(app), ref]);
  }

  async cleanup(): Promise<void> {
    await this.server?.cleanup();
    await removeDockerLeftovers(this.apps);
  }
}
