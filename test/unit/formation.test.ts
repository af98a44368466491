import { describe, expect, it } from 'vitest';
import { planFormation } from '../../src/domain/formation.js';
import { parseCpus, parseMemory, parseProcfile, parseScale } from '../../src/domain/procfile.js';
import { parseHostName } from '../../src/domain/host-name.js';
import { HOLD_CHECK_PATH, caddyConfig } from '../../src/router/caddy-config.js';
import { RELEASE_CONCURRENCY, holdPoolConfig } from '../../src/router/caddy-holds.js';
import type { Route } from '../../src/router/router.js';

describe('Procfile', () => {
  it('reads types and commands, skipping comments and blank lines', () => {
    expect(parseProcfile('# app\nweb: node server.js --port $PORT\n\nworker:   node worker.js\n')).toEqual({
      web: 'node server.js --port $PORT',
      worker: 'node worker.js',
    });
  });

  it('means one web process running the image CMD when absent', () => {
    expect(parseProcfile(undefined)).toEqual({ web: null });
  });

  it('refuses bad lines with their number', () => {
    expect(() => parseProcfile('web node')).toThrow("Procfile line 1 is not 'type: command'");
    expect(() => parseProcfile('web: a\nWeb Two: b')).toThrow(/line 2/);
    expect(() => parseProcfile('web: a\nweb: b')).toThrow('Procfile line 2: web is defined twice');
    expect(() => parseProcfile('web:')).toThrow(/has no command/);
    expect(() => parseProcfile('# nothing\n')).toThrow('the Procfile defines no process types');
  });
});

describe('scale and limits', () => {
  it('parses TYPE=COUNT words', () => {
    expect(parseScale(['web=3', 'worker=0'])).toEqual({ web: 3, worker: 0 });
    for (const bad of ['web', 'web=-1', 'web=1000', 'We b=1', '=2']) expect(() => parseScale([bad])).toThrow();
  });

  it("parses Docker's memory notation and CPU counts", () => {
    expect(parseMemory('512m')).toBe(512 * 1024 ** 2);
    expect(parseMemory('1g')).toBe(1024 ** 3);
    expect(() => parseMemory('1k')).toThrow(/at least 6m/);
    expect(() => parseMemory('lots')).toThrow(/512m or 1g/);
    expect(parseCpus('0.5')).toBe(0.5);
    for (const bad of ['0', '-1', 'abc', '65']) expect(() => parseCpus(bad)).toThrow();
  });
});

describe('planFormation', () => {
  it('defaults to one web and no other instances, and applies what was recorded', () => {
    const plan = planFormation({ worker: 'w', web: null, clock: 'c' }, [
      { process: 'worker', quantity: 2, memory: 1, cpus: null },
      { process: 'gone', quantity: 5, memory: null, cpus: null },
    ]);
    expect(plan.map((p) => [p.process, p.quantity, p.command, p.memory])).toEqual([
      ['web', 1, null, null],
      ['clock', 0, 'c', null],
      ['worker', 2, 'w', 1],
    ]);
  });
});

describe('host names', () => {
  it('accepts DNS names and refuses the rest', () => {
    expect(parseHostName('WWW.Example.com')).toBe('www.example.com');
    for (const bad of ['localhost', '-a.com', 'a..com', 'a_b.com', 'a b.com', `${'a'.repeat(64)}.com`]) expect(() => parseHostName(bad)).toThrow();
  });
});

