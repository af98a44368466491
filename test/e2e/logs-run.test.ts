import fs from 'node:fs';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SkiffServer, fixtureRepo, makeKey, removeDockerLeftovers, tempDir, uniqueApp, waitFor } from '../helpers/skiff.js';

const oneOffs = async (app: string): Promise<string[]> =>
  (await execa('docker', ['ps', '-aq', '--filter', `label=skiff.app=${app}`, '--filter', 'label=skiff.process=run'])).stdout.split('\n').filter(Boolean);

/** logs and run, over the real ssh, against a deployed app that talks. */
describe('logs and one-off runs', () => {
  let server: SkiffServer;
  let key: string;
  const app = uniqueApp('chat');

  beforeAll(async () => {
    server = await SkiffServer.start();
    key = await makeKey(tempDir('keys'), 'admin');
    await server.cli(['keys:add', 'alice', '--admin'], fs.readFileSync(`${key}.pub`, 'utf8'));
    await server.ssh(key, ['apps:create', app]);
    await server.ssh(key, ['config:set', app, 'GREETING=hi']);
    const push = await server.git(key, await fixtureRepo('dockerfile-chatty'), ['push', server.remote(app), 'main']);
    expect(push.exitCode, push.stderr).toBe(0);
  });

  afterAll(async () => {
    await server?.cleanup();
    await removeDockerLeftovers([app]);
  });

  it('shows recent output of stdout and stderr, with time and process, limited by -n and -p', async () => {
    await waitFor(async () => (await server.ssh(key, ['logs', app])).stdout.includes('tick 2'), 10_000, 'two ticks');
    const logs = await server.ssh(key, ['logs', app]);
    expect(logs.exitCode, logs.stderr).toBe(0);
    const lines = logs.stdout.split('\n');
    expect(lines).toContainEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z app\[web\.1\]: started with GREETING=hi$/));
    expect(lines).toContainEqual(expect.stringMatching(/app\[web\.1\]: to stderr$/));
    const two = await server.ssh(key, ['logs', app, '-n', '2']);
    expect(two.stdout.split('\n')).toHaveLength(2);
    expect((await server.ssh(key, ['logs', app, '-p', 'worker'])).stdout).toBe('');
    const bad = await server.ssh(key, ['logs', app, '-n', 'lots']);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toBe(' !     -n takes a whole number from 1 to 10000');
  });

  it('follows with -t: shows a line printed after the command started, and stops when the client goes', async () => {
    const before = await server.ssh(key, ['logs', app, '-n', '1']);
    const last = Number(/tick (\d+)/.exec(before.stdout)?.[1]);
    const [cmd, ...base] = server.sshCommand(key);
    const tail = execa(cmd, [...base, '-p', String(server.port), 'git@127.0.0.1', 'logs', app, '-t', '-n', '1'], { reject: false, buffer: false });
    let seen = '';
    tail.stdout?.on('data', (d: Buffer) => (seen += d.toString()));
    await waitFor(() => [...seen.matchAll(/tick (\d+)/g)].some((m) => Number(m[1]) > last + 1), 10_000, 'a new tick');
    expect(seen.match(/tick \d+\n/g)?.length).toBe(new Set(seen.match(/tick \d+\n/g)).size);
    tail.kill('SIGKILL');
    await tail;
    // The server is none the worse: the next command answers at once.
    expect((await server.ssh(key, ['apps:list'])).exitCode).toBe(0);
  });

  it('runs a one-off command with the app config and returns its exit status', async () => {
    const exit = await server.ssh(key, ['run', app, '--', 'sh', '-c', "'echo $GREETING on $PORT; echo oops >&2; exit 3'"]);
    expect(exit.exitCode).toBe(3);
    expect(exit.stdout).toBe('hi on 5000');
    expect(exit.stderr).toBe('oops');
    const piped = await server.ssh(key, ['run', app, 'cat'], { input: 'line one\nline two\n' });
    expect(piped.exitCode).toBe(0);
    expect(piped.stdout).toBe('line one\nline two');
    const viaHost = await server.cli(['run', app, '--', 'sh', '-c', 'echo host; exit 4']);
    expect(viaHost.exitCode).toBe(4);
    expect(viaHost.stdout).toBe('host');
    expect(await oneOffs(app)).toEqual([]);
  });

  it('gives the command a terminal when the client asks for one', async () => {
    const [cmd, ...base] = server.sshCommand(key);
    const r = await execa(cmd, [...base, '-tt', '-p', String(server.port), 'git@127.0.0.1', `run ${app} -- sh -c 'tty; exit 6'`], { reject: false, input: '' });
    expect(r.exitCode).toBe(6);
    expect(r.stdout).toMatch(/^\/dev\/pts\/\d+/);
  });

  it('removes the one-off container when the client disconnects', async () => {
    const [cmd, ...base] = server.sshCommand(key);
    const run = execa(cmd, [...base, '-p', String(server.port), 'git@127.0.0.1', 'run', app, '--', 'sleep', '300'], { reject: false });
    await waitFor(async () => (await oneOffs(app)).length === 1, 10_000, 'the one-off to start');
    run.kill('SIGKILL');
    await run;
    await waitFor(async () => (await oneOffs(app)).length === 0, 10_000, 'the one-off to be removed');
  });

  it('refuses run without a command, or for an app with no release', async () => {
    const none = await server.ssh(key, ['run', app]);
    expect(none.exitCode).toBe(1);
    expect(none.stderr).toBe(' !     usage: run APP [--] COMMAND [ARGS...]');
    await server.ssh(key, ['apps:create', `${app}-empty`]);
    const empty = await server.ssh(key, ['run', `${app}-empty`, 'true']);
    expect(empty.stderr).toBe(` !     ${app}-empty has no release yet; push to deploy first`);
  });
});
