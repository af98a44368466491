import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';

/**
 * Caddy gets a host's certificate on demand only when the URL it asks
 * answers 200. Skiff's server answers it on a loopback port of its own,
 * under a path no one else knows, and writes the URL in a file beside
 * Caddy's, where whoever configures the router reads it.
 */
const ASK_FILE = 'ask.url';

/** Where Caddy asks; with no server to answer, a port that refuses, which Caddy takes as no. */
export function certificateAskUrl(dir: string): string {
  try {
    const url = fs.readFileSync(path.join(dir, ASK_FILE), 'utf8').trim();
    if (/^http:\/\/127\.0\.0\.1:\d+\/[\w/-]+$/.test(url)) return url;
  } catch {
    // no server has answered yet
  }
  return 'http://127.0.0.1:1/certificate-ask';
}

/** Answers Caddy's asks (GET …?domain=HOST) with DECIDE's yes (200) or no (403), until closed. */
export async function serveCertificateAsk(dir: string, decide: (host: string) => boolean): Promise<http.Server> {
  const secret = `/certificate-ask/${crypto.randomBytes(16).toString('hex')}`;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const host = url.searchParams.get('domain') ?? '';
    const yes = req.method === 'GET' && url.pathname === secret && host !== '' && decide(host.toLowerCase());
    res.writeHead(yes ? 200 : 403).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  server.unref();
  const file = path.join(dir, ASK_FILE);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(`${file}.tmp`, `http://127.0.0.1:${(server.address() as AddressInfo).port}${secret}\n`, { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
  return server;
}
