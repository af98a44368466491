import { describe, expect, it } from 'vitest';
import { caddyConfig, parseUpstream } from '../../src/router/caddy-config.js';
import { gatewayConfig, gatewayContainerSpec } from '../../src/runtime/swarm-gateway-spec.js';
import { serviceSpec, webHealthcheck } from '../../src/runtime/swarm-spec.js';
import type { FormationSpec } from '../../src/runtime/runtime.js';
import type { Route } from '../../src/router/router.js';

type Json = Record<string, any>;

const formation: FormationSpec = {
  app: 'shop',
  release: 4,
  process: 'web',
  quantity: 3,
  image: 'registry.internal:5000/team/shop:v4',
  command: null,
  env: { A: '1' },
  port: 5000,
  memory: 256 * 1024 * 1024,
  cpus: 0.5,
  pids: 256,
  healthcheck: '/health',
};

describe('routing through the swarm gateway', () => {
  it('reads plain upstreams and gateway upstreams', () => {
    expect(parseUpstream('127.0.0.1:4000')).toEqual({ dial: '127.0.0.1:4000', via: undefined });
    expect(parseUpstream('127.0.0.1:8091/tasks.skiff-shop-web:5000')).toEqual({ dial: '127.0.0.1:8091', via: 'tasks.skiff-shop-web:5000' });
  });

  it('dials the gateway and tells it which tasks, in a header; plain routes get no header', () => {
    const config = caddyConfig(
      [
        { app: 'shop', hosts: ['shop.example'], upstreams: ['127.0.0.1:8091/tasks.skiff-shop-web:5000'] },
        { app: 'blog', hosts: ['blog.example'], upstreams: ['127.0.0.1:4000'] },
      ],
      { admin: 'unix//tmp/a.sock', listen: ':80' },
    ) as Json;
    const [shop, blog] = config.apps.http.servers.skiff.routes as Json[];
    expect(shop.handle[0].upstreams).toEqual([{ dial: '127.0.0.1:8091' }]);
    expect(shop.handle[0].headers).toEqual({ request: { set: { 'X-Skiff-Upstream': ['tasks.skiff-shop-web:5000'] } } });
    expect(blog.handle[0].headers).toBeUndefined();
  });

  it('with HTTPS, redirects plain HTTP itself, naming the HTTPS port unless it is 443; Caddy makes no redirect of its own', () => {
    const on = (port: number): Json =>
      (
        caddyConfig([{ app: 'shop', hosts: ['shop.example'], upstreams: ['127.0.0.1:4000'] }], {
          admin: 'unix//tmp/a.sock',
          listen: '0.0.0.0:8080',
          tls: { listen: `0.0.0.0:${port}`, email: 'ops@example.com', ca: 'https://127.0.0.1:14000/dir', ask: 'http://127.0.0.1:9/ask' },
        }) as Json
      ).apps.http;
    const http = on(8443);
    expect(http.servers.skiff.automatic_https).toEqual({ disable_redirects: true });
    expect(http.servers['skiff-redirect'].listen).toEqual(['0.0.0.0:8080']);
    expect(http.servers['skiff-redirect'].routes[0].handle[0]).toEqual({
      handler: 'static_response',
      status_code: 308,
      headers: { Location: ['https://{http.request.host}:8443{http.request.uri}'] },
    });
    expect(on(443).servers['skiff-redirect'].routes[0].handle[0].headers.Location).toEqual(['https://{http.request.host}{http.request.uri}']);
  });

  it("gets the hosts' certificates on demand, only for the hosts it serves and only when Skiff's ask says yes", () => {
    const tls = { listen: '0.0.0.0:8443', email: 'ops@example.com', ca: 'https://127.0.0.1:14000/dir', ask: 'http://127.0.0.1:9/ask' };
    const tlsOf = (routes: Route[], git?: { host: string; upstream: string }): Json =>
      (caddyConfig(routes, { admin: 'unix//tmp/a.sock', listen: '0.0.0.0:8080', tls, ...(git ? { git } : {}) }) as Json).apps.tls;
    const issuer = { module: 'acme', ca: tls.ca, email: tls.email };
    const served = tlsOf(
      [
        { app: 'shop', hosts: ['shop.example', 'www.shop.test'], upstreams: [] },
        { app: 'blog', hosts: ['blog.example'], upstreams: [] },
      ],
      { host: 'git.example', upstream: '127.0.0.1:8022' },
    );
    expect(served.automation).toEqual({
      on_demand: { ask: tls.ask },
      policies: [{ subjects: ['git.example', 'shop.example', 'www.shop.test', 'blog.example'], issuers: [issuer], on_demand: true }, { issuers: [issuer] }],
    });
    // No host: no on-demand policy at all, since one without subjects would cover every name.
    expect(tlsOf([{ app: 'idle', hosts: [], upstreams: [] }]).automation.policies).toEqual([{ issuers: [issuer] }]);
  });

  it('lets the gateway dial only tasks of Skiff services, and strips the header', () => {
    const route = (gatewayConfig() as Json).apps.http.servers.gateway.routes[0];
    const pattern = new RegExp(route.match[0].header_regexp['X-Skiff-Upstream'].pattern);
    expect(pattern.test('tasks.skiff-shop-web:5000')).toBe(true);
    for (const bad of ['169.254.169.254:80', 'tasks.skiff-shop-web:5000@evil', 'db:5432', 'tasks.skiff-shop-web']) expect(pattern.test(bad)).toBe(false);
    expect(route.handle[0].headers.request.delete).toEqual(['X-Skiff-Upstream']);
    // Each task the name resolves to, round robin: not the name dialed as one upstream.
    expect(route.handle[0].dynamic_upstreams).toMatchObject({ source: 'a', name: '{http.regexp.up.1}', port: '{http.regexp.up.2}' });
    expect(pattern.exec('tasks.skiff-shop-web:5000')?.slice(1)).toEqual(['tasks.skiff-shop-web', '5000']);
    // A task on a lost node answers nothing: a short dial, then another task, and the dead address left out for a while.
    expect(route.handle[0].transport).toEqual({ protocol: 'http', dial_timeout: '1s' });
    expect(route.handle[0].health_checks.passive).toMatchObject({ max_fails: 1 });
    expect(route.handle[0].load_balancing.try_duration).toBe('10s');
  });

  it("makes the gateway's container answer on loopback only, with the router's caddy and its config read-only, and nothing else of the host", () => {
    const spec = gatewayContainerSpec({
      port: 8089,
      image: 'base',
      network: 'skiff-swarm',
      caddyPath: '/usr/bin/caddy',
      configFile: '/srv/skiff/swarm/gateway.json',
    });
    expect(spec.name).toBe('skiff-gateway-8089');
    expect(spec.HostConfig?.PortBindings).toEqual({ '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8089' }] });
    expect(spec.HostConfig?.Binds).toEqual(['/usr/bin/caddy:/usr/local/bin/caddy:ro', '/srv/skiff/swarm/gateway.json:/etc/skiff-gateway.json:ro']);
    expect(spec.HostConfig?.NetworkMode).toBe('skiff-swarm');
    expect(spec.HostConfig?.Privileged).toBeUndefined();
  });
});

