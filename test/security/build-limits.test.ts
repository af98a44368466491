import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureRepo } from '../helpers/skiff.js';
import { Tenants } from '../helpers/tenants.js';

/**
 * Attack: a Dockerfile's RUN step is code a tenant runs on the host's
 * engine: a fork bomb or a memory hog there, or a build that talks to
 * another tenant's build, must stop at the tenant's bounds.
 */
describe('every step of a build is bounded', () => {
  let t: Tenants;
  let app: string;

  beforeAll(async () => {
    t = await Tenants.start({ SKIFF_BUILD_MEMORY: '300', SKIFF_PIDS_LIMIT: '200' });
    app = t.app('builder');
    expect((await t.push('mallory', await fixtureRepo('dockerfile-hello'), app)).exitCode).toBe(0);
  });
  afterAll(async () => t?.cleanup());

  it('bounds every step of a build: memory, processes, and a network where builds reach no other container', async () => {
    const report = [
      'FROM skiff-test/base:bookworm',
      `RUN echo ${crypto.randomUUID()} >/dev/null; echo "MEMORY=$(cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"; echo "CGROUP=$(grep -E \'pids|^0::\' /proc/self/cgroup | head -n 1)"; for i in $(seq 1 400); do sleep 2 & done; echo "survived-$((40 + 2))"`,
    ].join('\n');
    const bomb = await t.push(
      'mallory',
      await fixtureRepo('dockerfile-hello', (d) => fs.writeFileSync(path.join(d, 'Dockerfile'), `${report}\n`)),
      app,
      '+main',
    );
    expect(bomb.exitCode).not.toBe(0);
    expect(bomb.stderr).toContain(`MEMORY=${300 * 1024 * 1024}`);
    const cgroup = /CGROUP=\S*\/skiff-builds\/(build-[a-z0-9]+)\//.exec(bomb.stderr)?.[1];
    expect(cgroup, bomb.stderr).toBeDefined();
    expect(bomb.stderr, bomb.stderr).toMatch(/can't fork|Resource temporarily unavailable|Cannot fork/i);
    expect(bomb.stderr).not.toContain('survived-42');
    const network = JSON.parse((await execa('docker', ['network', 'inspect', 'skiff-builds'])).stdout)[0];
    expect(network.Options['com.docker.network.bridge.enable_icc']).toBe('false');
    // The build's cgroup is gone with it, in every hierarchy.
    const left = await execa('sh', ['-c', `ls -d /sys/fs/cgroup/*/skiff-builds/${cgroup} /sys/fs/cgroup/skiff-builds/${cgroup} 2>/dev/null | wc -l`]);
    expect(left.stdout.trim()).toBe('0');
    expect((await t.ssh('mallory', ['releases', app])).stdout).not.toContain('v2');
  });
});
