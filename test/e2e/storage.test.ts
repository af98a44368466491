import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SkiffServer, fixtureRepo, httpGet, makeKey, removeDockerLeftovers, tempDir, uniqueApp } from '../helpers/skiff.js';

// The release phase counts releases in the volume; web serves the count it found at start.
const PROCFILE = [
  `web: cp /data/count /www/count 2>/dev/null; exec busybox httpd -f -p "$PORT" -h /www`,
  `release: echo $(( $(cat /data/count 2>/dev/null || echo 0) + 1 )) > /data/count && echo "count is now $(cat /data/count)"`,
].join('\n');

/** Persistent volumes: they outlive deploys, restarts, rollbacks and the server; one-offs and the release phase see them. */
describe('storage', () => {
  let server: SkiffServer;
  let key: string;
  const app = uniqueApp('store');
  const gone = uniqueApp('gone');

  const count = async (): Promise<string> =>
    (await httpGet(`${JSON.parse((await server.ssh(key, ['apps:info', app, '--json'])).stdout).url}count`)).body.trim();
  const ssh = (args: string[]): Promise<string> => server.sshOk(key, args);
  const volumes = async (): Promise<string[]> =>
    (await execa('docker', ['volume', 'ls', '-q', '--filter', 'label=skiff.volume'])).stdout.split('\n').filter(Boolean);

  beforeAll(async () => {
    server = await SkiffServer.start();
    key = await makeKey(tempDir('keys'), 'admin');
    await server.cli(['keys:add', 'alice', '--admin'], fs.readFileSync(`${key}.pub`, 'utf8'));
  });

  afterAll(async () => {
    await server?.cleanup();
    await removeDockerLeftovers([app, gone]);
    await execa('docker', ['volume', 'rm', '-f', `skiff-${app}_data`, `skiff-${gone}_files`], { reject: false });
  });

  it('mounts a volume that the release phase, every instance and one-offs see, and that outlives deploys, stops, rollbacks and the server', async () => {
    expect((await server.ssh(key, ['apps:create', app])).exitCode).toBe(0);
    expect(await ssh(['storage:mount', app, 'data:/data'])).toContain(`${app} has data at /data`);
    const repo = await fixtureRepo('dockerfile-hello', (d) => fs.writeFileSync(path.join(d, 'Procfile'), PROCFILE));
    const push = await server.git(key, repo, ['push', server.remote(app), 'main']);
    expect(push.exitCode, push.stderr).toBe(0);
    expect(push.stderr).toContain('count is now 1');
    expect(await count()).toBe('1');

    expect(await ssh(['config:set', app, 'A=1'])).toContain('count is now 2');
    expect(await count()).toBe('2');
    await ssh(['ps:stop', app]);
    await ssh(['ps:start', app]);
    expect(await count()).toBe('2');
    expect(await ssh(['rollback', app])).toContain('count is now 3');
    expect(await count()).toBe('3');
    expect((await server.ssh(key, ['run', app, 'cat', '/data/count'])).stdout).toBe('3');

    await server.stop();
    await server.launch();
    expect(await ssh(['ps:restart', app])).toContain('answers HTTP');
    expect(await count()).toBe('3');
    const listed = JSON.parse(await ssh(['storage', app, '--json'])) as { name: string; path: string; mode: string; bytes: number | null }[];
    expect(listed).toEqual([{ name: 'data', path: '/data', mode: 'mounted', bytes: expect.any(Number), from: null, sharedWith: [], node: null }]);
    expect(await volumes()).toContain(`skiff-${app}_data`);
  });

  it('keeps the data of an unmounted volume until storage:destroy, which asks for confirmation', async () => {
    expect(await ssh(['storage:unmount', app, 'data'])).toContain('its data is kept');
    expect((await server.ssh(key, ['run', app, 'sh', '-c', "'cat /data/count || echo none'"])).stdout).toContain('none');
    expect(JSON.parse(await ssh(['storage', app, '--json']))).toEqual([
      { name: 'data', path: null, mode: 'unmounted', bytes: expect.anything(), from: null, sharedWith: [], node: null },
    ]);
    await ssh(['storage:mount', app, 'data:/data']);
    expect((await server.ssh(key, ['run', app, 'cat', '/data/count'])).stdout).toBe('3');

    const mounted = await server.ssh(key, ['storage:destroy', app, 'data', '--confirm', 'data']);
    expect(mounted.exitCode).toBe(1);
    expect(mounted.stderr).toContain(`storage:unmount ${app} data first`);
    await ssh(['storage:unmount', app, 'data']);
    const unconfirmed = await server.ssh(key, ['storage:destroy', app, 'data']);
    expect(unconfirmed.exitCode).toBe(1);
    expect(unconfirmed.stderr).toContain(`storage:destroy ${app} data --confirm data`);
    expect(await volumes()).toContain(`skiff-${app}_data`);
    await ssh(['storage:destroy', app, 'data', '--confirm', 'data']);
    expect(await volumes()).not.toContain(`skiff-${app}_data`);
  });

  it('refuses what it cannot do in one line, changing nothing', async () => {
    for (const [spec, message] of [
      ['data', /invalid mount path ''/],
      ['Data:/data', /invalid storage name 'Data'/],
      ['data:relative', /invalid mount path 'relative'/],
      ['data:/proc/x', /the container's proc is the kernel's/],
    ] as const) {
      const r = await server.ssh(key, ['storage:mount', app, spec]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(message);
    }
    await ssh(['storage:mount', app, 'one:/one']);
    const twice = await server.ssh(key, ['storage:mount', app, 'two:/one']);
    expect(twice.stderr).toContain('mounts one at /one already');
    expect(JSON.parse(await ssh(['storage', app, '--json'])).map((e: { name: string }) => e.name)).toEqual(['one']);
  });

  it('is shared with another app only when asked, and goes with its app on apps:destroy, which ends the share', async () => {
    expect((await server.ssh(key, ['apps:create', gone])).exitCode).toBe(0);
    await ssh(['storage:mount', gone, 'files:/files']);
    expect(await volumes()).toContain(`skiff-${gone}_files`);
    expect((await server.git(key, await fixtureRepo('dockerfile-hello'), ['push', server.remote(gone), 'main'])).exitCode).toBe(0);
    await ssh(['run', gone, 'sh', '-c', "'echo from-gone > /files/note'"]);
    expect(await ssh(['storage:mount', app, `${gone}/files:/shared`])).toContain(`has ${gone}/files at /shared`);
    expect(await ssh(['run', app, 'cat', '/shared/note'])).toBe('from-gone');
    expect(JSON.parse(await ssh(['storage', gone, '--json']))).toEqual([expect.objectContaining({ name: 'files', sharedWith: [app] })]);
    expect(JSON.parse(await ssh(['storage', app, '--json']))).toContainEqual(expect.objectContaining({ name: 'files', from: gone, path: '/shared' }));
    // What would take the data from under the other app is refused.
    for (const [args, says] of [
      [['storage:unmount', gone, 'files'], ''],
      [['storage:destroy', gone, 'files', '--confirm', 'files'], `${app} mounts files`],
      [['storage:mount', app, `${gone}/files:/again`], 'mounts files already'],
    ] as const) {
      const r = await server.ssh(key, [...args]);
      if (!says) {
        expect(r.exitCode, r.stderr).toBe(0);
        continue;
      }
      expect(r.exitCode, args.join(' ')).toBe(1);
      expect(r.stderr).toContain(says);
    }
    const single = await server.ssh(key, ['storage:mount', gone, 'files:/files', '--single-writer']);
    expect(single.exitCode).toBe(1);
    expect(single.stderr).toContain(`files is shared with ${app}: a single-writer volume has one app`);
    // The owner's destroy ends the share (a release of the app that mounted it), and the volume goes.
    expect(await ssh(['apps:destroy', gone, '--confirm', gone])).toContain(`Ending the share of ${gone}/files with ${app}`);
    expect(await volumes()).not.toContain(`skiff-${gone}_files`);
    expect(JSON.parse(await ssh(['storage', app, '--json']))).not.toContainEqual(expect.objectContaining({ from: gone }));
  });
});