describe('a swarm service', () => {
  it('is the formation: replicas, limits, env with PORT, labels, start-first updates that roll back, dnsrr on the network', () => {
    const spec = serviceSpec(formation, { network: 'skiff', forceUpdate: 2, monitorSeconds: 5, stopGraceSeconds: 10, readyTimeoutSeconds: 60 }) as Json;
    expect(spec.Name).toBe('skiff-shop-web');
    expect(spec.Mode).toEqual({ Replicated: { Replicas: 3 } });
    expect(spec.TaskTemplate.Resources.Limits).toEqual({ MemoryBytes: 256 * 1024 * 1024, NanoCPUs: 5e8, Pids: 256 });
    expect(spec.TaskTemplate.ContainerSpec.Env).toEqual(['A=1', 'PORT=5000', 'TINI_KILL_PROCESS_GROUP=1']);
    expect(spec.TaskTemplate.ContainerSpec.Command).toBeUndefined();
    expect(spec.TaskTemplate.ContainerSpec.Labels).toEqual({ 'skiff.app': 'shop', 'skiff.process': 'web', 'skiff.release': '4' });
    expect(spec.TaskTemplate.ForceUpdate).toBe(2);
    expect(spec.TaskTemplate.RestartPolicy.Condition).toBe('any');
    expect(spec.TaskTemplate.Networks).toEqual([{ Target: 'skiff' }]);
    expect(spec.UpdateConfig).toMatchObject({ Order: 'start-first', FailureAction: 'rollback', Parallelism: 0 });
    expect(spec.EndpointSpec).toEqual({ Mode: 'dnsrr' });
  });

  it("places every task on the app's node when it has one, and anywhere without", () => {
    const options = { network: 'n', forceUpdate: 0, monitorSeconds: 5, stopGraceSeconds: 10, readyTimeoutSeconds: 60 };
    expect((serviceSpec({ ...formation, node: 'worker-2' }, options) as Json).TaskTemplate.Placement).toEqual({ Constraints: ['node.hostname==worker-2'] });
    expect((serviceSpec({ ...formation, node: null }, options) as Json).TaskTemplate.Placement).toBeUndefined();
  });

  it('gives workers no port and no health check, and runs their Procfile command', () => {
    const spec = serviceSpec(
      { ...formation, process: 'worker', port: null, command: 'node worker.js', healthcheck: null, memory: null, cpus: null },
      { network: 'n', forceUpdate: 0, monitorSeconds: 5, stopGraceSeconds: 10, readyTimeoutSeconds: 60 },
    ) as Json;
    expect(spec.TaskTemplate.ContainerSpec.Env).toEqual(['A=1', 'TINI_KILL_PROCESS_GROUP=1']);
    expect(spec.TaskTemplate.ContainerSpec.Healthcheck).toBeUndefined();
    expect(spec.TaskTemplate.ContainerSpec.Command).toEqual(['sh', '-c', 'exec node worker.js']);
    expect(spec.TaskTemplate.Resources.Limits).toEqual({ Pids: 256 });
  });

  it('checks web tasks over HTTP: 2xx on a healthcheck path, any answer without one', () => {
    const strict = webHealthcheck('/health', 30) as Json;
    expect(strict.Test[0]).toBe('CMD-SHELL');
    expect(strict.Test[1]).toContain('u="http://127.0.0.1:$PORT/health"; strict="1"');
    expect((webHealthcheck(null, 30) as Json).Test[1]).toContain('u="http://127.0.0.1:$PORT/"; strict=""');
    expect(strict.StartPeriod).toBe(30e9);
  });
});
