import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { ExternalError } from '../errors.js';
import { CADDY_SERVER, RELEASE_SERVER, caddyConfig, type CaddyOptions } from './caddy-config.js';
import { caddyAdminRequest, type AdminResponse } from './caddy-admin.js';
import { CaddyHolds, type HoldPool } from './caddy-holds.js';
import { certificateAskUrl } from './certificate-ask.js';
import type { ChallengeFailure, Hold, HoldRequest, IssuanceFailure, ManagedCertificate, Route, Router } from './router.js';

/**
 * How long a handshake that asks for a certificate waits. The attempt goes on
 * in Caddy without it (up to 180 s); a handshake a reload dropped before Caddy
 * asked must not keep the host waiting for its next one.
 */
const CERTIFICATE_WAIT_MS = 10_000;

/**
 * The router: Caddy, configured through its admin API, in one request per
 * change; Caddy swaps it in gracefully (open connections finish) or refuses
 * it and keeps the old one. Skiff's own Caddy gets its whole config loaded; an
 * existing Caddy (SKIFF_CADDY_ADMIN) gets only Skiff's server, and whatever
 * else it serves stays as it is.
 */
export class CaddyRouter implements Router {
  private readonly holds: CaddyHolds;

  constructor(
    private readonly admin: string,
    /** Where apps are served: plain HTTP, and HTTPS when on. */
    private readonly serve: Omit<CaddyOptions, 'admin'>,
    /** Caddy's folder: its log, its data (certificates), and the holds' sockets, on this host, which the router's Caddy must share. */
    private readonly dir: string,
    private readonly owned: boolean = true,
    /** The holds' pool: how many at once, and the longest one. */
    pool: HoldPool = { slots: 32, seconds: 7200 },
  ) {
    this.holds = new CaddyHolds(path.join(dir, 'holds'), pool);
  }

  managedCertificate(host: string): ManagedCertificate | null {
    // Caddy's storage: data/caddy/certificates/<CA>/<host>/<host>.crt, the chain with the leaf first.
    const root = path.join(this.dir, 'data', 'caddy', 'certificates');
    let newest: ManagedCertificate | null = null;
    for (const ca of safeReaddir(root)) {
      try {
        const leaf = new X509Certificate(fs.readFileSync(path.join(root, ca, host, `${host}.crt`)));
        const found = { issuer: /^CN=(.+)$/m.exec(leaf.issuer)?.[1] ?? leaf.issuer, notAfter: new Date(leaf.validTo).toISOString() };
        if (!newest || found.notAfter > newest.notAfter) newest = found;
      } catch {
        // none from this CA
      }
    }
    return newest;
  }

  issuanceFailures(): IssuanceFailure[] {
    return issuanceFailuresIn(tail(path.join(this.dir, 'caddy.log'), 512 * 1024));
  }

  requestCertificate(name: string): Promise<boolean> {
    const { tls } = this.serve;
    if (!tls) return Promise.resolve(true);
    // A handshake for the host begins Caddy's work on its certificate.
    const address = tls.listen.slice(0, tls.listen.lastIndexOf(':')).replace(/^\[|\]$/g, '');
    const host = address === '0.0.0.0' || address === '' ? '127.0.0.1' : address === '::' ? '::1' : address;
    return new Promise((resolve) => {
      const socket = tlsConnect({
        host,
        port: Number(tls.listen.slice(tls.listen.lastIndexOf(':') + 1)),
        servername: name,
        rejectUnauthorized: false,
        timeout: CERTIFICATE_WAIT_MS,
      });
      const done = (answered: boolean) => (): void => {
        socket.destroy();
        resolve(answered);
      };
      socket.once('secureConnect', done(true)).once('error', done(true)).once('timeout', done(false)).once('close', done(true));
    });
  }

  startHold(app: string, request: HoldRequest): Promise<Hold> {
    return this.holds.start(app, request);
  }

  holdAlive(hold: Hold): boolean {
    return this.holds.alive(hold);
  }

  async requestsInFlight(upstreams: readonly string[]): Promise<number> {
    // Caddy counts an upstream's requests whatever config sent them, while its config lists the upstream (a held
    // route lists the app's after the hold for this): it forgets an upstream no config lists, count and all.
    const res = await this.request('GET', '/reverse_proxy/upstreams');
    if (res.status !== 200) throw new ExternalError(`the router (Caddy) did not tell its upstreams: ${res.body.trim().slice(0, 300)}`);
    const all = JSON.parse(res.body) as { address: string; num_requests: number }[] | null;
    return (all ?? []).filter((u) => upstreams.includes(u.address)).reduce((n, u) => n + u.num_requests, 0);
  }

  holdsDrained(holds: readonly Hold[]): Promise<Hold[]> {
    return this.holds.drained(holds);
  }

  async apply(routes: readonly Route[]): Promise<void> {
    // The server that answers Caddy's certificate asks may have started since this router was made.
    const serve = this.serve.tls ? { ...this.serve, tls: { ...this.serve.tls, ask: certificateAskUrl(this.dir) } } : this.serve;
    const config = caddyConfig(routes, { admin: this.admin, ...serve });
    const res = this.owned ? await this.request('POST', '/load', config) : await this.setServer(config);
    if (res.status !== 200) throw new ExternalError(`the router (Caddy) refused the new routes: ${res.body.trim().slice(0, 300)}`);
  }