describe('caddyConfig', () => {
  it('routes each app by host to its instances, answers 503 for a stopped app and 404 for an unknown host', () => {
    const config = caddyConfig(
      [
        { app: 'shop', hosts: ['shop.example.com', 'www.shop.com'], upstreams: ['127.0.0.1:4001', '127.0.0.1:4002'] },
        { app: 'idle', hosts: ['idle.example.com'], upstreams: [] },
      ],
      { admin: 'unix//run/skiff/caddy.sock', listen: '0.0.0.0:80' },
    ) as { admin: unknown; apps: { http: { servers: { skiff: { listen: string[]; routes: { match?: unknown; handle: Record<string, unknown>[] }[] } } } } };
    // Not saved to disk: the config holds certificates' keys.
    expect(config.admin).toEqual({ listen: 'unix//run/skiff/caddy.sock', config: { persist: false } });
    const server = config.apps.http.servers.skiff;
    expect(server.listen).toEqual(['0.0.0.0:80']);
    expect(server.routes[0].match).toEqual([{ host: ['shop.example.com', 'www.shop.com'] }]);
    expect(server.routes[0].handle[0]).toMatchObject({
      handler: 'reverse_proxy',
      upstreams: [{ dial: '127.0.0.1:4001' }, { dial: '127.0.0.1:4002' }],
      load_balancing: { selection_policy: { policy: 'round_robin' } },
    });
    expect(server.routes[1].handle[0]).toMatchObject({ handler: 'static_response', status_code: 503 });
    expect(server.routes[2]).toEqual({ handle: [{ handler: 'static_response', status_code: 404, body: 'No app answers at this address.\n' }] });
    // Not held: only a refused dial is tried again, for a moment.
    expect((server.routes[0].handle[0].load_balancing as Record<string, unknown>).retry_match).toBeUndefined();
  });

  it('sends a held app’s requests to its hold, and answers on the release sockets of holds being released', () => {
    const hold = { id: 'h1', socket: '/run/h1.hold', release: '/run/h1.release', pid: 1 };
    type Server = { listen: string[]; routes: { match?: unknown[]; handle: Record<string, unknown>[] }[] };
    const config = (route: Partial<Route>) =>
      caddyConfig([{ app: 'db', hosts: ['db.example.com'], upstreams: ['127.0.0.1:4009'], ...route }], { admin: 'localhost:2019', listen: ':80' }) as {
        apps: { http: { servers: Record<string, Server> } };
      };
    const held = config({ heldBy: hold }).apps.http.servers;
    // What Caddy would drop on the way through a unix socket is written down, whatever the client sent. The hold
    // comes first and is always chosen; the app's upstream is listed after it only so that its requests stay counted.
    expect(held.skiff.routes[0].handle[0]).toEqual({
      handler: 'reverse_proxy',
      upstreams: [{ dial: 'unix//run/h1.hold' }, { dial: '127.0.0.1:4009' }],
      headers: {
        request: {
          set: { 'X-Skiff-Client': ['{http.request.remote.host}'], 'X-Skiff-Proto': ['{http.request.scheme}'], 'X-Skiff-Host': ['{http.request.host}'] },
        },
      },
      load_balancing: { selection_policy: { policy: 'first' } },
    });
    expect(held['skiff-release']).toBeUndefined();
    const releasing = config({ releasing: [hold] }).apps.http.servers;
    expect(releasing.skiff.routes[0].handle[0]).toMatchObject({ upstreams: [{ dial: '127.0.0.1:4009' }] });
    expect(releasing['skiff-release'].listen).toEqual(['unix//run/h1.release']);
    // The hold's check is answered there, then the same routes as the public listener, giving the app back what the hold carried.
    expect(releasing['skiff-release'].routes[0]).toMatchObject({ match: [{ path: [HOLD_CHECK_PATH] }], handle: [{ status_code: 200 }] });
    expect(releasing['skiff-release'].routes[1]).toMatchObject({
      match: releasing.skiff.routes[0].match,
      handle: [
        {
          upstreams: [{ dial: '127.0.0.1:4009' }],
          headers: {
            request: { set: { 'X-Forwarded-For': ['{http.request.header.X-Skiff-Client}'] }, delete: ['X-Skiff-Client', 'X-Skiff-Proto', 'X-Skiff-Host'] },
          },
        },
      ],
    });
  });

  it('serves apps over HTTPS with an ACME issuer for every name, HTTP redirecting, when TLS is on', () => {
    const config = caddyConfig([{ app: 'shop', hosts: ['shop.example.com'], upstreams: ['127.0.0.1:4001'] }], {
      admin: 'localhost:2019',
      listen: '0.0.0.0:80',
      tls: { listen: '0.0.0.0:443', email: 'ops@example.com', ca: 'https://ca.example/dir', caRoot: '/etc/ca.pem', ask: 'http://127.0.0.1:9/ask' },
    }) as { apps: { http: Record<string, unknown> & { servers: Record<string, Record<string, unknown>> }; tls: unknown } };
    expect(config.apps.http).toMatchObject({ http_port: 80, https_port: 443 });
    expect(config.apps.http.servers.skiff.listen).toEqual(['0.0.0.0:443']);
    // Caddy's automatic HTTPS on, for the names the routes match (on demand: see the router's tests); Skiff's own server redirects HTTP (with the port).
    expect(config.apps.http.servers.skiff.automatic_https).toEqual({ disable_redirects: true });
    expect(config.apps.http.servers['skiff-redirect'].listen).toEqual(['0.0.0.0:80']);
    const issuer = { module: 'acme', ca: 'https://ca.example/dir', email: 'ops@example.com', trusted_roots_pem_files: ['/etc/ca.pem'] };
    expect(config.apps.tls).toEqual({
      automation: {
        on_demand: { ask: 'http://127.0.0.1:9/ask' },
        policies: [{ subjects: ['shop.example.com'], issuers: [issuer], on_demand: true }, { issuers: [issuer] }],
      },
    });
    const plain = caddyConfig([], { admin: 'localhost:2019', listen: '0.0.0.0:80' }) as { apps: Record<string, unknown> };
    expect(plain.apps.tls).toBeUndefined();
  });

  it('holds in slots of one Caddy that wait, with any method, until their release socket answers the check', () => {
    type Server = { listen: string[]; metrics: object; routes: { handle: Record<string, unknown>[] }[] };
    const config = holdPoolConfig('/run/holds', { slots: 3, seconds: 60 }) as {
      admin: { listen: string };
      apps: { http: { servers: Record<string, Server> } };
    };
    const servers = config.apps.http.servers;
    expect(Object.keys(servers)).toEqual(['slot-000', 'slot-001', 'slot-002']);
    expect(servers['slot-002'].listen).toEqual(['unix//run/holds/slot-002.hold']);
    // The admin socket, in the holds' folder, gives each slot's requests in flight.
    expect(servers['slot-002'].metrics).toEqual({});
    expect(config.admin.listen).toBe('unix//run/holds/admin.sock');
    expect(servers['slot-002'].routes[0].handle[0]).toMatchObject({
      upstreams: [{ dial: 'unix//run/holds/slot-002.release', max_requests: RELEASE_CONCURRENCY }],
      health_checks: { active: { uri: HOLD_CHECK_PATH, interval: '50ms' } },
      load_balancing: { try_duration: '60s', try_interval: '50ms', retry_match: [{ method: expect.arrayContaining(['GET', 'POST', 'PUT', 'DELETE']) }] },
    });
  });
});
