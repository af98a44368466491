import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pebble, httpsGet, makeCertificate } from '../helpers/pebble.js';
import { fixtureRepo, tempDir, waitFor } from '../helpers/skiff.js';
import { Tenants } from '../helpers/tenants.js';

/**
 * Attack: get the router to serve a certificate of mine for another
 * tenant's host (naming it, covering it with a wildcard, or leaving mine
 * behind on a domain they take next), touch their certificates, or read a
 * private key off the server's disk.
 */
describe('certificates keep to their app', () => {
  let t: Tenants;
  let pebble: Pebble;
  let theirs: string;
  let mine: string;
  let tlsPort: number;
  let dir: string;
  let ca: { cert: string; key: string };
  const read = (f: string): string => fs.readFileSync(f, 'utf8');
  const zone = (): string => `${theirs}.test`;

  beforeAll(async () => {
    let env: Record<string, string>;
    ({ pebble, tlsPort, env } = await Pebble.forSkiff());
    t = await Tenants.start(env);
    theirs = t.app('shop');
    mine = t.app('evil');
    const repo = await fixtureRepo('dockerfile-hello');
    expect((await t.push('victim', repo, theirs)).exitCode).toBe(0);
    expect((await t.push('mallory', repo, mine)).exitCode).toBe(0);
    expect((await t.ssh('victim', ['domains:add', theirs, `www.${zone()}`])).exitCode).toBe(0);
    dir = tempDir('certs');
    ca = await makeCertificate(dir, 'Mallory Root', { names: [] });
  }, 240_000);
  afterAll(async () => {
    await t?.cleanup();
    pebble?.stop();
  });

  it('refuses my certificate for their host, or a wildcard over it, and their certificate commands', async () => {
    const named = await makeCertificate(dir, 'named', { names: [`www.${zone()}`], ca });
    const wildcard = await makeCertificate(dir, 'wildcard', { names: [`*.${zone()}`], ca });
    for (const [cert, says] of [
      [named, `the certificate names www.${zone()}, which is not a host of ${mine}`],
      [wildcard, `the certificate names *.${zone()}, which covers www.${zone()}, a host of another app`],
    ] as const) {
      const r = await t.ssh('mallory', ['certs:add', mine], read(cert.cert) + read(cert.key));
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain(says);
    }
    for (const args of [
      ['certs', theirs],
      ['certs:add', theirs],
      ['certs:remove', theirs, `www.${zone()}`],
    ]) {
      const r = await t.ssh('mallory', args, read(named.cert) + read(named.key));
      expect(r.exitCode, args.join(' ')).toBe(1);
      expect(r.stderr).toBe(' !     access denied');
    }
  });

  it('does not serve my certificate for a domain I gave up and they took', async () => {
    const shared = `shared.${mine}.test`;
    expect((await t.ssh('mallory', ['domains:add', mine, shared])).exitCode).toBe(0);
    const left = await makeCertificate(dir, 'left', { names: [shared], ca });
    expect((await t.ssh('mallory', ['certs:add', mine], read(left.cert) + read(left.key))).exitCode).toBe(0);
    const caPem = read(ca.cert);
    await waitFor(
      async () => (await httpsGet(tlsPort, shared, caPem).catch(() => ({ issuer: '' }))).issuer === 'Mallory Root',
      10_000,
      'mallory’s certificate served for his domain',
    );
    expect((await t.ssh('mallory', ['domains:remove', mine, shared])).exitCode).toBe(0);
    expect((await t.ssh('victim', ['domains:add', theirs, shared])).exitCode).toBe(0);
    const root = await pebble.issuingRoot();
    await waitFor(
      async () => (await httpsGet(tlsPort, shared, root).catch(() => ({ issuer: '' }))).issuer.toLowerCase().includes('pebble'),
      60_000,
      'an automatic certificate for the domain they took',
    );
  });

  it('keeps private keys off the disk: sealed in the database, and out of the config file Caddy starts from', async () => {
    const own = await makeCertificate(dir, 'own', { names: [`www.${zone()}`], ca });
    expect((await t.ssh('victim', ['certs:add', theirs], read(own.cert) + read(own.key))).exitCode).toBe(0);
    const keyBody = read(own.key).split('\n')[1];
    expect(fs.readFileSync(path.join(t.server.home, 'skiff.db')).includes(keyBody)).toBe(false);
    // Caddy dies; the server's watchdog starts it again from its file, then loads the keys through the admin API.
    const pid = t.server.caddyPid();
    expect(pid).toBeDefined();
    process.kill(pid as number, 'SIGKILL');
    await waitFor(
      async () =>
        t.server.caddyPid() !== pid && (await httpsGet(tlsPort, `www.${zone()}`, read(ca.cert)).catch(() => ({ issuer: '' }))).issuer === 'Mallory Root',
      30_000,
      'the custom certificate after Caddy restarted',
    );
    const onDisk = fs.readFileSync(path.join(t.server.home, 'caddy', 'caddy.json'), 'utf8');
    expect(onDisk).not.toContain('PRIVATE KEY');
    expect(onDisk).toContain(`www.${zone()}`);
  });

  it("cannot spend the CA's limits, which every tenant shares: handshakes for my failing host begin no new attempt, and only the router may ask for one", async () => {
    const failing = `down.${mine}.test`;
    await pebble.resolve(failing, '127.0.0.2');
    expect((await t.ssh('mallory', ['domains:add', mine, failing])).exitCode).toBe(0);
    const tasks = (): number =>
      pebble
        .output()
        .split('\n')
        .filter((l) => l.includes('Pulled a task') && l.includes(`Value:"${failing}"`)).length;
    await waitFor(
      async () =>
        JSON.parse((await t.ssh('mallory', ['certs', mine, '--json'])).stdout).some((c: { host: string; failure: unknown }) => c.host === failing && c.failure),
      60_000,
      'the first attempt to fail',
    );
    const before = tasks();
    // A flood of handshakes for the host, as any client on the internet could make.
    const root = await pebble.issuingRoot();
    await Promise.all(Array.from({ length: 20 }, () => httpsGet(tlsPort, failing, root).catch(() => null)));
    await new Promise((r) => setTimeout(r, 3000));
    expect(tasks()).toBe(before);
    // The URL Caddy asks is the server's alone: on loopback, under a path kept in a file only root reads; without that path, no.
    const file = path.join(t.server.home, 'caddy', 'ask.url');
    expect(fs.statSync(file).mode & 0o077).toBe(0);
    const url = new URL(read(file).trim());
    expect(url.hostname).toBe('127.0.0.1');
    for (const guess of [`/?domain=${failing}`, `/certificate-ask?domain=${failing}`, `${url.pathname}x?domain=${failing}`]) {
      const status = await new Promise<number>((resolve, reject) =>
        http
          .get({ host: '127.0.0.1', port: url.port, path: guess, agent: false }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          })
          .on('error', reject),
      );
      expect(status, guess).toBe(403);
    }
  });
});
