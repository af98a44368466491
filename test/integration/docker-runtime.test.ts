import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ImageOwner } from '../../src/builder/builder.js';
import { DockerfileBuilder } from '../../src/builder/dockerfile-builder.js';
import { createDocker } from '../../src/docker/client.js';
import { Engine } from '../../src/docker/engine.js';
import { silentLogger } from '../../src/log.js';
import { Progress } from '../../src/output/progress.js';
import { DockerRuntime } from '../../src/runtime/docker-runtime.js';
import { FIXTURE_APPS, httpGet, removeDockerLeftovers, tempDir, uniqueApp } from '../helpers/skiff.js';
import { PassThrough } from 'node:stream';

/** Build, run and replace through dockerode against the real engine. */
describe('DockerfileBuilder and DockerRuntime', () => {
  // The adapters get the engine's typed clients; the test looks at what they did with dockerode itself.
  const docker = createDocker();
  const engine = new Engine(docker);
  const builder = new DockerfileBuilder(engine);
  const runtime = new DockerRuntime(engine, { stopTimeoutSeconds: 1 }, silentLogger);
  const web = (release: number, image: string, env: Record<string, string> = {}) =>
    ({ app, release, process: 'web', index: 1, image, command: null, env, port: 5000, memory: null, cpus: null, pids: 256 }) as const;
  const app = uniqueApp('rt');
  // This test builds only on the shared base image: no app of another tenant.
  const access = { mayUse: (owner: ImageOwner) => owner.app === app, registryPrefix: undefined };
  const bounds = { appId: 'integration-app-id', limits: { memoryBytes: 512 * 1024 * 1024, cpus: 1, pids: 256 } };
  const signal = new AbortController().signal;

  function progress(): { progress: Progress; text: () => string } {
    const sink = new PassThrough();
    let out = '';
    sink.on('data', (d: Buffer) => (out += d.toString()));
    return { progress: new Progress([sink]), text: () => out };
  }

  function appDir(fixture: string, body?: string): string {
    const dir = tempDir(fixture);
    fs.cpSync(path.join(FIXTURE_APPS, fixture), dir, { recursive: true });
    if (body) fs.writeFileSync(path.join(dir, 'index.html'), body);
    return dir;
  }

  afterAll(() => removeDockerLeftovers([app]));

  it('builds with the layer cache, labels the image, and streams the output', async () => {
    const dir = appDir('dockerfile-hello', 'one\n');
    const first = progress();
    const image = await builder.build({ app, ...bounds, access, buildId: 1, dir, stack: null, tag: `skiff/${app}:build-1`, progress: first.progress, signal });
    expect(first.text()).toMatch(/Step \d\/\d : COPY index.html/);
    const labels = (await docker.getImage(image.tag).inspect()).Config.Labels;
    expect(labels['skiff.app']).toBe(app);

    const again = progress();
    const second = await builder.build({ app, ...bounds, access, buildId: 2, dir, stack: null, tag: `skiff/${app}:build-2`, progress: again.progress, signal });
    expect(again.text()).toContain('Using cache');
    expect(second.id).toBe(image.id);
  });

  it('fails a build with the engine message', async () => {
    const { progress: p, text } = progress();
    await expect(
      builder.build({ app, ...bounds, access, buildId: 3, dir: appDir('dockerfile-broken'), stack: null, tag: `skiff/${app}:build-3`, progress: p, signal }),
    ).rejects.toThrow(/docker build failed: .*non-zero code: 3/);
    expect(text()).toContain('about to fail');
  });

  it('starts a release, waits until it answers, then retires the old one', async () => {
    const v1 = await builder.build({
      app,
      ...bounds,
      access,
      buildId: 4,
      dir: appDir('dockerfile-hello', 'v1\n'),
      stack: null,
      tag: `skiff/${app}:v1`,
      progress: progress().progress,
      signal,
    });
    const one = await runtime.start(
      { ...web(1, v1.tag, { GREETING: 'hi there' }), memory: 64 * 1024 ** 2, cpus: 0.5 },
      { readyTimeoutMs: 20_000, progress: progress().progress, signal },
    );
    expect(await httpGet(`http://127.0.0.1:${one.hostPort}/`)).toEqual({ status: 200, body: 'v1\n' });
    const inspected = await docker.getContainer(one.id).inspect();
    expect(inspected.Config.Env).toEqual(expect.arrayContaining(['GREETING=hi there', 'PORT=5000']));
    expect(inspected.HostConfig).toMatchObject({ Memory: 64 * 1024 ** 2, NanoCpus: 5e8 });
    expect(inspected.HostConfig.PortBindings['5000/tcp'][0].HostIp).toBe('127.0.0.1');

    const v2 = await builder.build({
      app,
      ...bounds,
      access,
      buildId: 5,
      dir: appDir('dockerfile-hello', 'v2\n'),
      stack: null,
      tag: `skiff/${app}:v2`,
      progress: progress().progress,
      signal,
    });
    const two = await runtime.start(web(2, v2.tag), { readyTimeoutMs: 20_000, progress: progress().progress, signal });
    // Both serve until the switch.
    expect((await httpGet(`http://127.0.0.1:${one.hostPort}/`)).body).toBe('v1\n');
    expect((await httpGet(`http://127.0.0.1:${two.hostPort}/`)).body).toBe('v2\n');
    await runtime.stop([one]);
    expect((await runtime.status(app)).map((i) => [i.release, i.state, i.hostPort])).toEqual([[2, 'running', two.hostPort]]);

    // Docker's restart policy brings a crashed process back (a crash, not `docker kill`, which counts as a stop).
    const { State } = await docker.getContainer(two.id).inspect();
    process.kill(State.Pid, 'SIGKILL');
    let state = '';
    for (let i = 0; i < 50 && state !== 'running'; i++) {
      await new Promise((r) => setTimeout(r, 200));
      state = (await runtime.status(app))[0]?.state ?? '';
    }
    expect(state).toBe('running');
    let body = '';
    for (let i = 0; i < 50 && body !== 'v2\n'; i++) {
      body = await httpGet(`http://127.0.0.1:${two.hostPort}/`).then(
        (r) => r.body,
        () => '',
      );
      if (body !== 'v2\n') await new Promise((r) => setTimeout(r, 200));
    }
    expect(body).toBe('v2\n');
  });

  it('removes a release that never answers and says why, leaving the serving one alone', async () => {
    const image = await builder.build({
      app,
      ...bounds,
      access,
      buildId: 6,
      dir: appDir('dockerfile-crashes'),
      stack: null,
      tag: `skiff/${app}:v3`,
      progress: progress().progress,
      signal,
    });
    const { progress: p, text } = progress();
    await expect(runtime.start(web(3, image.tag), { readyTimeoutMs: 20_000, progress: p, signal })).rejects.toThrow(
      /exited with status 4 before it answered HTTP/,
    );
    expect(text()).toContain('crashing on purpose');
    expect((await runtime.status(app)).map((i) => i.release)).toEqual([2]);
  });

  it('runs a process without a port with its Procfile command, and numbers instances', async () => {
    const worker = await runtime.start(
      {
        app,
        release: 2,
        process: 'worker',
        index: 2,
        image: `skiff/${app}:v2`,
        command: 'echo working on $GREETING; sleep 600',
        env: { GREETING: 'jobs' },
        port: null,
        memory: null,
        cpus: null,
        pids: 256,
      },
      { readyTimeoutMs: 5000, progress: progress().progress, signal },
    );
    expect(worker).toMatchObject({ process: 'worker', index: 2, hostPort: undefined });
    const inspected = await docker.getContainer(worker.id).inspect();
    expect(inspected.Config.Cmd).toEqual(['sh', '-c', 'echo working on $GREETING; sleep 600']);
    expect(inspected.Config.Env).not.toContainEqual(expect.stringMatching(/^PORT=/));
    const lines: string[] = [];
    await runtime.logs(app, { tail: 10, process: 'worker', follow: false, signal }, (l) => lines.push(`${l.source} ${l.text}`));
    expect(lines).toEqual(['worker.2 working on jobs']);
    await runtime.stop([worker]);
  });

  it('leaves no one-off running when it is stopped before the engine has created it', async () => {
    // A replaced scheduled run: stopped while its container was being created.
    const stopped = new AbortController();
    const creating = runtime.run(
      { app, release: 2, image: 'skiff-test/base:bookworm', env: {}, command: ['sleep', '600'], memory: null, cpus: null, pids: 64, cronRun: 9 },
      { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough(), signal: stopped.signal },
    );
    stopped.abort();
    expect(await creating).toBe(255);
    expect(await docker.listContainers({ all: true, filters: { label: [`skiff.app=${app}`, 'skiff.cron-run=9'] } })).toEqual([]);
  });

  it.each([
    ['a one-off', {}],
    ['a kept one-off (predeploy)', { keepAs: `skiff/${app}:v3` }],
  ])('leaves no container once %s stopped while running has returned', async (_kind, keep) => {
    const stopped = new AbortController();
    const out = new PassThrough();
    const started = new Promise<void>((resolve) => out.once('data', () => resolve()));
    const running = runtime.run(
      {
        app,
        release: 3,
        image: 'skiff-test/base:bookworm',
        env: {},
        command: ['sh', '-c', 'trap "" TERM; echo up; while true; do sleep 1; done'],
        memory: null,
        cpus: null,
        pids: 64,
        ...keep,
      },
      { stdin: new PassThrough(), stdout: out, stderr: new PassThrough(), signal: stopped.signal },
    );
    await started;
    stopped.abort();
    expect(await running).not.toBe(0);
    // Gone when run returns, not on its way out: the abort's removal and the run's own are one.
    expect(await docker.listContainers({ all: true, filters: { label: [`skiff.app=${app}`, 'skiff.release=3'] } })).toEqual([]);
  });

  it('gives up on a release that stays silent past the timeout', async () => {
    const dir = tempDir('silent');
    fs.writeFileSync(path.join(dir, 'Dockerfile'), 'FROM skiff-test/base:bookworm\nCMD ["sleep", "600"]\n');
    const image = await builder.build({ app, ...bounds, access, buildId: 7, dir, stack: null, tag: `skiff/${app}:v4`, progress: progress().progress, signal });
    await expect(runtime.start(web(4, image.tag), { readyTimeoutMs: 1500, progress: progress().progress, signal })).rejects.toThrow(
      /did not answer HTTP on its PORT within 2s/,
    );
    expect((await runtime.status(app)).map((i) => i.release)).toEqual([2]);
  });
});
