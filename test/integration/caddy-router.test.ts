import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { silentLogger } from '../../src/log.js';
import { caddyConfig } from '../../src/router/caddy-config.js';
import { CaddyProcess } from '../../src/router/caddy-process.js';
import { CaddyRouter } from '../../src/router/caddy-router.js';
import type { Hold, Route } from '../../src/router/router.js';
import { freePort, httpGet, httpRequest, tempDir, waitFor } from '../helpers/skiff.js';

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
      const s = http.createServer((req, res) =>
        res.end(
          name === 'echo'
            ? `${String(req.headers['x-forwarded-for'])} ${String(req.headers['x-forwarded-proto'])} ${String(req.headers['x-skiff-client'] ?? '-')}`
            : name,
        ),
      );
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      upstreams.push(s);
      addresses.push(`127.0.0.1:${(s.address() as AddressInfo).port}`);
    }
    const listen = `127.0.0.1:${port}`;
    const caddy = new CaddyProcess({ dir, admin, log: silentLogger, config: () => caddyConfig([], { admin, listen }) });
    caddy.ensureMigrateReq();
    await caddy.ensure();
    router = new CaddyRouter(admin, { listen }, dir, true, { slots: 4, seconds: 30 });
  });

  afterAll(() => {
    for (const file of [path.join(dir, 'caddy.pid'), path.join(dir, 'holds', 'pool.pid')]) {
      const pid = fs.existsSync(file) ? Number(fs.readFileSync(file, 'utf8')) : 0;
      if (pid) process.kill(pid, 'SIGKILL');
    }
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

  const holdFor = (taken: string[] = [], reason: 'pause' | 'handover' = 'handover') => ({
    reason,
    taken: new Set(taken),
    keepFree: reason === 'pause' ? 1 : 0,
  });

  it('counts the requests on their way to an upstream, those sent before the app was held included', async () => {
    let answer: () => void = () => undefined;
    const slow = http.createServer((_req, res) => (answer = () => res.end('slow')));
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    upstreams.push(slow);
    const address = `127.0.0.1:${(slow.address() as AddressInfo).port}`;
    await router.apply(route([address]));
    expect(await router.requestsInFlight([address])).toBe(0);
    const pending = httpGet(`http://shop.localhost:${port}/`);
    await waitFor(async () => (await router.requestsInFlight([address])) === 1, 5_000, 'the request counted');
    // The app's requests held (a handover's first step): the one on its way stays counted, and new ones wait.
    const hold = await router.startHold('shop', holdFor());
    await router.apply([{ ...route([address])[0], heldBy: hold }, route([])[1]]);
    const waiting = httpGet(`http://shop.localhost:${port}/`, 60_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(await router.requestsInFlight([address])).toBe(1);
    answer();
    expect(await pending).toEqual({ status: 200, body: 'slow' });
    await waitFor(async () => (await router.requestsInFlight([address])) === 0, 5_000, 'the answered request no longer counted');
    await router.apply([{ ...route([addresses[0]])[0], releasing: [hold] }, route([])[1]]);
    expect(await waiting).toEqual({ status: 200, body: 'a' });
    await waitFor(async () => (await router.holdsDrained([hold])).length === 1, 5000, 'the hold to have no request left');
    await router.apply(route([addresses[0]]));
  });

  it('holds requests through reloads for other apps, and lets every one through when the hold is released', async () => {
    const hold = await router.startHold('shop', holdFor());
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
    expect(await router.holdsDrained([hold])).toEqual([]);
    await router.apply(held({ releasing: [hold] }));
    const answers = await Promise.all(requests);
    // The app learns the client's address and scheme as if there had been no hold, and nothing of the carrying.
    expect(answers.map((a) => `${a.status} ${a.body}`)).toEqual(Array.from({ length: 200 }, () => '200 127.0.0.1 http -'));
    await waitFor(async () => (await router.holdsDrained([hold])).length === 1, 5000, 'the hold to have no request left');
    await router.apply(route([addresses[1]]));
    expect(fs.existsSync(hold.release)).toBe(false);
    expect(await httpGet(`http://shop.localhost:${port}/`)).toEqual({ status: 200, body: 'b' });
  });

  it('are slots of one process: a freed slot holds again, none is handed out twice, and pauses leave some free', async () => {
    const first = await router.startHold('shop', holdFor());
    const others: Hold[] = [];
    for (let i = 0; i < 3; i++) others.push(await router.startHold(`app${i}`, holdFor([first.id, ...others.map((h) => h.id)])));
    const all = [first, ...others];
    expect(new Set(all.map((h) => h.id)).size).toBe(4);
    expect(new Set(all.map((h) => h.pid))).toEqual(new Set([first.pid]));
    expect(all.every((h) => router.holdAlive(h))).toBe(true);
    const taken = all.map((h) => h.id);
    await expect(router.startHold('one-more', holdFor(taken))).rejects.toThrow(
      /^the router holds the requests of 4 apps already, the most it may for deploys \(SKIFF_MAX_HOLDS 4\); try again when one has resumed$/,
    );
    // Pauses keep one free (here) for deploys.
    await expect(router.startHold('paused', holdFor(taken.slice(1), 'pause'))).rejects.toThrow(/the most it may for pauses/);

    // A freed slot holds again: its health check saw the release socket go.
    const again = await router.startHold('shop', holdFor(taken.slice(1)));
    expect(again.id).toBe(first.id);
    await router.apply([{ ...route([addresses[0]])[0], heldBy: again }]);
    const waiting = httpGet(`http://shop.localhost:${port}/`, 20_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(await router.holdsDrained([again])).toEqual([]);
    await router.apply([{ ...route([addresses[0]])[0], releasing: [again] }]);
    expect(await waiting).toEqual({ status: 200, body: 'a' });
    await router.apply(route([addresses[0]]));
  });

  it('lets held requests fail only past the holds’ bound', async () => {
    const bounded = new CaddyRouter(admin, { listen: `127.0.0.1:${port}` }, tempDir('caddy-bounded'), true, { slots: 1, seconds: 1 });
    const hold = await bounded.startHold('shop', holdFor());
    await bounded.apply([{ ...route([addresses[0]])[0], heldBy: hold }]);
    const started = Date.now();
    expect((await httpGet(`http://shop.localhost:${port}/`, 10_000)).status).toBe(503);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    await bounded.apply(route([addresses[0]]));
    process.kill(hold.pid, 'SIGKILL');
    await waitFor(() => !bounded.holdAlive(hold), 5000, 'the holds’ process to be gone');
    expect(await bounded.holdsDrained([hold])).toEqual([hold]);
  });
});
