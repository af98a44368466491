import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureRepo } from '../helpers/skiff.js';
import { Tenants } from '../helpers/tenants.js';

const exists = async (id: string): Promise<boolean> => (await execa('docker', ['image', 'inspect', id], { reject: false })).exitCode === 0;

/** A destroyed app's image that another image builds on cannot go at once: destroy says so, and the server removes it later. */
describe('what a destroy leaves', () => {
  let t: Tenants;

  beforeAll(async () => {
    t = await Tenants.start();
  });
  afterAll(async () => t?.cleanup());

  it('says which images stay, and removes them once nothing builds on them', async () => {
    const base = t.app('base');
    const child = t.app('child');
    expect((await t.push('victim', await fixtureRepo('dockerfile-hello'), base)).exitCode).toBe(0);
    const baseId = (await execa('docker', ['image', 'inspect', '--format', '{{.Id}}', `skiff/${base}:v1`])).stdout.trim();
    const repo = await fixtureRepo('dockerfile-hello', (d) =>
      fs.writeFileSync(path.join(d, 'Dockerfile'), `FROM skiff/${base}:v1\nRUN echo child > /www/child.html\n`),
    );
    expect((await t.push('victim', repo, child)).exitCode).toBe(0);

    const destroyed = await t.ssh('victim', ['apps:destroy', base, '--confirm', base]);
    expect(destroyed.exitCode, destroyed.stderr).toBe(0);
    expect(destroyed.stdout).toMatch(/\d+ of its images stay while other images build on them/);
    expect(await exists(baseId)).toBe(true);

    expect((await t.ssh('victim', ['apps:destroy', child, '--confirm', child])).exitCode).toBe(0);
    await t.server.stop();
    await t.server.launch();
    expect(await exists(baseId)).toBe(false);
  });
});
