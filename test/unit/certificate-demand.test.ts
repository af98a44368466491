import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { ATTEMPT_SPACING_MS, CertificateDemand } from '../../src/operations/certs.js';
import type { Services } from '../../src/operations/operation.js';
import type { IssuanceFailure, ManagedCertificate } from '../../src/router/router.js';
import { openStore } from '../../src/store/sqlite-store.js';
import { SecretBox } from '../../src/store/secret-box.js';

/** The router as the demand sees it: certificates it has, and the handshakes asked of it, which end when the test says. */
class Router {
  certificates = new Map<string, ManagedCertificate>();
  failures: IssuanceFailure[] = [];
  requested: string[] = [];
  private ends: ((answered: boolean) => void)[] = [];
  managedCertificate(host: string): ManagedCertificate | null {
    return this.certificates.get(host) ?? null;
  }
  issuanceFailures(): IssuanceFailure[] {
    return this.failures;
  }
  requestCertificate(host: string): Promise<boolean> {
    this.requested.push(host);
    return new Promise((resolve) => this.ends.push(resolve));
  }
  /** Ends the handshakes: answered, or given up on while the router was still at work. */
  async endAll(answered = true): Promise<void> {
    for (const end of this.ends.splice(0)) end(answered);
    await new Promise((r) => setImmediate(r));
  }
}

describe('the demand for automatic certificates', () => {
  let home: string;
  let router: Router;
  let now: number;
  let demand: CertificateDemand;
  let services: Services;

  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-demand-'));
    const config = loadConfig({ SKIFF_HOME: home, SKIFF_DOMAIN: 'skiff.test', SKIFF_ACME_EMAIL: 'ops@skiff.test', SKIFF_GIT_HOST: 'git.skiff.test' });
    router = new Router();
    services = { config, log: silentLogger, store: openStore(':memory:', SecretBox.ephemeral()), router } as unknown as Services;
    now = Date.parse('2030-01-01T00:00:00Z');
    demand = new CertificateDemand(services, () => now);
    services.store.apps.create('shop', 'alice');
    services.store.routes.set('shop', []);
    services.store.domains.add('shop', 'www.shop.test');
  });

  afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

  it("says yes only for the hosts Skiff serves, and spaces out one host's attempts however often it is asked", () => {
    expect(demand.ask('evil.test')).toBe(false);
    expect(demand.ask('shop.skiff.test')).toBe(true);
    // A failing host asked for again and again, as a handshake flood would: one attempt per step of the spacing.
    expect(demand.ask('shop.skiff.test')).toBe(false);
    let yes = 1;
    const end = now + 2 * 3_600_000;
    for (; now < end; now += 15_000) if (demand.ask('shop.skiff.test')) yes++;
    // 0 and 15 s, then 3, 10, 30 minutes on: then the hour-long step.
    expect(yes).toBe(ATTEMPT_SPACING_MS.length);
    // Other hosts are not held back by it.
    expect(demand.ask('www.shop.test')).toBe(true);
    expect(demand.ask('git.skiff.test')).toBe(true);
  });

  it('leaves alone a host that a custom certificate covers', () => {
    services.store.certificates.add('shop', {
      fingerprint: 'f',
      names: ['www.shop.test'],
      issuer: 'Custom',
      notAfter: '2031-01-01T00:00:00Z',
      addedBy: 'alice',
      chain: 'c',
      key: 'k',
    });
    expect(demand.ask('www.shop.test')).toBe(false);
    expect(demand.ask('shop.skiff.test')).toBe(true);
  });

  it('begins an attempt for each host with no certificate or one near its end, a few at a time, and again only when due', async () => {
    router.certificates.set('shop.skiff.test', { issuer: 'CA', notAfter: new Date(now + 60 * 86_400_000).toISOString() });
    router.certificates.set('git.skiff.test', { issuer: 'CA', notAfter: new Date(now + 10 * 86_400_000).toISOString() });
    demand.request();
    expect(router.requested.sort()).toEqual(['git.skiff.test', 'www.shop.test']);
    // One handshake per host at a time.
    demand.request();
    expect(router.requested).toHaveLength(2);
    // The router asked (a yes counts), and the attempt failed: not again before the next step.
    expect(demand.ask('www.shop.test')).toBe(true);
    router.failures.push({ host: 'www.shop.test', at: new Date(now).toISOString(), error: 'the CA could not validate it' });
    await router.endAll();
    demand.request();
    expect(router.requested.filter((h) => h === 'www.shop.test')).toHaveLength(1);
    now += ATTEMPT_SPACING_MS[1];
    demand.request();
    expect(router.requested.filter((h) => h === 'www.shop.test')).toHaveLength(2);
    // Never more than four at once.
    for (let i = 0; i < 10; i++) services.store.domains.add('shop', `d${i}.shop.test`);
    await router.endAll();
    router.requested = [];
    demand.request();
    expect(router.requested).toHaveLength(4);
  });

  it('does not count a yes that began no attempt: the router answered at once, with neither a certificate nor a failure', async () => {
    demand.request();
    expect(demand.ask('www.shop.test')).toBe(true);
    // A reload ended the config that took the handshake: answered, nothing begun.
    await router.endAll();
    demand.request();
    expect(router.requested.filter((h) => h === 'www.shop.test')).toHaveLength(2);
    // Still at work when the handshake was given up on: the attempt goes on, and counts.
    expect(demand.ask('www.shop.test')).toBe(true);
    await router.endAll(false);
    demand.request();
    expect(router.requested.filter((h) => h === 'www.shop.test')).toHaveLength(2);
    // A router that never says why is forgiven a few times only, so the spacing still holds.
    now += ATTEMPT_SPACING_MS[1];
    for (let i = 0; i < 10; i++) {
      demand.request();
      demand.ask('www.shop.test');
      await router.endAll();
    }
    expect(router.requested.filter((h) => h === 'www.shop.test')).toHaveLength(2 + 3);
  });
});
