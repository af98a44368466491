import { describe, expect, it } from 'vitest';
import { grammarOf, parseCommandArgs } from '../../src/commands/args.js';
import { parseAllowPath, parseMaintenanceMessage } from '../../src/domain/maintenance.js';
import { caddyConfig } from '../../src/router/caddy-config.js';

const routesOf = (config: Record<string, unknown>): { match: unknown; handle: Record<string, unknown>[] }[] =>
  (config.apps as { http: { servers: { skiff: { routes: { match: unknown; handle: Record<string, unknown>[] }[] } } } }).http.servers.skiff.routes;

describe('maintenance', () => {
  it('answers 503 with Retry-After as a page, JSON or text, and serves the allowed paths as usual', () => {
    const [route] = routesOf(
      caddyConfig(
        [
          {
            app: 'shop',
            hosts: ['shop.localhost'],
            upstreams: ['127.0.0.1:4000'],
            maintenance: { message: 'Back at <b>5</b> & soon', allowPaths: ['/webhooks', '/'] },
          },
        ],
        { admin: 'localhost:2019', listen: ':80' },
      ),
    );
    const sub = route.handle[0] as { handler: string; routes: { match?: unknown[]; handle: Record<string, unknown>[] }[] };
    expect(sub.handler).toBe('subroute');
    expect(sub.routes[0]).toMatchObject({
      match: [{ path: ['/webhooks', '/webhooks/*', '/*'] }],
      handle: [{ handler: 'reverse_proxy', upstreams: [{ dial: '127.0.0.1:4000' }] }],
    });
    const [html, json, text] = sub.routes.slice(1).map((r) => r.handle[0] as { status_code: number; headers: Record<string, string[]>; body: string });
    for (const answer of [html, json, text]) {
      expect(answer.status_code).toBe(503);
      expect(answer.headers['Retry-After']).toEqual(['120']);
    }
    expect(html.body).toContain('<p>Back at &#60;b&#62;5&#60;/b&#62; &#38; soon</p>');
    expect(JSON.parse(json.body)).toEqual({ error: 'maintenance', app: 'shop', message: 'Back at <b>5</b> & soon' });
    expect(text.body).toBe('Back at <b>5</b> & soon\n');
  });

  it('refuses a message Caddy would read placeholders in, and paths that are patterns', () => {
    expect(() => parseMaintenanceMessage('{env.SKIFF_REGISTRY_PASSWORD}')).toThrow('--message may not contain { or }');
    expect(() => parseMaintenanceMessage('two\nlines')).toThrow('one line');
    expect(() => parseMaintenanceMessage('x'.repeat(501))).toThrow('1 to 500 characters');
    expect(parseMaintenanceMessage('Back at 5 (UTC)')).toBe('Back at 5 (UTC)');
    for (const bad of ['webhooks', '/hooks/*', '/a/../admin', '/a//b', '/a b', '/ä'])
      expect(() => parseAllowPath(bad), bad).toThrow('must be a plain path prefix');
    expect(parseAllowPath('/webhooks/')).toBe('/webhooks');
    expect(parseAllowPath('/')).toBe('/');
  });

  it('takes a repeatable option as every value given', () => {
    expect(grammarOf('APP [--message TEXT] [--allow-path PREFIX...]').options['allow-path']).toEqual({ type: 'string', multiple: true });
    expect(
      parseCommandArgs('maintenance:on', 'APP [--message TEXT] [--allow-path PREFIX...]', ['shop', '--allow-path', '/a', '--allow-path', '/b']).values,
    ).toEqual({ 'allow-path': ['/a', '/b'] });
  });
});
