import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pebble, httpsGet, makeCertificate } from '../helpers/pebble.js';
import { SkiffServer, fixtureRepo, makeKey, removeDockerLeftovers, tempDir, uniqueApp, waitFor } from '../helpers/skiff.js';

/** HTTPS by default, with pebble as the ACME CA: real HTTP-01 validation against the router, all on loopback. */
describe('HTTPS with automatic certificates', () => {
  let pebble: Pebble;
  let server: SkiffServer;
  let key: string;
  let tlsPort: number;
  let routerPort: number;
  let root: string;
  const app = uniqueApp('tls');
  const host = (): string => `${app}.skiff.test`;
  const custom = (): string => `www.${app}.test`;

  beforeAll(async () => {
    let env: Record<string, string>;
    ({ pebble, routerPort, tlsPort, env } = await Pebble.forSkiff());
    server = await SkiffServer.start({
      ...env,
      // The test's webhook listens on loopback.
      SKIFF_HOOKS_ALLOW: '127.0.0.0/8',
      SKIFF_GIT_HOST: 'git.skiff.test',
    });
    key = await makeKey(tempDir('keys'), 'admin');
    await server.cli(['keys:add', 'alice', '--admin'], fs.readFileSync(`${key}.pub`, 'utf8'));
    const push = await server.git(key, await fixtureRepo('dockerfile-hello'), ['push', server.remote(app), 'main']);
    expect(push.exitCode, push.stderr).toBe(0);
    expect(push.stderr).toContain(`Released v1: https://${host()}:${tlsPort}/`);
    expect((await server.ssh(key, ['domains:add', app, custom()])).exitCode).toBe(0);
    root = await pebble.issuingRoot();
  }, 240_000);

  afterAll(async () => {
    await server?.cleanup();
    pebble?.stop();
    await removeDockerLeftovers([app]);
  });

  it('serves the app host and a domains:add host over HTTPS with certificates from the CA', async () => {
    for (const name of [host(), custom()]) {
      let last: unknown;
      await waitFor(
        async () => {
          try {
            const r = await httpsGet(tlsPort, name, root);
            last = r;
            return r.status === 200;
          } catch (err) {
            last = err;
            return false;
          }
        },
        90_000,
        () => `HTTPS for ${name}: ${String(last)}\n${pebble.output().slice(-2000)}`,
      );
      const answer = await httpsGet(tlsPort, name, root);
      expect(answer.body).toContain('hello');
      expect(answer.issuer).toMatch(/Pebble/i);
    }
  });

  it('serves git over HTTPS at SKIFF_GIT_HOST, with a certificate of its own, to the real git client', async () => {
    await waitFor(
      async () => (await httpsGet(tlsPort, 'git.skiff.test', root, '/x.git/info/refs?service=git-upload-pack').catch(() => ({ status: 0 }))).status === 401,
      60_000,
      'the git door at git.skiff.test',
    );
    const made = await server.ssh(key, ['tokens:create', '--name', 'laptop']);
    expect(made.exitCode, made.stderr).toBe(0);
    const token = /^(skf_\S+)$/m.exec(made.stdout)![1];
    expect(made.stdout).toContain(`git remote add paas https://alice:TOKEN@git.skiff.test:${tlsPort}/APP.git`);
    const rootFile = path.join(tempDir('root'), 'root.pem');
    fs.writeFileSync(rootFile, root);
    const repo = await fixtureRepo('dockerfile-hello', (d) => fs.writeFileSync(path.join(d, 'index.html'), 'over https\n'));
    const push = await execa(
      'git',
      [
        '-c',
        `http.curloptResolve=git.skiff.test:${tlsPort}:127.0.0.1`,
        '-c',
        'credential.helper=',
        'push',
        `https://alice:${token}@git.skiff.test:${tlsPort}/${app}.git`,
        'main',
        '--force',
      ],
      { cwd: repo, reject: false, env: { GIT_TERMINAL_PROMPT: '0', GIT_SSL_CAINFO: rootFile } },
    );
    expect(push.exitCode, push.stderr).toBe(0);
    expect(push.stderr).toContain('Released v2');
    expect((await httpsGet(tlsPort, host(), root)).body).toBe('over https\n');
    const taken = await server.ssh(key, ['domains:add', app, 'git.skiff.test']);
    expect(taken.exitCode).toBe(1);
    expect(taken.stderr).toContain("git.skiff.test is the server's own");
  });

  it('redirects plain HTTP to HTTPS, on the port Skiff serves it on', async () => {
    const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
      http.get({ host: '127.0.0.1', port: routerPort, path: '/orders?x=1', headers: { host: host() }, agent: false }, resolve).on('error', reject),
    );
    res.resume();
    expect(res.statusCode).toBe(308);
    expect(res.headers.location).toBe(`https://${host()}:${tlsPort}/orders?x=1`);
  });

  it('gets no certificate for a host not in its table', async () => {
    await expect(httpsGet(tlsPort, `evil.skiff.test`, root)).rejects.toThrow();
    const certificates = path.join(server.home, 'caddy', 'data', 'caddy', 'certificates');
    const names = fs.readdirSync(certificates).flatMap((issuer) => fs.readdirSync(path.join(certificates, issuer)));
    expect(names.sort()).toEqual([host(), custom(), 'git.skiff.test'].sort());
  });

  it('serves a custom certificate for the hosts it names; refuses a bad one in one line, changing nothing; goes back to automatic on certs:remove', async () => {
    const dir = tempDir('certs');
    const ca = await makeCertificate(dir, 'Custom Root', { names: [] });
    const good = await makeCertificate(dir, 'good', { names: [custom()], ca });
    const read = (f: string): string => fs.readFileSync(f, 'utf8');
    const caPem = read(ca.cert);
    const add = (input: string) => server.ssh(key, ['certs:add', app], { input });
    const added = await add(read(good.cert) + read(ca.cert) + read(good.key));
    expect(added.exitCode, added.stderr).toBe(0);
    expect(added.stdout).toContain(`${app} serves ${custom()} with the certificate by Custom Root`);
    await waitFor(
      async () => (await httpsGet(tlsPort, custom(), caPem).catch(() => ({ issuer: '' }))).issuer === 'Custom Root',
      10_000,
      'the custom certificate',
    );
    // The app's own host keeps its automatic certificate.
    expect((await httpsGet(tlsPort, host(), root)).issuer).toMatch(/Pebble/i);
    const states = JSON.parse((await server.ssh(key, ['certs', app, '--json'])).stdout) as { host: string; source: string; issuer: string }[];
    expect(states).toEqual([
      expect.objectContaining({ host: host(), source: 'automatic', issuer: expect.stringMatching(/Pebble/i) }),
      expect.objectContaining({ host: custom(), source: 'custom', issuer: 'Custom Root' }),
    ]);
    expect((await server.ssh(key, ['domains', app])).stdout).toContain(`custom, Custom Root, until`);

    const other = await makeCertificate(dir, 'other', { names: [custom()], ca });
    const expired = await makeCertificate(dir, 'expired', { names: [custom()], ca, days: -1 });
    const strange = await makeCertificate(dir, 'strange', { names: ['bank.skiff.test'], ca });
    const otherCa = await makeCertificate(dir, 'Other Root', { names: [] });
    for (const [input, says] of [
      [read(good.cert) + read(other.key), 'the private key does not match the certificate'],
      [read(expired.cert) + read(expired.key), 'the certificate expired on'],
      [read(good.cert) + read(otherCa.cert) + read(good.key), 'the chain is broken'],
      [read(strange.cert) + read(strange.key), `the certificate names bank.skiff.test, which is not a host of ${app}`],
    ]) {
      const r = await add(input);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain(says);
    }
    expect((await httpsGet(tlsPort, custom(), caPem)).issuer).toBe('Custom Root');

    const removed = await server.ssh(key, ['certs:remove', app, custom()]);
    expect(removed.exitCode, removed.stderr).toBe(0);
    await waitFor(
      async () => (await httpsGet(tlsPort, custom(), root).catch(() => ({ issuer: '' }))).issuer.toLowerCase().includes('pebble'),
      60_000,
      'the automatic certificate again',
    );
  });

  it('validates each of ten domains added one after another once: route changes leave certificate work in progress alone', async () => {
    const hosts = Array.from({ length: 10 }, (_, i) => `d${i}.${app}.test`);
    for (const h of hosts) expect((await server.ssh(key, ['domains:add', app, h])).exitCode).toBe(0);
    let states: { host: string; source: string }[] = [];
    await waitFor(
      async () => {
        states = JSON.parse((await server.ssh(key, ['certs', app, '--json'])).stdout);
        return hosts.every((h) => states.find((s) => s.host === h)?.source === 'automatic');
      },
      120_000,
      () => `certificates for the ten: ${JSON.stringify(states)}`,
    );
    // The CA's count: one validation task per host, although each domains:add reloaded the router while the earlier ones were under way.
    const tasks = (h: string): number =>
      pebble
        .output()
        .split('\n')
        .filter((l) => l.includes('Pulled a task') && l.includes(`Value:"${h}"`)).length;
    expect(Object.fromEntries(hosts.map((h) => [h, tasks(h)]))).toEqual(Object.fromEntries(hosts.map((h) => [h, 1])));
  });

  it('says why a host has no certificate yet, in certs, doctor and the events', async () => {
    // The CA's DNS sends it elsewhere on loopback, where nothing answers: validation fails, in the CA's words.
    const failing = `down.${app}.test`;
    const notices: Record<string, unknown>[] = [];
    const hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        notices.push(JSON.parse(body) as Record<string, unknown>);
        res.end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    expect((await server.ssh(key, ['hooks:add', app, `http://127.0.0.1:${(hook.address() as import('node:net').AddressInfo).port}/hook`])).exitCode).toBe(0);
    await pebble.resolve(failing, '127.0.0.2');
    expect((await server.ssh(key, ['domains:add', app, failing])).exitCode).toBe(0);
    let states: { host: string; source: string; failure: { error: string } | null }[] = [];
    await waitFor(
      async () => {
        states = JSON.parse((await server.ssh(key, ['certs', app, '--json'])).stdout);
        return states.find((s) => s.host === failing)?.failure !== null && states.find((s) => s.host === failing) !== undefined;
      },
      90_000,
      () => `a failure for ${failing}: ${JSON.stringify(states)}`,
    );
    // The CA's problem and detail for the challenge it tried, not Caddy's summary of what is left to try.
    expect(states.find((s) => s.host === failing)).toMatchObject({
      source: 'none',
      failure: {
        // Caddy tries its challenges in a random order.
        error: expect.stringMatching(/^the CA could not validate it: (.*; )?http-01: urn:ietf:params:acme:error:connection: [^;]*connection refused/),
        challenges: expect.arrayContaining([expect.objectContaining({ type: 'http-01', problem: 'urn:ietf:params:acme:error:connection' })]),
      },
    });
    expect(JSON.stringify(states)).not.toContain('no solvers available');
    const human = await server.ssh(key, ['certs', app]);
    expect(human.stdout).toMatch(
      new RegExp(`${failing.replace(/\./g, '\\.')}.*no certificate yet: the CA could not validate it: .*http-01: urn:ietf:params:acme:error:connection`),
    );
    const doctor = await server.ssh(key, ['doctor']);
    expect(doctor.exitCode).toBe(1);
    expect(doctor.stdout + doctor.stderr).toContain(`${failing} (${app}): no certificate yet: the CA could not validate it: `);
    expect(doctor.stdout + doctor.stderr).toContain('http-01: urn:ietf:params:acme:error:connection');
    await waitFor(async () => (await server.ssh(key, ['events', app])).stdout.includes(`certs:obtain`), 15_000, 'an event of the failed certificate');
    await waitFor(
      () => notices.some((n) => n.event === 'certificate.failed' && n.host === failing),
      15_000,
      () => `a webhook notice: ${JSON.stringify(notices)}`,
    );
    expect(notices.find((n) => n.event === 'certificate.failed' && n.host === failing)).toMatchObject({
      error: expect.stringContaining('urn:ietf:params:acme:error:connection'),
      challenges: expect.arrayContaining([expect.objectContaining({ type: 'http-01' })]),
    });
    hook.close();
  });
});
