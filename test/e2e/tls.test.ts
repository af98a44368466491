import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pebble } from '../helpers/pebble.js';
import { SkiffServer, fixtureRepo, freePort, makeKey, removeDockerLeftovers, tempDir, uniqueApp, waitFor } from '../helpers/skiff.js';

/** An HTTPS request to the router on loopback for HOST (its SNI and Host), trusting only CA. */
export function httpsGet(port: number, host: string, ca: string, urlPath = '/'): Promise<{ status: number; body: string; issuer: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, servername: host, path: urlPath, headers: { host }, ca, timeout: 5000, agent: false }, (res) => {
      let body = '';
      const issuer = String((res.socket as import('node:tls').TLSSocket).getPeerCertificate().issuer?.CN ?? '');
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, issuer }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

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
    routerPort = await freePort();
    tlsPort = await freePort();
    pebble = await Pebble.start({ http: routerPort, tls: tlsPort });
    server = await SkiffServer.start({
      SKIFF_DOMAIN: 'skiff.test',
      SKIFF_ROUTER_PORT: String(routerPort),
      SKIFF_ROUTER_TLS_PORT: String(tlsPort),
      SKIFF_ACME_EMAIL: 'ops@skiff.test',
      SKIFF_ACME_CA: pebble.directory,
      SKIFF_ACME_CA_ROOT: pebble.apiRoot,
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

  it('redirects plain HTTP to HTTPS', async () => {
    const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
      http.get({ host: '127.0.0.1', port: routerPort, path: '/orders?x=1', headers: { host: host() }, agent: false }, resolve).on('error', reject),
    );
    res.resume();
    expect(res.statusCode).toBe(308);
    expect(res.headers.location).toBe(`https://${host()}/orders?x=1`);
  });

  it('gets no certificate for a host not in its table', async () => {
    await expect(httpsGet(tlsPort, `evil.skiff.test`, root)).rejects.toThrow();
    const certificates = path.join(server.home, 'caddy', 'data', 'caddy', 'certificates');
    const names = fs.readdirSync(certificates).flatMap((issuer) => fs.readdirSync(path.join(certificates, issuer)));
    expect(names.sort()).toEqual([host(), custom()].sort());
  });
});
