import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SkiffServer, commitAll, fixtureRepo, httpGet, httpRequest, makeKey, removeDockerLeftovers, tempDir, uniqueApp, waitFor } from '../helpers/skiff.js';

/** ps:pause over the real ssh, router and engine: requests wait, then all of them are answered. */
describe('ps:pause and ps:resume', () => {
  let server: SkiffServer;
  let key: string;
  const app = uniqueApp('pause');
  let repo: string;
  let url: string;

  const ssh = (args: string[]): Promise<string> => server.sshOk(key, args);
  const paused = async (): Promise<string | null> => JSON.parse(await ssh(['apps:info', app, '--json'])).paused as string | null;

  beforeAll(async () => {
    server = await SkiffServer.start({ SKIFF_DRAIN_SECONDS: '0' });
    key = await makeKey(tempDir('keys'), 'admin');
    await server.cli(['keys:add', 'alice', '--admin'], fs.readFileSync(`${key}.pub`, 'utf8'));
    repo = await fixtureRepo('dockerfile-hello');
    expect((await server.git(key, repo, ['push', server.remote(app), 'main'])).exitCode).toBe(0);
    url = `http://${app}.localhost:${server.routerPort}/`;
  });

  afterAll(async () => {
    await server?.cleanup();
    await removeDockerLeftovers([app]);
  });

  it('holds 500 requests sent during a 5-second pause, and answers every one after ps:resume', async () => {
    expect(await ssh(['ps:pause', app, '--max', '120'])).toContain(`${app} is paused until`);
    expect(await paused()).not.toBeNull();
    const started = Date.now();
    // 500 requests, 100 every 0.8 s; HEAD and GET, none answered while paused.
    // Each answer as `status` or the error, with the request's number, method and when it ended.
    const answers: Promise<string>[] = [];
    let early = 0;
    for (let wave = 0; wave < 5; wave++) {
      for (let i = 0; i < 100; i++) {
        const method = i % 2 ? 'GET' : 'HEAD';
        const n = wave * 100 + i;
        const r = httpRequest(url, method, undefined, 60_000).then(
          (x) => (x.status === 200 ? 'ok' : `${n} ${method} ${x.status} at ${Date.now() - started} ms`),
          (err: Error) => `${n} ${method} ${err.message} at ${Date.now() - started} ms`,
        );
        void r.then(() => Date.now() - started < 5000 && early++);
        answers.push(r);
      }
      await new Promise((r) => setTimeout(r, 800));
    }
    await new Promise((r) => setTimeout(r, Math.max(0, 5000 - (Date.now() - started))));
    expect(early).toBe(0);
    expect(await ssh(['ps:resume', app])).toContain('resumed');
    const results = await Promise.all(answers);
    expect(results.filter((r) => r !== 'ok')).toEqual([]);
    expect(results).toHaveLength(500);
    expect(await paused()).toBeNull();
    expect((await httpGet(url)).status).toBe(200);
  });

  it('lets a request held past --max proceed, by itself, with an event', async () => {
    await ssh(['ps:pause', app, '--max', '2']);
    const started = Date.now();
    const answer = await httpGet(url, 30_000);
    expect(answer.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(await paused()).toBeNull();
    // The event comes once the hold has ended, a moment after the requests went.
    await waitFor(
      async () =>
        (JSON.parse(await ssh(['events', app, '--json'])) as { action: string; user: string }[]).some((e) => e.action === 'ps:resume' && e.user === 'skiff'),
      10_000,
      'an event of the server resuming the pause',
    );
  });

  it('keeps holding through a deploy and a restart of the server, and the requests reach the new release', async () => {
    await ssh(['ps:pause', app, '--max', '300']);
    const held = httpGet(url, 120_000);
    fs.writeFileSync(path.join(repo, 'index.html'), 'after the pause\n');
    await commitAll(repo, 'new');
    const push = await server.git(key, repo, ['push', server.remote(app), 'main']);
    expect(push.exitCode, push.stderr).toBe(0);
    await server.stop();
    await server.launch();
    expect(await paused()).not.toBeNull();
    const again = await server.ssh(key, ['ps:pause', app]);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain(`${app} is paused already`);
    await ssh(['ps:resume', app]);
    expect(await held).toEqual({ status: 200, body: 'after the pause\n' });
    const resumeAgain = await server.ssh(key, ['ps:resume', app]);
    expect(resumeAgain.exitCode).toBe(1);
    expect(resumeAgain.stderr).toContain(`${app} is not paused`);
  });
});
