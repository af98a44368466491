import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import os from 'node:os';
import { certificateMisfit, nameCovers, parseCertificateBundle } from '../../src/domain/certificate.js';
import { CaddyRouter, issuanceFailuresIn } from '../../src/router/caddy-router.js';

const dir = path.join(__dirname, '..', 'fixtures', 'certs');
const pem = (name: string): string => fs.readFileSync(path.join(dir, name), 'utf8');
// Inside the fixtures' span; the end of it is past.
const NOW = new Date('2030-01-01T00:00:00Z');

describe('a custom certificate bundle', () => {
  it('takes a chain (leaf first) and its key, in any order, and names the hosts, issuer and end', () => {
    const bundle = parseCertificateBundle(pem('shop.key') + pem('shop.crt') + pem('ca.crt'), NOW);
    expect(bundle).toMatchObject({ names: ['shop.example.com', 'www.shop.example.com'], issuer: 'Test Root', notAfter: expect.stringMatching(/^2126-/) });
    expect(bundle.chain).toBe(pem('shop.crt') + pem('ca.crt'));
    expect(bundle.key).toContain('BEGIN PRIVATE KEY');
    expect(parseCertificateBundle(pem('wild.crt') + pem('wild.key'), NOW).names).toEqual(['*.example.com']);
  });

  it('refuses a key that does not match, a broken chain, an expired one, and odd input, each in one line', () => {
    expect(() => parseCertificateBundle(pem('shop.crt') + pem('wild.key'), NOW)).toThrow('the private key does not match the certificate');
    expect(() => parseCertificateBundle(pem('shop.crt') + pem('other-ca.crt') + pem('shop.key'), NOW)).toThrow(
      /the chain is broken: certificate 1 \(CN=shop.example.com\) is not signed by certificate 2/,
    );
    expect(() => parseCertificateBundle(pem('shop.crt') + pem('shop.key'), new Date('2127-01-01T00:00:00Z'))).toThrow(/the certificate expired on 2126-/);
    expect(() => parseCertificateBundle(pem('shop.crt') + pem('shop.key'), new Date('2020-01-01T00:00:00Z'))).toThrow(/not valid until/);
    expect(() => parseCertificateBundle(pem('shop.crt'), NOW)).toThrow(/give one PEM with the certificate chain/);
    expect(() => parseCertificateBundle(pem('shop.key') + pem('wild.key') + pem('shop.crt'), NOW)).toThrow(/give one PEM/);
    expect(() => parseCertificateBundle('-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n' + pem('shop.crt'), NOW)).toThrow(
      /encrypted/,
    );
    expect(() => parseCertificateBundle(pem('shop.crt').replace(/[A-Za-z]{20}\n/, 'AAAAAAAAAAAAAAAAAAAA\n') + pem('shop.key'), NOW)).toThrow();
    expect(() => parseCertificateBundle('x'.repeat(70_000), NOW)).toThrow(/larger than 64 KiB/);
  });

  it('fits an app only when every name is its host, or a wildcard over its hosts and no other app’s', () => {
    expect(nameCovers('*.example.com', 'shop.example.com')).toBe(true);
    expect(nameCovers('*.example.com', 'a.shop.example.com')).toBe(false);
    expect(nameCovers('*.example.com', 'example.com')).toBe(false);
    const hosts = ['shop.skiff.test', 'shop.example.com', 'www.shop.example.com'];
    expect(certificateMisfit(['shop.example.com', 'www.shop.example.com'], 'shop', hosts, ['blog.example.com'])).toBeNull();
    expect(certificateMisfit(['shop.example.com', 'bank.example.com'], 'shop', hosts, [])).toBe(
      'the certificate names bank.example.com, which is not a host of shop (domains:add shop bank.example.com first)',
    );
    expect(certificateMisfit(['*.example.com'], 'shop', hosts, ['blog.example.com'])).toBe(
      'the certificate names *.example.com, which covers blog.example.com, a host of another app',
    );
    expect(certificateMisfit(['*.example.com'], 'shop', hosts, [])).toBeNull();
    expect(certificateMisfit(['*.other.test'], 'shop', hosts, [])).toMatch(/covers no host of shop/);
  });
});

