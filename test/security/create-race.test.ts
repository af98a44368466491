import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureRepo } from '../helpers/skiff.js';
import { Tenants } from '../helpers/tenants.js';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Attack: push to a name another user is creating at the same moment, so the
 * losing push lands in the winner's new app without an access check.
 */
describe('two first pushes to one name at once', () => {
  let t: Tenants;
  let victimRepo: string;
  let malloryRepo: string;

  beforeAll(async () => {
    t = await Tenants.start();
    victimRepo = await fixtureRepo('dockerfile-hello');
    malloryRepo = await fixtureRepo('dockerfile-hello', (dir) => fs.writeFileSync(path.join(dir, 'index.html'), 'mallory was here\n'));
  });
  afterAll(async () => t?.cleanup());

  it('lets only the creator in: the other push is refused and writes no ref, every time', async () => {
    const mallorySha = (await execa('git', ['rev-parse', 'HEAD'], { cwd: malloryRepo })).stdout.trim();
    for (let i = 0; i < 8; i++) {
      const app = t.app('race');
      // Branches that do not deploy, one each: the race is at the door, nothing builds, and a ref the loser wrote would show.
      const [v, m] = await Promise.all([t.push('victim', victimRepo, app, 'main:from-victim'), t.push('mallory', malloryRepo, app, 'main:from-mallory')]);
      const owner = JSON.parse((await t.ssh('admin', ['apps:info', app, '--json'])).stdout).createdBy as string;
      const [won, lost] = owner === 'victim' ? [v, m] : [m, v];
      expect(won.exitCode, won.stderr).toBe(0);
      expect(lost.exitCode, `try ${i}: ${lost.stderr}`).not.toBe(0);
      expect(lost.stderr).toContain('access denied');
      const refs = (await execa('git', ['ls-remote', t.server.remote(app)], { env: t.server.gitEnv(t.keys.admin) })).stdout;
      const loser = owner === 'victim' ? 'mallory' : 'victim';
      expect(refs).toContain(`refs/heads/from-${owner}`);
      expect(refs, `try ${i}`).not.toContain(`refs/heads/from-${loser}`);
      if (owner === 'victim') expect(refs).not.toContain(mallorySha);
    }
  });
});
