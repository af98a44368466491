import http from 'node:http';
import { ExternalError } from '../errors.js';
import { CADDY_SERVER, caddyConfig } from './caddy-config.js';
import type { Route, Router } from './router.js';

interface AdminResponse {
  status: number;
  body: string;
}

/** Talks to Caddy's admin API, on a TCP address or a unix socket (`unix//path`). */
export function caddyAdminRequest(admin: string, method: string, path: string, body?: string, timeoutMs = 10_000): Promise<AdminResponse> {
  // Over a socket Caddy accepts only an empty Host header.
  const unix = admin.startsWith('unix/');
  const target = unix
    ? { socketPath: admin.slice('unix/'.length), setHost: false }
    : { host: admin.slice(0, admin.lastIndexOf(':')), port: Number(admin.slice(admin.lastIndexOf(':') + 1)) };
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        ...target,
        method,
        path,
        timeout: timeoutMs,
        headers: { ...(unix ? { host: '' } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from Caddy's admin API at ${admin}`)));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * The router: Caddy, configured through its admin API. Every apply loads the
 * whole config in one request; Caddy swaps it in gracefully (open connections
 * finish) or refuses it and keeps the old one.
 */
export class CaddyRouter implements Router {
  constructor(
    private readonly admin: string,
    private readonly listen: string,
  ) {}

  async apply(routes: readonly Route[]): Promise<void> {
    const config = caddyConfig(routes, { admin: this.admin, listen: this.listen });
    let res: AdminResponse;
    try {
      res = await caddyAdminRequest(this.admin, 'POST', '/load', JSON.stringify(config));
    } catch (err) {
      throw new ExternalError("the router (Caddy) does not answer; is the Skiff server running?", err);
    }
    if (res.status !== 200) throw new ExternalError(`the router (Caddy) refused the new routes: ${res.body.trim().slice(0, 300)}`);
  }

  async isConfigured(): Promise<boolean> {
    const res = await caddyAdminRequest(this.admin, 'GET', `/config/apps/http/servers/${CADDY_SERVER}/listen`);
    return res.status === 200 && res.body.trim() !== 'null';
  }
}
