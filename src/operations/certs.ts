import { certificateMisfit, nameCovers, parseCertificateBundle } from '../domain/certificate.js';
import { parseHostName } from '../domain/host-name.js';
import { InvalidError, NotFoundError } from '../errors.js';
import { getApp } from '../access/policy.js';
import { applyRoutes, hostsByApp } from '../pipeline/route.js';
import { notifyWebhooks } from '../pipeline/notify.js';
import type { ChallengeFailure, IssuanceFailure } from '../router/router.js';
import type { CustomCertificate } from '../domain/entities.js';
import type { Ask, Services } from './operation.js';

/** One host of an app and the certificate it is served with: custom, automatic (ACME), or none yet, with the last failure to get one. */
export interface HostCertificate {
  host: string;
  source: 'custom' | 'automatic' | 'none';
  issuer: string | null;
  notAfter: string | null;
  /** The latest failure to get an automatic certificate, when there is no newer certificate. */
  failure: { at: string; error: string; challenges: ChallengeFailure[] } | null;
}

/** Days before its end that a certificate counts as expiring (doctor fails). */
export const EXPIRY_WARNING_DAYS = 14;

/** The app's hosts, and every other app's (read without the certificates' keys, which the full routing opens). */
function hostsOf(services: Services, app: string): { hosts: string[]; others: string[] } {
  const all = hostsByApp(services);
  return { hosts: all.get(app) ?? [], others: [...all].flatMap(([other, hosts]) => (other === app ? [] : hosts)) };
}

function requireTls(services: Services): void {
  if (!services.config.tls) throw new InvalidError('HTTPS is off on this server: its admin sets SKIFF_ACME_EMAIL to turn it on');
}

/**
 * certs:add APP < bundle.pem: the chain and key are checked (key matches,
 * chain unbroken, not expired), and every name must be the app's; the key
 * is sealed like config values. It replaces the app's certificates for the
 * same hosts. If the router refuses it, nothing changed.
 */
export async function addCertificate(
  { services, caller }: Ask,
  appName: string,
  pem: string,
): Promise<{ cert: CustomCertificate; replaced: CustomCertificate[] }> {
  const app = getApp(services, caller, appName);
  requireTls(services);
  const bundle = parseCertificateBundle(pem);
  const { hosts, others } = hostsOf(services, app.name);
  const misfit = certificateMisfit(bundle.names, app.name, hosts, others);
  if (misfit) throw new InvalidError(misfit);
  const cert = { fingerprint: bundle.fingerprint, names: bundle.names, issuer: bundle.issuer, notAfter: bundle.notAfter, addedBy: caller.user };
  const replaced = services.store.certificates.add(app.name, { ...cert, chain: bundle.chain, key: bundle.key });
  try {
    await applyRoutes(services);
  } catch (err) {
    services.store.certificates.remove(app.name, cert.fingerprint);
    // The replaced certificates' keys are sealed away with them; saying so beats a silent loss.
    if (replaced.length)
      services.log.error(
        { app: app.name, replaced: replaced.map((c) => c.fingerprint) },
        'the router refused a certificate; those it replaced are gone: certs:add them again',
      );
    throw err;
  }
  return { cert: services.store.certificates.list(app.name).find((c) => c.fingerprint === cert.fingerprint) as CustomCertificate, replaced };
}

/** certs:remove APP HOST: the custom certificate that serves HOST goes; its hosts get automatic ones. */
export async function removeCertificate({ services, caller }: Ask, appName: string, input: string): Promise<CustomCertificate> {
  const app = getApp(services, caller, appName);
  const host = parseHostName(input);
  const cert = services.store.certificates.list(app.name).find((c) => c.names.some((n) => nameCovers(n, host)));
  if (!cert) throw new NotFoundError(`${app.name} has no custom certificate for ${host}; certs ${app.name} lists them`);
  services.store.certificates.remove(app.name, cert.fingerprint);
  await applyRoutes(services);
  return cert;
}

