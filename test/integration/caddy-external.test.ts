import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caddyAdminRequest } from '../../src/router/caddy-admin.js';
import { CaddyRouter } from '../../src/router/caddy-router.js';
import { freePort, httpGet, tempDir, waitFor } from '../helpers/skiff.js';

/** A Caddy that is not Skiff's (SKIFF_CADDY_ADMIN), on a TCP admin port: Skiff adds its own server and leaves the rest alone. */
describe('an existing Caddy as the router', () => {
  const dir = tempDir('caddy-ext');
  const procs: ChildProcess[] = [];
  const upstreams: http.Server[] = [];
  const addresses: string[] = [];

  async function startCaddy(config: unknown): Promise<string> {
    const admin = `127.0.0.1:${await freePort()}`;
    const file = path.join(dir, `${admin.replace(/\W/g, '-')}.json`);
    fs.writeFileSync(file, JSON.stringify(config === null ? { admin: { listen: admin } } : { admin: { listen: admin }, ...(config as object) }));
    const proc = spawn('caddy', ['run', '--config', file], { env: { ...process.env, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir }, stdio: 'ignore' });
    procs.push(proc);
    await waitFor(async () => (await caddyAdminRequest(admin, 'GET', '/config/').catch(() => ({ status: 0 }))).status === 200, 10_000, `caddy on ${admin}`);
    return admin;
  }

  beforeAll(async () => {
    for (const name of ['a', 'b']) {
      const s = http.createServer((_req, res) => res.end(name));
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      upstreams.push(s);
      addresses.push(`127.0.0.1:${(s.address() as AddressInfo).port}`);
    }
  });

  afterAll(() => {
    for (const p of procs) p.kill('SIGKILL');
    for (const s of upstreams) s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const routes = (upstream: string) => [{ app: 'shop', hosts: ['shop.localhost'], upstreams: [upstream] }];

  it("adds Skiff's server beside the sites it already serves, and changes only that one", async () => {
    const otherPort = await freePort();
    const admin = await startCaddy({
      apps: {
        http: { servers: { other: { listen: [`127.0.0.1:${otherPort}`], routes: [{ handle: [{ handler: 'static_response', body: 'other site' }] }] } } },
      },
    });
    const listenPort = await freePort();
    const router = new CaddyRouter(admin, { listen: `127.0.0.1:${listenPort}` }, tempDir('caddy'), false);
    await router.apply(routes(addresses[0]));
    expect(await router.isConfigured()).toBe(true);
    expect((await httpGet(`http://shop.localhost:${listenPort}/`)).body).toBe('a');
    await router.apply(routes(addresses[1]));
    expect((await httpGet(`http://shop.localhost:${listenPort}/`)).body).toBe('b');
    expect((await httpGet(`http://127.0.0.1:${otherPort}/`)).body).toBe('other site');
    // Its admin settings stay its own.
    expect(JSON.parse((await caddyAdminRequest(admin, 'GET', '/config/admin')).body)).toEqual({ listen: admin });
  });

  it('starts from an empty Caddy too', async () => {
    const admin = await startCaddy(null);
    const listenPort = await freePort();
    const router = new CaddyRouter(admin, { listen: `127.0.0.1:${listenPort}` }, tempDir('caddy'), false);
    await router.apply(routes(addresses[0]));
    expect((await httpGet(`http://shop.localhost:${listenPort}/`)).body).toBe('a');
    expect((await httpGet(`http://nobody.localhost:${listenPort}/`)).status).toBe(404);
  });

  it('adds the release server of a hold being released, and removes it after', async () => {
    const admin = await startCaddy(null);
    const listenPort = await freePort();
    const router = new CaddyRouter(admin, { listen: `127.0.0.1:${listenPort}` }, tempDir('caddy'), false);
    const hold = { id: 'h1', socket: path.join(tempDir('hold'), 'h1.hold'), release: path.join(tempDir('hold'), 'h1.release'), pid: 1 };
    await router.apply([{ ...routes(addresses[0])[0], releasing: [hold] }]);
    expect(JSON.parse((await caddyAdminRequest(admin, 'GET', '/config/apps/http/servers/skiff-release/listen')).body)).toEqual([`unix/${hold.release}`]);
    await router.apply(routes(addresses[0]));
    expect((await caddyAdminRequest(admin, 'GET', '/config/apps/http/servers/skiff-release')).body.trim()).toBe('null');
    expect((await httpGet(`http://shop.localhost:${listenPort}/`)).body).toBe('a');
  });
});
