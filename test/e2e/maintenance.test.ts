import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SkiffServer, commitAll, fixtureRepo, makeKey, removeDockerLeftovers, tempDir, uniqueApp } from '../helpers/skiff.js';

/** A request through the router, with an Accept header; status, Retry-After and body. */
function get(
  port: number,
  host: string,
  urlPath: string,
  accept: string,
): Promise<{ status: number; retryAfter: string | undefined; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, headers: { host, accept }, timeout: 5000, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], type: res.headers['content-type'], body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** maintenance:on over the real ssh, router and engine: 503 everywhere but the allowed paths, through deploys and restarts. */
describe('maintenance mode', () => {
  let server: SkiffServer;
  let key: string;
  const app = uniqueApp('mnt');
  let repo: string;
  const host = (): string => `${app}.localhost`;

  beforeAll(async () => {
    server = await SkiffServer.start({ SKIFF_DRAIN_SECONDS: '0' });
    key = await makeKey(tempDir('keys'), 'admin');
    await server.cli(['keys:add', 'alice', '--admin'], fs.readFileSync(`${key}.pub`, 'utf8'));
    repo = await fixtureRepo('dockerfile-hello', (d) => {
      fs.mkdirSync(path.join(d, 'webhooks'), { recursive: true });
      fs.writeFileSync(path.join(d, 'webhooks', 'index.html'), 'hook ok\n');
      const dockerfile = path.join(d, 'Dockerfile');
      fs.writeFileSync(
        dockerfile,
        fs.readFileSync(dockerfile, 'utf8').replace('COPY index.html /www/index.html', 'COPY index.html /www/index.html\nCOPY webhooks /www/webhooks'),
      );
    });
    expect((await server.git(key, repo, ['push', server.remote(app), 'main'])).exitCode).toBe(0);
  });

  afterAll(async () => {
    await server?.cleanup();
    await removeDockerLeftovers([app]);
  });

  it('answers 503 with Retry-After as a page, JSON or text; an allowed path is served', async () => {
    expect((await get(server.routerPort, host(), '/', 'text/html')).status).toBe(200);
    const on = await server.ssh(key, ['maintenance:on', app, '--message', "'Back at 5 <b>UTC</b>'", '--allow-path', '/webhooks']);
    expect(on.exitCode, on.stderr).toBe(0);
    const page = await get(server.routerPort, host(), '/', 'text/html,application/xhtml+xml');
    expect(page).toMatchObject({ status: 503, retryAfter: '120', type: 'text/html; charset=utf-8' });
    expect(page.body).toContain('Back at 5 &#60;b&#62;UTC&#60;/b&#62;');
    const json = await get(server.routerPort, host(), '/api/orders', 'application/json');
    expect(json).toMatchObject({ status: 503, retryAfter: '120', type: 'application/json' });
    expect(JSON.parse(json.body)).toEqual({ error: 'maintenance', app, message: 'Back at 5 <b>UTC</b>' });
    expect(await get(server.routerPort, host(), '/', '*/*')).toMatchObject({ status: 503, body: 'Back at 5 <b>UTC</b>\n' });
    expect(await get(server.routerPort, host(), '/webhooks/', '*/*')).toMatchObject({ status: 200, body: 'hook ok\n' });
    expect((await get(server.routerPort, host(), '/webhooksX', '*/*')).status).toBe(503);
    expect(JSON.parse((await server.ssh(key, ['apps:info', app, '--json'])).stdout).maintenance).toMatchObject({ allowPaths: ['/webhooks'] });
  });

  it('survives a deploy and a restart of the server, until maintenance:off', async () => {
    fs.writeFileSync(path.join(repo, 'index.html'), 'second\n');
    await commitAll(repo, 'second');
    expect((await server.git(key, repo, ['push', server.remote(app), 'main'])).exitCode).toBe(0);
    expect((await get(server.routerPort, host(), '/', '*/*')).status).toBe(503);
    await server.stop();
    await server.launch();
    expect((await get(server.routerPort, host(), '/', '*/*')).status).toBe(503);
    expect((await get(server.routerPort, host(), '/webhooks/', '*/*')).status).toBe(200);
    const off = await server.ssh(key, ['maintenance:off', app]);
    expect(off.exitCode, off.stderr).toBe(0);
    expect(await get(server.routerPort, host(), '/', '*/*')).toMatchObject({ status: 200, body: 'second\n' });
  });

  it('refuses a message with Caddy placeholders and a path pattern, changing nothing', async () => {
    const leak = await server.ssh(key, ['maintenance:on', app, '--message', '{env.SKIFF_HOME}']);
    expect(leak.exitCode).toBe(1);
    expect(leak.stderr).toContain('--message may not contain { or }');
    const pattern = await server.ssh(key, ['maintenance:on', app, '--allow-path', "'/*'"]);
    expect(pattern.exitCode).toBe(1);
    expect(pattern.stderr).toContain('must be a plain path prefix');
    expect((await get(server.routerPort, host(), '/', '*/*')).status).toBe(200);
  });
});