/** certs APP: each host of the app and its certificate. */
export function certificateStates({ services, caller }: Ask, appName: string): HostCertificate[] {
  const app = getApp(services, caller, appName);
  return statesOf(services, app.name, hostsOf(services, app.name).hosts, services.router.issuanceFailures());
}

/** The certificate of each of the app's hosts, given the router's failures (read once for every app). */
function statesOf(services: Services, app: string, hosts: readonly string[], failures: readonly IssuanceFailure[]): HostCertificate[] {
  const custom = services.store.certificates.list(app);
  return hosts.map((host) => {
    const mine = custom.find((c) => c.names.some((n) => nameCovers(n, host)));
    if (mine) return { host, source: 'custom', issuer: mine.issuer, notAfter: mine.notAfter, failure: null };
    const managed = services.router.managedCertificate(host);
    const failed = failures.find((f) => f.host === host);
    return {
      host,
      source: managed ? 'automatic' : 'none',
      issuer: managed?.issuer ?? null,
      notAfter: managed?.notAfter ?? null,
      failure: failed ? { at: failed.at, error: failed.error, challenges: failed.challenges ?? [] } : null,
    };
  });
}

/** For doctor: hosts whose certificate ends within EXPIRY_WARNING_DAYS, or whose issuance keeps failing. */
export function certificateProblems(services: Services, now = new Date()): string[] {
  if (!services.config.tls) return [];
  const problems: string[] = [];
  const hosts = hostsByApp(services);
  const failures = services.router.issuanceFailures();
  for (const app of services.store.apps.list()) {
    for (const s of statesOf(services, app.name, hosts.get(app.name) ?? [], failures)) {
      const days = s.notAfter === null ? null : (Date.parse(s.notAfter) - now.getTime()) / 86_400_000;
      if (days !== null && days < EXPIRY_WARNING_DAYS)
        problems.push(`${s.host} (${app.name}): its ${s.source} certificate ${days < 0 ? 'expired' : 'expires'} on ${s.notAfter}`);
      if (s.failure) problems.push(`${s.host} (${app.name}): no certificate yet: ${s.failure.error}`);
    }
  }
  return problems;
}

/**
 * The server's watch on issuance: each new failure to get a certificate
 * goes to the host's app's events and webhooks, once. Failures the router
 * had before the watch started are taken as known.
 */
export class IssuanceWatch {
  private readonly seen = new Map<string, string>();

  constructor(private readonly services: Services) {
    for (const f of services.router.issuanceFailures()) this.seen.set(f.host, f.at);
  }

  async check(): Promise<IssuanceFailure[]> {
    const { services } = this;
    const fresh = services.router.issuanceFailures().filter((f) => this.seen.get(f.host) !== f.at);
    if (fresh.length === 0) return fresh;
    const hosts = [...hostsByApp(services)];
    for (const f of fresh) {
      this.seen.set(f.host, f.at);
      const app = hosts.find(([, names]) => names.includes(f.host))?.[0];
      if (!app) continue;
      services.store.events.record({
        app,
        user: 'skiff',
        source: 'router',
        action: 'certs:obtain',
        detail: { host: f.host, ...(f.challenges ? { challenges: f.challenges } : {}) },
        outcome: `failed: ${f.error}`,
      });
      await notifyWebhooks(services, app, { event: 'certificate.failed', app, host: f.host, error: f.error, challenges: f.challenges ?? [], time: f.at });
    }
    return fresh;
  }
}

/**
 * How long to wait before another attempt at a host's certificate, by the
 * attempts begun in the last ATTEMPT_MEMORY_MS: the first at once; the
 * second after 15 s, since a reload can end an attempt that had barely begun
 * (one the old config took); then 3 minutes (Caddy gives one attempt up to
 * 3), 10, 30, and an hour. A host that keeps failing so costs the CA's
 * limits, which every tenant shares, a few attempts an hour at most, however
 * many handshakes ask for it.
 */
