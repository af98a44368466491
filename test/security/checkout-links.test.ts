import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitAll, fixtureRepo, tempDir } from '../helpers/skiff.js';
import { Tenants } from '../helpers/tenants.js';

/**
 * Attack: a registered user pushes a commit whose symlinks lead out of the
 * checkout, so that the server reads a host file while it builds (the
 * Dockerfile, Procfile, skiff.yml, package.json) and shows it back.
 */
describe('symlinks out of a checkout', () => {
  let t: Tenants;
  let secretDir: string;
  const marker = `host-secret-${Math.random().toString(36).slice(2)}`;

  beforeAll(async () => {
    t = await Tenants.start();
    secretDir = tempDir('host-secret');
    fs.writeFileSync(path.join(secretDir, 'secret'), `FROM ${marker}\nweb: echo ${marker}\n`);
  });
  afterAll(async () => {
    await t?.cleanup();
    fs.rmSync(secretDir, { recursive: true, force: true });
  });

  // Each is a way to spell "the host file" that a check of the link's text would let through.
  const attacks: Record<string, (dir: string, secret: string) => void> = {
    'a Dockerfile that is an absolute link': (dir, secret) => {
      fs.rmSync(path.join(dir, 'Dockerfile'));
      fs.symlinkSync(secret, path.join(dir, 'Dockerfile'));
    },
    'a Dockerfile through a chain of nested relative links': (dir, secret) => {
      // x/up is the checkout itself; through it, ../.. climbs out, though the text says x/up/x/up.
      fs.mkdirSync(path.join(dir, 'x'));
      fs.symlinkSync('..', path.join(dir, 'x', 'up'));
      // More .. than any checkout is deep: the kernel stops at /.
      const climb = ['x/up/x/up', ...Array(20).fill('..')].join('/');
      fs.rmSync(path.join(dir, 'Dockerfile'));
      fs.symlinkSync(`${climb}${secret}`, path.join(dir, 'Dockerfile'));
    },
    'a Procfile through a directory link': (dir, secret) => {
      fs.symlinkSync(path.dirname(secret), path.join(dir, 'conf'));
      fs.symlinkSync(`conf/${path.basename(secret)}`, path.join(dir, 'Procfile'));
    },
    'a link that only sits there, pointing at /': (dir) => {
      fs.symlinkSync('/', path.join(dir, 'root'));
    },
  };

  for (const [name, plant] of Object.entries(attacks)) {
    it(`refuses the push of ${name}, naming the link, and reads nothing`, async () => {
      const app = t.app('links');
      const repo = await fixtureRepo('dockerfile-hello', (dir) => plant(dir, path.join(secretDir, 'secret')));
      const push = await t.push('mallory', repo, app);
      expect(push.exitCode).not.toBe(0);
      expect(push.stderr).toMatch(/the symlink "[^"]+" (\(and \d+ more\) )?points outside the repository/);
      expect(push.stderr).not.toContain(marker);
      // Nothing was released, and the branch did not move.
      const releases = await t.ssh('mallory', ['releases', app, '--json']);
      expect(JSON.parse(releases.stdout)).toEqual([]);
      const dockerfile = await t.ssh('mallory', ['stacks:dockerfile', app]);
      expect(dockerfile.exitCode).toBe(1);
      expect(dockerfile.stdout + dockerfile.stderr).not.toContain(marker);
    });
  }

  it('still deploys links that stay inside the repository', async () => {
    const app = t.app('links-ok');
    const repo = await fixtureRepo('dockerfile-hello', (dir) => {
      fs.mkdirSync(path.join(dir, 'docker'));
      fs.renameSync(path.join(dir, 'Dockerfile'), path.join(dir, 'docker', 'Dockerfile'));
      fs.symlinkSync('docker/Dockerfile', path.join(dir, 'Dockerfile'));
      fs.symlinkSync('../index.html', path.join(dir, 'docker', 'index-link'));
    });
    const push = await t.push('mallory', repo, app);
    expect(push.exitCode, push.stderr).toBe(0);
    fs.writeFileSync(path.join(repo, 'index.html'), 'v2\n');
    await commitAll(repo, 'v2');
    const dockerfile = await t.ssh('mallory', ['stacks:dockerfile', app]);
    expect(dockerfile.stdout).toContain('FROM ${BASE}');
  });
});
