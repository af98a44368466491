import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { ATTEMPT_SPACING_MS, CertificateDemand } from '../../src/operations/certs.js';
import type { Services } from '../../src/operations/operation.js';
import type { ManagedCertificate } from '../../src/router/router.js';
import { openStore } from '../../src/store/sqlite-store.js';
import { SecretBox } from '../../src/store/secret-box.js';

/** The router as the demand sees it: certificates it has, and the handshakes asked of it, which end when the test says. */
class Router {
  certificates = new Map<string, ManagedCertificate>();
  requested: string[] = [];
  private ends: (() => void)[] = [];
  managedCertificate(host: string): ManagedCertificate | null {
    return this.certificates.get(host) ?? null;
  }
  requestCertificate(host: string): Promise<void> {
    this.requested.push(host);
    return new Promise((resolve) => this.ends.push(resolve));
  }
  async endAll(): Promise<void> {
    for (const end of this.ends.splice(0)) end();
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
    // 0, 3, 13, 43, 103 minutes: then the hour-long step.
    expect(yes).toBe(ATTEMPT_SPACING_MS.length);
    // Other hosts are not held back by it.
    expect(demand.ask('www.shop.test')).toBe(true);
    expect(demand.ask('git.skiff.test')).toBe(true);
  });

  it('leaves alone a host that a custom certificate covers', () => {
    services.store.certificates.add('shop', { fingerprint: 'f', names: ['www.shop.test'], issuer: 'Custom', notAfter: '2031-01-01T00:00:00Z', addedBy: 'alice', chain: 'c', key: 'k' });
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
});
