import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureRepo } from '../helpers/skiff.js';
import { Tenants } from '../helpers/tenants.js';

/**
 * Attack: build on another tenant's release image (FROM it, or COPY --from
 * it), by tag, by id or through an ARG, and so read their code and whatever
 * their build baked in.
 */
describe("another tenant's image as a base", () => {
  let t: Tenants;
  let victim: string;
  let victimId: string;
  const secret = `victim-secret-${Math.random().toString(36).slice(2)}`;

  beforeAll(async () => {
    t = await Tenants.start();
    victim = t.app('vault');
    const repo = await fixtureRepo('dockerfile-hello', (dir) => fs.writeFileSync(path.join(dir, 'index.html'), `${secret}\n`));
    const push = await t.push('victim', repo, victim);
    expect(push.exitCode, push.stderr).toBe(0);
    victimId = (await execa('docker', ['image', 'inspect', '--format', '{{.Id}}', `skiff/${victim}:v1`])).stdout.trim();
  });
  afterAll(async () => t?.cleanup());

  const dockerfiles = (): Record<string, string> => ({
    'FROM by tag': `FROM skiff/${victim}:v1\nCMD ["sh", "-c", "cat /www/index.html; sleep 60"]\n`,
    'FROM by full id': `FROM ${victimId}\n`,
    'FROM by short id': `FROM ${victimId?.replace('sha256:', '').slice(0, 12)}\n`,
    'FROM through an ARG default': `ARG SOURCE=skiff/${victim}\nARG TAG=v1\nFROM \${SOURCE}:\${TAG} AS base\nFROM base\n`,
    'COPY --from an image': `FROM skiff-test/base:bookworm\nCOPY --from=skiff/${victim}:v1 /www/index.html /stolen\n`,
    'FROM a name the host does not have in the release repository': `FROM skiff/${victim}:v99\n`,
  });

  for (const name of Object.keys(dockerfiles())) {
    it(`refuses ${name} before anything builds, and shows nothing of it`, async () => {
      const app = t.app('thief');
      const repo = await fixtureRepo('dockerfile-hello', (dir) => fs.writeFileSync(path.join(dir, 'Dockerfile'), dockerfiles()[name]));
      const push = await t.push('mallory', repo, app);
      expect(push.exitCode).not.toBe(0);
      expect(push.stderr).toMatch(/access denied: the Dockerfile builds on \S+, an image of an app you may not use/);
      expect(push.stderr).not.toMatch(/Step 1\//);
      expect(push.stderr).not.toContain(secret);
    });
  }

  it('lets a user build on the images of their own app', async () => {
    const own = t.app('own');
    expect((await t.push('mallory', await fixtureRepo('dockerfile-hello'), own)).exitCode).toBe(0);
    const next = t.app('own-next');
    const repo = await fixtureRepo('dockerfile-hello', (dir) => fs.writeFileSync(path.join(dir, 'Dockerfile'), `FROM skiff/${own}:v1\n`));
    const push = await t.push('mallory', repo, next);
    expect(push.exitCode, push.stderr).toBe(0);
  });
});
