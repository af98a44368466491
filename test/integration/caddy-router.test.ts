import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { silentLogger } from '../../src/log.js';
import { caddyConfig } from '../../src/router/caddy-config.js';
import { CaddyProcess } from '../../src/router/caddy-process.js';
import { CaddyRouter } from '../../src/router/caddy-router.js';
import type { Route } from '../../src/router/router.js';
import { freePort, httpGet, httpRequest, tempDir } from '../helpers/skiff.js';

/** Skiff's Caddy: started on an admin socket, configured in one request per change, switched under load. */
describe('Caddy router', () => {
  const dir = tempDir('caddy');
  const admin = `unix/${path.join(dir, 'admin.sock')}`;
  let port: number;
  let router: CaddyRouter;
  const upstreams: http.Server[] = [];
  const addresses: string[] = [];

  beforeAll(async () => {
    port = await freePort();
    for (const name of ['a', 'b', 'echo']) {
      // echo answers with what it was told about the client.
      const s = http.createServer((req, res) => res.end(name === 'echo' ? `${req.headers['x-forwarded-for']} ${req.headers['x-forwarded-proto']} ${req.headers['x-skiff-client'] ?? '-'}` : name));
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      upstreams.push(s);
      addresses.push(`127.0.0.1:${(s.address() as AddressInfo).port}`);
    }
    const listen = `127.0.0.1:${port}`;
    const caddy = new CaddyProcess({ dir, admin, log: silentLogger, config: () => caddyConfig([], { admin, listen }) });
    caddy.ensureMigrateReq();
    await caddy.ensure();
    router = new CaddyRouter(admin, { listen }, dir);
  });

  afterAll(() => {
    const pid = Number(fs.readFileSync(path.join(dir, 'caddy.pid'), 'utf8'));
    if (pid) process.kill(pid, 'SIGKILL');
    for (const s of upstreams) s.close();
  });

  const route = (upstream: string[]): Route[] => [
    { app: 'shop', hosts: ['shop.localhost'], upstreams: upstream },
    { app: 'idle', hosts: ['idle.localhost'], upstreams: [] },
  ];

  it('routes by host, answers 503 for an app without instances and 404 for an unknown host', async () => {
    await router.apply(route([addresses[0]]));
    expect(await router.isConfigured()).toBe(true);
    expect(await httpGet(`http://shop.localhost:${port}/`)).toEqual({ status: 200, body: 'a' });
    expect((await httpGet(`http://idle.localhost:${port}/`)).status).toBe(503);
    expect((await httpGet(`http://nobody.localhost:${port}/`)).status).toBe(404);
  });

  it('refuses a broken config and keeps serving the old one', async () => {
    const broken = new CaddyRouter(admin, { listen: '127.0.0.1:notaport' }, dir);
    await expect(broken.apply(route([addresses[1]]))).rejects.toThrow(/refused the new routes/);
    expect(await httpGet(`http://shop.localhost:${port}/`)).toEqual({ status: 200, body: 'a' });
  });

  it('switches upstreams 30 times under load without a failed request', async () => {
    let running = true;
    let ok = 0;
    const failures: string[] = [];
    const deadline = Date.now() + 60_000;
    const worker = async (): Promise<void> => {
      while (running && Date.now() < deadline && ok < 50_000) {
        try {
          const r = await httpGet(`http://shop.localhost:${port}/`);
          if (r.status === 200) ok++;
          else failures.push(String(r.status));
        } catch (err) {
          failures.push(String(err));
        }
      }
    };
    const workers = [worker(), worker(), worker(), worker()];
    for (let i = 0; i < 30; i++) {
      await router.apply(route([addresses[i % 2]]));
      await new Promise((r) => setTimeout(r, 50));
    }
    running = false;
    await Promise.all(workers);
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(100);
  });

  it('holds requests through reloads for other apps, and lets every one through when the hold is released', async () => {
    const hold = await router.startHold('shop', 30);
    const held = (extra: Partial<Route>): Route[] => [{ ...route([addresses[2]])[0], ...extra }, route([])[1]];
    await router.apply(held({ heldBy: hold }));
    const requests = Array.from({ length: 200 }, (_, i) =>
      i % 2 ? httpGet(`http://shop.localhost:${port}/`, 60_000) : httpRequest(`http://shop.localhost:${port}/`, 'POST', 'x', 60_000),
    );
    // Another app's routes change while they wait: three reloads of the router.
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 300));
      await router.apply([...held({ heldBy: hold }).slice(0, 1), { app: 'idle', hosts: ['idle.localhost', `x${i}.localhost`], upstreams: [] }]);
    }
    await router.apply(held({ releasing: [hold] }));
    const answers = await Promise.all(requests);
    // The app learns the client's address and scheme as if there had been no hold, and nothing of the carrying.
    expect(answers.map((a) => `${a.status} ${a.body}`)).toEqual(Array.from({ length: 200 }, () => '200 127.0.0.1 http -'));
    router.stopHold(hold);
    for (let i = 0; i < 100 && router.holdAlive(hold); i++) await new Promise((r) => setTimeout(r, 50));
    expect(router.holdAlive(hold)).toBe(false);
    await router.apply(route([addresses[1]]));
    expect(fs.existsSync(hold.release)).toBe(false);
    expect(await httpGet(`http://shop.localhost:${port}/`)).toEqual({ status: 200, body: 'b' });
  });

  it('lets held requests fail only past the hold\'s bound', async () => {
    const hold = await router.startHold('shop', 1);
    await router.apply([{ ...route([addresses[0]])[0], heldBy: hold }]);
    const started = Date.now();
    expect((await httpGet(`http://shop.localhost:${port}/`, 10_000)).status).toBe(503);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    router.stopHold(hold);
    await router.apply(route([addresses[0]]));
  });
});
