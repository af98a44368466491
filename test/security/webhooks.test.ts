import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Database from 'better-sqlite3';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowList } from '../../src/domain/address-policy.js';
import { postJson } from '../../src/pipeline/notify.js';
import { fixtureRepo } from '../helpers/skiff.js';
import { Tenants } from '../helpers/tenants.js';

/** A loopback server that counts what reaches it: the thing an attacker wants Skiff to call. */
async function listener(handler: http.RequestListener = (_q, r) => r.end('ok')): Promise<{ port: number; hits: () => number; close: () => void }> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits++;
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, hits: () => hits, close: () => server.close() };
}

/** Attack: make Skiff's webhook sender call into the host's loopback (or any private address) for you. */
describe('webhooks reach no internal address', () => {
  let t: Tenants;
  let inside: Awaited<ReturnType<typeof listener>>;

  beforeAll(async () => {
    t = await Tenants.start();
    inside = await listener();
  });
  afterAll(async () => {
    inside?.close();
    await t?.cleanup();
  });

  it('refuses loopback in every spelling when the hook is added, in one line', async () => {
    const app = t.app('ssrf');
    expect((await t.ssh('mallory', ['apps:create', app])).exitCode).toBe(0);
    const p = inside.port;
    for (const url of [
      `http://127.0.0.1:${p}/`,
      `http://0x7f000001:${p}/`,
      `http://2130706433:${p}/`,
      `http://127.1:${p}/`,
      `http://[::ffff:127.0.0.1]:${p}/`,
      `http://[::1]:${p}/`,
      `http://localhost:${p}/`,
    ]) {
      const r = await t.ssh('mallory', ['hooks:add', app, url]);
      expect(r.exitCode, url).toBe(1);
      expect(r.stderr, url).toMatch(/^ ! {5}.*(loopback|IPv4-mapped) address; a webhook must go to a public host\n?$/);
    }
    expect(JSON.parse((await t.ssh('mallory', ['hooks', app, '--json'])).stdout)).toEqual([]);
  });

  it('checks again when it sends: a hook that leads to loopback now is not called after a deploy', async () => {
    const app = t.app('ssrf-deploy');
    // A hook recorded before this check existed, or whose name moved to loopback since.
    expect((await t.push('mallory', await fixtureRepo('dockerfile-hello'), app)).exitCode).toBe(0);
    const db = new Database(path.join(t.server.home, 'skiff.db'));
    db.prepare('INSERT INTO webhooks (app, url, created_by) VALUES (?, ?, ?)').run(app, `http://localhost:${inside.port}/`, 'mallory');
    db.prepare('INSERT INTO webhooks (app, url, created_by) VALUES (?, ?, ?)').run(app, `http://127.0.0.1:${inside.port}/x`, 'mallory');
    db.close();
    expect((await t.ssh('mallory', ['config:set', app, 'A=1'])).exitCode).toBe(0);
    await new Promise((r) => setTimeout(r, 500));
    expect(inside.hits()).toBe(0);
    expect(t.server.output).toMatch(/resolves to (127\.0\.0\.1|::1), a loopback address|127\.0\.0\.1 is a loopback address/);
  });

  it('follows no redirect, even from a host an admin allowed', async () => {
    const target = await listener();
    const redirector = await listener((_q, r) => r.writeHead(307, { location: `http://127.0.0.1:${target.port}/` }).end());
    try {
      const status = await postJson(`http://127.0.0.1:${redirector.port}/`, '{}', allowList([{ address: '127.0.0.1', prefix: 32, type: 'ipv4' }]));
      expect(status).toBe(307);
      expect(redirector.hits()).toBe(1);
      expect(target.hits()).toBe(0);
      await expect(postJson(`http://localhost:${target.port}/`, '{}', allowList([]))).rejects.toThrow(/loopback/);
      expect(target.hits()).toBe(0);
    } finally {
      target.close();
      redirector.close();
    }
  });
});
