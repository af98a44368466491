import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureRepo } from '../helpers/skiff.js';
import { Tenants } from '../helpers/tenants.js';

const inspect = async (filter: string): Promise<Record<string, any>[]> => {
  const ids = (await execa('docker', ['ps', '-q', '--filter', filter])).stdout.split('\n').filter(Boolean);
  return ids.length ? (JSON.parse((await execa('docker', ['inspect', ...ids])).stdout) as Record<string, any>[]) : [];
};

/**
 * Attack: take more than a tenant's share of the host: a build that never
 * ends (holding the app's lock), a fork bomb, a one-off without limits, a
 * push of any size, a Procfile of thousands of types or with control
 * characters in a command, limits the host cannot give; or reach another
 * app's containers over a shared network.
 */
describe("each tenant's share of the host is bounded", () => {
  let t: Tenants;
  let app: string;

  beforeAll(async () => {
    t = await Tenants.start({ SKIFF_BUILD_TIMEOUT: '4', SKIFF_PIDS_LIMIT: '200', SKIFF_DEFAULT_MEMORY: '256', SKIFF_MAX_PUSH_SIZE: '1' });
    app = t.app('greedy');
    expect((await t.push('mallory', await fixtureRepo('dockerfile-hello'), app)).exitCode).toBe(0);
  });
  afterAll(async () => t?.cleanup());

  it('ends a build that runs past SKIFF_BUILD_TIMEOUT, and frees the app for the next push', async () => {
    const started = Date.now();
    const slow = await t.push('mallory', await fixtureRepo('dockerfile-slow'), app, '+main');
    expect(slow.exitCode).not.toBe(0);
    expect(slow.stderr).toContain('the build ran past SKIFF_BUILD_TIMEOUT (4 s)');
    expect(Date.now() - started).toBeLessThan(15_000);
    const next = await t.push('mallory', await fixtureRepo('dockerfile-hello', (d) => fs.writeFileSync(path.join(d, 'index.html'), 'v2\n')), app, '+main');
    expect(next.exitCode, next.stderr).toBe(0);
    expect(next.stderr).not.toContain('waiting');
  });

  it('starts every container with a pids limit and memory, on a network where no container reaches another; one-offs too', async () => {
    const [web] = await inspect(`label=skiff.app=${app}`);
    expect(web.HostConfig).toMatchObject({ PidsLimit: 200, Memory: 256 * 1024 * 1024, NetworkMode: 'skiff-apps' });
    expect(Object.keys(web.NetworkSettings.Networks)).toEqual(['skiff-apps']);
    // cgroup v2, or v1.
    const limits =
      "'cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max; cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes'";
    const run = await t.ssh('mallory', ['run', app, 'sh', '-c', limits]);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout.split('\n').slice(0, 2)).toEqual(['200', String(256 * 1024 * 1024)]);
    // A fork bomb stops at the limit, inside its own container.
    const bomb = await t.ssh('mallory', ['run', app, 'sh', '-c', "'for i in $(seq 1 400); do sleep 5 & done 2>&1 | tail -n 1; echo survived'"]);
    expect(bomb.stdout + bomb.stderr).toMatch(/can't fork|Resource temporarily unavailable|Cannot fork/i);
    // Another tenant's app is on no network of mallory's but that one, where the engine drops
    // traffic between containers (the default bridge, where it does not, holds neither).
    const other = t.app('neighbour');
    expect((await t.push('victim', await fixtureRepo('dockerfile-hello'), other)).exitCode).toBe(0);
    const [theirs] = await inspect(`label=skiff.app=${other}`);
    expect(Object.keys(theirs.NetworkSettings.Networks)).toEqual(['skiff-apps']);
    const network = JSON.parse((await execa('docker', ['network', 'inspect', 'skiff-apps'])).stdout)[0];
    expect(network.Options['com.docker.network.bridge.enable_icc']).toBe('false');
    expect(network.Internal).toBe(false);
  });

  it('refuses a push larger than SKIFF_MAX_PUSH_SIZE', async () => {
    const repo = await fixtureRepo('dockerfile-hello', (d) => fs.writeFileSync(path.join(d, 'blob.bin'), crypto.randomBytes(3 * 1024 * 1024)));
    const push = await t.push('mallory', repo, app, '+main');
    expect(push.exitCode).not.toBe(0);
    expect(push.stderr).toMatch(/maxInputSize|pack exceeds maximum allowed size/);
  });

  it('refuses a Procfile of too many types or with a control character, in one line', async () => {
    const many = Array.from({ length: 60_000 }, (_, i) => `p${i}: sleep 1`).join('\n');
    for (const [procfile, why] of [
      [many, /the Procfile defines more than 20 process types/],
      ['web: busybox httpd -f -p $PORT\u0000 -h /www\n', /web's command has a control character/],
      ['web: echo hi\u001b[2J\n', /web's command has a control character/],
    ] as const) {
      const push = await t.push('mallory', await fixtureRepo('dockerfile-hello', (d) => fs.writeFileSync(path.join(d, 'Procfile'), procfile)), app, '+main');
      expect(push.exitCode).not.toBe(0);
      expect(push.stderr).toMatch(why);
    }
  });

  it('refuses an exec line longer than 34 KiB in one line, as long as the SSH transport carries it', async () => {
    const r = await t.ssh('mallory', ['apps:info', 'a'.repeat(34_857)]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^ ! {5}command too long \(34867 bytes; at most 34816\)\n?$/);
  });

  it('refuses limits the host cannot give, and records nothing', async () => {
    const before = (await t.ssh('mallory', ['ps', app, '--json'])).stdout;
    const cpus = await t.ssh('mallory', ['resources:set', app, 'web', '--cpus', '64']);
    expect(cpus.exitCode).toBe(1);
    expect(cpus.stderr).toMatch(/^ ! {5}--cpus 64: this host has \d+ CPUs?\n?$/);
    const memory = await t.ssh('mallory', ['resources:set', app, 'web', '--memory', '999999g']);
    expect(memory.exitCode).toBe(1);
    expect(memory.stderr).toMatch(/this host has \d+m of memory/);
    expect((await t.ssh('mallory', ['ps', app, '--json'])).stdout).toBe(before);
    expect((await t.ssh('mallory', ['ps:restart', app])).exitCode).toBe(0);
  });

  it('puts the record back when a limit the host has cannot be applied, so later restarts still work', async () => {
    const hungry = t.app('hungry');
    // web takes some 40 MB as it starts: under 8m it is killed before it answers.
    const procfile = 'web: x=$(head -c 40000000 /dev/zero | tr "\\000" a); exec busybox httpd -f -p $PORT -h /www\n';
    expect((await t.push('mallory', await fixtureRepo('dockerfile-hello', (d) => fs.writeFileSync(path.join(d, 'Procfile'), procfile)), hungry)).exitCode).toBe(
      0,
    );
    const before = JSON.parse((await t.ssh('mallory', ['ps', hungry, '--json'])).stdout) as { formation: unknown };
    const starved = await t.ssh('mallory', ['resources:set', hungry, 'web', '--memory', '8m']);
    expect(starved.exitCode).not.toBe(0);
    const after = JSON.parse((await t.ssh('mallory', ['ps', hungry, '--json'])).stdout) as { formation: unknown };
    expect(after.formation).toEqual(before.formation);
    const restart = await t.ssh('mallory', ['ps:restart', hungry]);
    expect(restart.exitCode, restart.stderr).toBe(0);
  });
});
