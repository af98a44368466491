import http from 'node:http';

export interface AdminResponse {
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
        // A connection each: Caddy may close a kept-alive one as it reloads, and the next request would meet a hang-up.
        agent: false,
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