  /**
   * Sets Skiff's server in the existing config, creating apps/http/servers
   * where the config has none yet, then its release server (there only while
   * a hold is released).
   */
  private async setServer(config: Record<string, unknown>): Promise<AdminResponse> {
    const servers = (config as { apps: { http: { servers: Record<string, unknown> } } }).apps.http.servers;
    let value: unknown = servers[CADDY_SERVER];
    let path = `/config/apps/http/servers/${CADDY_SERVER}`;
    // Up from the server's parent to the first level that exists, wrapping the value as it goes.
    for (const [parent, key] of [
      ['/config/apps/http/servers', CADDY_SERVER],
      ['/config/apps/http', 'servers'],
      ['/config/apps', 'http'],
      ['/config/', 'apps'],
    ] as const) {
      const res = await this.request('GET', parent);
      // A path below a missing one answers an error rather than null.
      if (res.status === 200 && res.body.trim() !== 'null') break;
      value = { [key]: value };
      path = parent;
    }
    const res = await this.request('POST', path, value);
    if (res.status !== 200) return res;
    const release = `/config/apps/http/servers/${RELEASE_SERVER}`;
    if (servers[RELEASE_SERVER]) return this.request('POST', release, servers[RELEASE_SERVER]);
    // Absent already is as good as removed.
    await this.request('DELETE', release);
    return res;
  }

  private async request(method: string, path: string, value?: unknown): Promise<AdminResponse> {
    try {
      return await caddyAdminRequest(this.admin, method, path, value === undefined ? undefined : JSON.stringify(value));
    } catch (err) {
      throw new ExternalError(`the router (Caddy) does not answer at ${this.admin}; is ${this.owned ? 'the Skiff server' : 'that Caddy'} running?`, err);
    }
  }

  async isConfigured(): Promise<boolean> {
    const res = await caddyAdminRequest(this.admin, 'GET', `/config/apps/http/servers/${CADDY_SERVER}/listen`);
    return res.status === 200 && res.body.trim() !== 'null';
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** The last `bytes` of a file, from a line's start. */
function tail(file: string, bytes: number): string {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return '';
  }
  try {
    const size = fs.fstatSync(fd).size;
    const start = Math.max(0, size - bytes);
    const buffer = Buffer.alloc(size - start);
    fs.readSync(fd, buffer, 0, buffer.length, start);
    const text = buffer.toString('utf8');
    return start === 0 ? text : text.slice(text.indexOf('\n') + 1);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Each host's latest failure to get a certificate, from Caddy's log: the
 * challenges the CA refused during that attempt, in the CA's words (problem
 * type and detail), or else Caddy's own summary of the failure. A certificate
 * obtained since clears the host's failure.
 */
export function issuanceFailuresIn(log: string): IssuanceFailure[] {
  const latest = new Map<string, IssuanceFailure>();
  // The challenges refused since each host's attempt began; Caddy's summary of the attempt names none of them.
  const refused = new Map<string, ChallengeFailure[]>();
  for (const line of log.split('\n')) {
    const entry = certificateEntry(line);
    if (!entry) continue;
    const { host } = entry;
    if (entry.kind === 'attempt') refused.set(host, []);
    else if (entry.kind === 'challenge') refused.set(host, [...(refused.get(host) ?? []), entry.challenge]);
    else if (entry.kind === 'failed') {
      const challenges = refused.get(host) ?? [];
      latest.delete(host);
      latest.set(host, {
        host,
        at: entry.at,
        error: challenges.length ? `the CA could not validate it: ${challenges.map((c) => `${c.type}: ${c.problem}: ${c.detail}`).join('; ')}` : entry.error,
        ...(challenges.length ? { challenges } : {}),
      });
    } else {
      latest.delete(host);
      refused.delete(host);
    }
  }
  return [...latest.values()];
}

type CertificateEntry =
  | { kind: 'attempt' | 'obtained'; host: string }
  | { kind: 'challenge'; host: string; challenge: ChallengeFailure }
  | { kind: 'failed'; host: string; at: string; error: string };

/** Caddy's log line about getting a host's certificate: an attempt begun, a challenge the CA refused, a failure, or a success. */
function certificateEntry(line: string): CertificateEntry | null {
  if (!line.includes('"logger":"tls.obtain"') && !line.includes('acme_client"')) return null;
  try {
    const e = JSON.parse(line) as {
      level?: string;
      ts?: number;
      logger?: string;
      msg?: string;
      identifier?: string;
      error?: string;
      challenge_type?: string;
      problem_type?: string;
    };
    const host = e.identifier;
    if (!host) return null;
    if (e.logger?.endsWith('acme_client')) {
      if (e.msg !== 'challenge failed') return null;
      return {
        kind: 'challenge',
        host,
        challenge: { type: e.challenge_type ?? 'unknown', problem: e.problem_type ?? 'no problem type', detail: e.error ?? '' },
      };
    }
    if (e.logger !== 'tls.obtain') return null;
    if (e.msg === 'obtaining certificate') return { kind: 'attempt', host };
    if (e.msg === 'certificate obtained successfully') return { kind: 'obtained', host };
    if (e.level !== 'error' || !e.error) return null;
    return { kind: 'failed', host, at: new Date((e.ts ?? 0) * 1000).toISOString(), error: e.error };
  } catch {
    return null;
  }
}
