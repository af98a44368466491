import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SkiffServer, commitAll, fixtureRepo, httpGet, makeKey, removeDockerLeftovers, tempDir, uniqueApp } from '../helpers/skiff.js';

// web takes an exclusive lock on a file in the volume and gives up at once if
// another container holds it (and says so in the volume); the release phase
// counts releases in the volume, and web serves the count it found.
const PROCFILE = [
  `web: cp /db/count /www/count 2>/dev/null; exec flock -n /db/lock sh -c 'exec busybox httpd -f -p "$PORT" -h /www' || { echo contended >> /db/contended; exit 1; }`,
  `release: echo $(( $(cat /db/count 2>/dev/null || echo 0) + 1 )) > /db/count`,
].join('\n');

/** A single-writer volume under load: never two containers with it, no request lost, no write lost. */
describe('single-writer storage', () => {
  let server: SkiffServer;
  let key: string;
  const app = uniqueApp('sw');
  const other = uniqueApp('sw-other');
  let repo: string;
  let url: string;

  const ssh = (args: string[]): Promise<string> => server.sshOk(key, args);
  const inVolume = async (file: string): Promise<string> =>
    (await server.ssh(key, ['run', app, 'sh', '-c', `'cat /db/${file} 2>/dev/null || echo none'`])).stdout.trim();

  beforeAll(async () => {
    server = await SkiffServer.start({ SKIFF_DRAIN_SECONDS: '0', SKIFF_HOLD_SECONDS: '30' });
    key = await makeKey(tempDir('keys'), 'admin');
    await server.cli(['keys:add', 'alice', '--admin'], fs.readFileSync(`${key}.pub`, 'utf8'));
    repo = await fixtureRepo('dockerfile-hello', (d) => fs.writeFileSync(path.join(d, 'Procfile'), PROCFILE));
    expect((await server.ssh(key, ['apps:create', app])).exitCode).toBe(0);
    expect((await server.ssh(key, ['apps:create', other])).exitCode).toBe(0);
    await ssh(['storage:mount', app, 'db:/db', '--single-writer']);
    const push = await server.git(key, repo, ['push', server.remote(app), 'main']);
    expect(push.exitCode, push.stderr).toBe(0);
    url = JSON.parse(await ssh(['apps:info', app, '--json'])).url as string;
  });

  afterAll(async () => {
    await server?.cleanup();
    await removeDockerLeftovers([app, other]);
    await execa('docker', ['volume', 'rm', '-f', `skiff-${app}_db`], { reject: false });
  });

  it('loses no request through five redeploys, never has two holders of the lock, and keeps every write', async () => {
    expect((await httpGet(`${url}count`)).body.trim()).toBe('1');
    // A bounded stream of requests: four clients, until the deploys are done (at most 3 minutes, 20 000 requests).
    let done = false;
    const results = { ok: 0, failed: [] as string[] };
    const deadline = Date.now() + 180_000;
    const client = async (): Promise<void> => {
      while (!done && Date.now() < deadline && results.ok + results.failed.length < 20_000) {
        try {
          const r = await httpGet(`${url}count`, 60_000);
          if (r.status === 200) results.ok++;
          else results.failed.push(`${r.status} ${r.body.trim()}`);
        } catch (err) {
          results.failed.push((err as Error).message);
        }
      }
    };
    const clients = Promise.all([client(), client(), client(), client()]);
    // Another app's routes change all the while: each change reloads the router, which must not end a hold.
    let reloads = 0;
    const churn = (async () => {
      while (!done && Date.now() < deadline && reloads < 400) {
        await ssh(['domains:add', other, `d${reloads}.${other}.localhost`]);
        await ssh(['domains:remove', other, `d${reloads}.${other}.localhost`]);
        reloads++;
      }
    })();
    const holds: string[] = [];
    try {
      for (let i = 0; i < 5; i++) {
        fs.writeFileSync(path.join(repo, 'index.html'), `v${i + 2}\n`);
        await commitAll(repo, `v${i + 2}`);
        const push = await server.git(key, repo, ['push', server.remote(app), 'main']);
        expect(push.exitCode, push.stderr).toBe(0);
        expect(push.stderr).toContain('Holding requests');
        holds.push(/Held requests for ([\d.]+)s/.exec(push.stderr)?.[1] ?? '?');
      }
    } finally {
      done = true;
      await clients;
      await churn;
    }
    expect(results.failed, JSON.stringify(results.failed)).toEqual([]);
    expect(reloads).toBeGreaterThan(10);
    expect(results.ok).toBeGreaterThan(50);
    expect(holds.every((h) => Number(h) < 30)).toBe(true);
    expect(await inVolume('contended')).toBe('none');
    expect((await httpGet(`${url}count`)).body.trim()).toBe('6');
    expect((await httpGet(url)).body).toBe('v6\n');

    expect(await ssh(['rollback', app])).toContain('Holding requests');
    expect((await httpGet(`${url}count`)).body.trim()).toBe('7');
    expect((await httpGet(url)).body).toBe('v5\n');
    expect(await inVolume('contended')).toBe('none');
  });

  it('keeps web at one instance, and lists the volume as single-writer', async () => {
    const scale = await server.ssh(key, ['ps:scale', app, 'web=2']);
    expect(scale.exitCode).toBe(1);
    expect(scale.stderr).toContain('single-writer volume: it runs one instance at most');
    expect(JSON.parse(await ssh(['storage', app, '--json']))).toEqual([
      { name: 'db', path: '/db', mode: 'single-writer', bytes: expect.anything(), from: null, sharedWith: [], node: null },
    ]);
  });

  it('starts the serving release again when the new one fails during the hold, and the push is rejected', async () => {
    fs.writeFileSync(path.join(repo, 'Procfile'), PROCFILE.replace('web: ', 'web: echo broken; exit 3; '));
    await commitAll(repo, 'broken');
    const push = await server.git(key, repo, ['push', server.remote(app), 'main']);
    expect(push.exitCode).not.toBe(0);
    expect(push.stderr).toContain('Starting v');
    expect((await httpGet(url)).body).toBe('v5\n');
    expect(await inVolume('contended')).toBe('none');
  });
});