describe('what the router tells of its certificates', () => {
  const line = (entry: Record<string, unknown>): string => JSON.stringify(entry);

  it('reads the newest certificate Caddy stored for a host, and the latest failure per host from its log, cleared by a success', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-caddy-'));
    const stored = path.join(dir, 'data', 'caddy', 'certificates', 'ca.example-directory', 'shop.example.com');
    fs.mkdirSync(stored, { recursive: true });
    fs.writeFileSync(path.join(stored, 'shop.example.com.crt'), pem('shop.crt') + pem('ca.crt'));
    const log = [
      line({ level: 'info', ts: 1795880000, logger: 'tls.obtain', msg: 'acquiring lock', identifier: 'a.example.com' }),
      line({
        level: 'error',
        ts: 1795880001,
        logger: 'tls.obtain',
        msg: 'could not get certificate from issuer',
        identifier: 'a.example.com',
        error: '[a.example.com] first',
      }),
      line({
        level: 'error',
        ts: 1795880002,
        logger: 'tls.obtain',
        msg: 'will retry',
        identifier: 'b.example.com',
        error: '[b.example.com] solving challenges: no solvers',
      }),
      'not json at all',
      line({
        level: 'error',
        ts: 1795880003,
        logger: 'tls.obtain',
        msg: 'could not get certificate from issuer',
        identifier: 'a.example.com',
        error: '[a.example.com] second',
      }),
      line({ level: 'error', ts: 1795880004, logger: 'http.log.error', msg: 'dial', identifier: 'c.example.com', error: 'not about certificates' }),
      line({ level: 'info', ts: 1795880005, logger: 'tls.obtain', msg: 'certificate obtained successfully', identifier: 'b.example.com' }),
    ].join('\n');
    fs.writeFileSync(path.join(dir, 'caddy.log'), `${log}\n`);
    const router = new CaddyRouter('unix//nowhere', { listen: '127.0.0.1:1' }, dir);
    expect(router.managedCertificate('shop.example.com')).toEqual({ issuer: 'Test Root', notAfter: expect.stringMatching(/^2126-/) });
    expect(router.managedCertificate('other.example.com')).toBeNull();
    expect(router.issuanceFailures()).toEqual([{ host: 'a.example.com', at: new Date(1795880003 * 1000).toISOString(), error: '[a.example.com] second' }]);
  });

  it("says which challenges the CA refused in the attempt that failed, in the CA's words, not Caddy's summary", () => {
    const host = 'down.example.test';
    const acme = (ts: number, type: string, status: number, problem: string, error: string): string =>
      line({
        level: 'error',
        ts,
        logger: 'http.acme_client',
        msg: 'challenge failed',
        identifier: host,
        challenge_type: type,
        status_code: status,
        problem_type: problem,
        error,
      });
    const summary = `[${host}] solving challenges: ${host}: no solvers available for remaining challenges (configured=[http-01 tls-alpn-01] offered=[http-01 dns-01 tls-alpn-01] remaining=[dns-01])`;
    const log = [
      // An earlier attempt's refusal is not this attempt's.
      acme(1, 'http-01', 400, 'urn:ietf:params:acme:error:dns', 'old'),
      line({ level: 'info', ts: 2, logger: 'tls.obtain', msg: 'obtaining certificate', identifier: host }),
      acme(
        3,
        'http-01',
        400,
        'urn:ietf:params:acme:error:connection',
        'Get "http://down.example.test/.well-known/acme-challenge/x": dial tcp 127.0.0.2:80: connect: connection refused',
      ),
      line({ level: 'error', ts: 3, logger: 'http.acme_client', msg: 'validating authorization', identifier: host, error: 'authorization failed: HTTP 400 …' }),
      line({
        level: 'info',
        ts: 3,
        logger: 'http.acme_client',
        msg: 'challenge failed',
        identifier: 'other.example.test',
        challenge_type: 'http-01',
        problem_type: 'x',
        error: 'not this host',
      }),
      acme(4, 'tls-alpn-01', 403, 'urn:ietf:params:acme:error:unauthorized', 'Failed to connect to 127.0.0.2:443 for the tls-alpn-01 challenge'),
      line({ level: 'error', ts: 5, logger: 'tls.obtain', msg: 'could not get certificate from issuer', identifier: host, error: summary }),
      line({ level: 'error', ts: 5, logger: 'tls.obtain', msg: 'will retry', error: summary }),
    ];
    const [failure] = issuanceFailuresIn(log.join('\n'));
    expect(failure).toEqual({
      host,
      at: new Date(5000).toISOString(),
      error:
        'the CA could not validate it: http-01: urn:ietf:params:acme:error:connection: Get "http://down.example.test/.well-known/acme-challenge/x": dial tcp 127.0.0.2:80: connect: connection refused; ' +
        'tls-alpn-01: urn:ietf:params:acme:error:unauthorized: Failed to connect to 127.0.0.2:443 for the tls-alpn-01 challenge',
      challenges: [
        { type: 'http-01', problem: 'urn:ietf:params:acme:error:connection', detail: expect.stringContaining('connection refused') },
        { type: 'tls-alpn-01', problem: 'urn:ietf:params:acme:error:unauthorized', detail: expect.stringContaining('Failed to connect') },
      ],
    });
    // A failure with no challenge refused (the order itself failed) keeps Caddy's words; the next attempt's own refusals replace the last ones.
    const next = [
      ...log,
      line({ level: 'info', ts: 6, logger: 'tls.obtain', msg: 'obtaining certificate', identifier: host }),
      line({
        level: 'error',
        ts: 7,
        logger: 'tls.obtain',
        msg: 'could not get certificate from issuer',
        identifier: host,
        error: `[${host}] HTTP 429 urn:ietf:params:acme:error:rateLimited - too many`,
      }),
    ];
    expect(issuanceFailuresIn(next.join('\n'))).toEqual([
      { host, at: new Date(7000).toISOString(), error: `[${host}] HTTP 429 urn:ietf:params:acme:error:rateLimited - too many` },
    ]);
  });
});