export const ATTEMPT_SPACING_MS = [0, 0.25, 3, 10, 30, 60].map((minutes) => minutes * 60_000);
const ATTEMPT_MEMORY_MS = 2 * 3_600_000;
/** A certificate is renewed within its last RENEW_WITHIN_DAYS (Let's Encrypt's last third). */
const RENEW_WITHIN_DAYS = 30;
/** Yeses per host, in ATTEMPT_MEMORY_MS, that may be forgotten for having begun no attempt. */
const UNBEGUN_FORGIVEN = 3;
/** Handshakes the watch keeps going at once. */
const CONCURRENT_REQUESTS = 4;

/**
 * The server's side of automatic certificates: it answers the router's ask
 * (may it begin getting a host's certificate now?) and makes the router
 * begin for each host that has none, or one near its end. Only the hosts of
 * apps and the git host qualify, and not those a custom certificate covers.
 */
export class CertificateDemand {
  private readonly attempts = new Map<string, number[]>();
  private readonly requesting = new Set<string>();
  private readonly forgiven = new Map<string, number[]>();

  constructor(
    private readonly services: Services,
    private readonly now: () => number = Date.now,
  ) {}

  /** The router's ask: yes when the host qualifies and is due; a yes counts as an attempt. */
  ask(host: string): boolean {
    if (!this.qualifying().has(host) || !this.due(host)) return false;
    this.attempts.set(host, [...this.recent(host), this.now()]);
    return true;
  }

  /** Begins the attempts due: a handshake for each qualifying host without a certificate or near its end, a few at a time. */
  request(): void {
    const { router, log } = this.services;
    for (const host of this.qualifying()) {
      if (this.requesting.size >= CONCURRENT_REQUESTS) return;
      if (this.requesting.has(host) || !this.due(host)) continue;
      const cert = router.managedCertificate(host);
      if (cert && Date.parse(cert.notAfter) - this.now() > RENEW_WITHIN_DAYS * 86_400_000) continue;
      this.requesting.add(host);
      const begun = this.now();
      router
        .requestCertificate(host)
        .then((answered) => answered && this.forgetUnbegun(host, begun))
        .catch((err: unknown) => log.error({ err, host }, 'could not ask the router for a certificate'))
        .finally(() => this.requesting.delete(host));
    }
  }

  /**
   * A yes that began no attempt does not count: the router answered the
   * handshake without a certificate and without a failure, as when a reload
   * ended the config that took the handshake before its attempt began. At
   * most UNBEGUN_FORGIVEN of those per host, so that a router which never
   * says why cannot make the spacing moot.
   */
  private forgetUnbegun(host: string, since: number): void {
    const { router } = this.services;
    const recent = this.recent(host);
    const yes = recent[recent.length - 1];
    if (yes === undefined || yes < since || router.managedCertificate(host)) return;
    // Caddy's log times are to the millisecond, taken a moment after the yes.
    if (router.issuanceFailures().some((f) => f.host === host && Date.parse(f.at) >= yes - 1_000)) return;
    const forgiven = this.remembered(this.forgiven, host);
    if (forgiven.length >= UNBEGUN_FORGIVEN) return;
    this.forgiven.set(host, [...forgiven, this.now()]);
    this.attempts.set(host, recent.slice(0, -1));
  }

  private due(host: string): boolean {
    const recent = this.recent(host);
    if (recent.length === 0) return true;
    return this.now() - recent[recent.length - 1] >= ATTEMPT_SPACING_MS[Math.min(recent.length, ATTEMPT_SPACING_MS.length - 1)];
  }

  private recent(host: string): number[] {
    return this.remembered(this.attempts, host);
  }

  /** A host's times in `times` that are still within the attempt memory. */
  private remembered(times: Map<string, number[]>, host: string): number[] {
    const since = this.now() - ATTEMPT_MEMORY_MS;
    return (times.get(host) ?? []).filter((t) => t > since);
  }

  private qualifying(): Set<string> {
    const { services } = this;
    if (!services.config.tls || !services.config.ownCaddy) return new Set();
    const hosts = new Set(services.config.gitHost ? [services.config.gitHost] : []);
    for (const [app, names] of hostsByApp(services)) {
      const custom = services.store.certificates.list(app);
      for (const host of names) if (!custom.some((c) => c.names.some((n) => nameCovers(n, host)))) hosts.add(host);
    }
    return hosts;
  }
}
