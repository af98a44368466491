import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { InvalidError } from '../errors.js';

/** A custom certificate, checked: its chain and key as PEM, and what `certs` shows of it. */
export interface CertificateBundle {
  /** The leaf first, then each issuer in turn. */
  chain: string;
  key: string;
  /** The DNS names of the leaf (its subjectAltName, else its common name), lower-case. */
  names: string[];
  issuer: string;
  notAfter: string;
  fingerprint: string;
}

export const MAX_BUNDLE_BYTES = 64 * 1024;

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n[A-Za-z0-9+/=\r\n]+?-----END \1-----/g;

/**
 * certs:add's input: a certificate chain (leaf first) and its unencrypted
 * private key, in one PEM. Refused with one line when the key does not
 * match the leaf, a certificate is not signed by the next, or the leaf is
 * expired or not valid yet.
 */
export function parseCertificateBundle(input: string, now = new Date()): CertificateBundle {
  if (Buffer.byteLength(input) > MAX_BUNDLE_BYTES) throw new InvalidError(`the bundle is larger than ${MAX_BUNDLE_BYTES / 1024} KiB`);
  const blocks = [...input.matchAll(BLOCK)].map((m) => ({ type: m[1], pem: `${m[0].replace(/\r\n/g, '\n')}\n` }));
  if (blocks.some((b) => b.type === 'ENCRYPTED PRIVATE KEY'))
    throw new InvalidError('the private key is encrypted: give it unencrypted (openssl pkey -in key.pem)');
  const keys = blocks.filter((b) => /^(RSA |EC )?PRIVATE KEY$/.test(b.type));
  const certs = blocks.filter((b) => b.type === 'CERTIFICATE');
  if (certs.length === 0 || keys.length !== 1) {
    throw new InvalidError('give one PEM with the certificate chain (leaf first) and its private key: cat cert.pem chain.pem key.pem | certs:add APP');
  }
  let chain: X509Certificate[];
  let key: KeyObject;
  try {
    chain = certs.map((c) => new X509Certificate(c.pem));
  } catch {
    throw new InvalidError('a certificate in the bundle does not parse');
  }
  try {
    key = createPrivateKey(keys[0].pem);
  } catch {
    throw new InvalidError('the private key does not parse');
  }
  const leaf = chain[0];
  if (!leaf.checkPrivateKey(key)) throw new InvalidError('the private key does not match the certificate');
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!chain[i].checkIssued(chain[i + 1]) || !chain[i].verify(chain[i + 1].publicKey)) {
      throw new InvalidError(`the chain is broken: certificate ${i + 1} (${chain[i].subject.replace(/\n/g, ', ')}) is not signed by certificate ${i + 2}`);
    }
  }
  const notAfter = new Date(leaf.validTo);
  if (notAfter <= now) throw new InvalidError(`the certificate expired on ${notAfter.toISOString()}`);
  if (new Date(leaf.validFrom) > now) throw new InvalidError(`the certificate is not valid until ${new Date(leaf.validFrom).toISOString()}`);
  const names = namesOf(leaf);
  if (names.length === 0) throw new InvalidError('the certificate names no host (no DNS name in its subjectAltName or common name)');
  return {
    chain: certs.map((c) => c.pem).join(''),
    key: key.export({ type: 'pkcs8', format: 'pem' }).toString(),
    names,
    issuer: commonName(leaf.issuer) ?? leaf.issuer.replace(/\n/g, ', '),
    notAfter: notAfter.toISOString(),
    fingerprint: leaf.fingerprint256,
  };
}

function commonName(dn: string): string | undefined {
  return /^CN=(.+)$/m.exec(dn)?.[1];
}

function namesOf(cert: X509Certificate): string[] {
  const san = (cert.subjectAltName ?? '')
    .split(', ')
    .filter((e) => e.startsWith('DNS:'))
    .map((e) => e.slice(4).toLowerCase());
  const names = san.length ? san : [commonName(cert.subject)?.toLowerCase()].filter((n): n is string => n !== undefined && /^[a-z0-9*.-]+$/.test(n));
  return [...new Set(names)];
}

/** Whether a certificate name (maybe a wildcard, *.example.com: one label) covers a host name. */
export function nameCovers(name: string, host: string): boolean {
  if (!name.startsWith('*.')) return name === host;
  const dot = host.indexOf('.');
  return dot > 0 && host.slice(dot + 1) === name.slice(2);
}

/**
 * Why an app may not serve a certificate with these names, or null when it
 * may: every name must be a host of the app, or a wildcard that covers one
 * of its hosts and none of another app's. Else the router would serve it,
 * by SNI, for a host that is not the app's.
 */
export function certificateMisfit(names: readonly string[], app: string, hosts: readonly string[], othersHosts: readonly string[]): string | null {
  for (const name of names) {
    if (!name.startsWith('*.')) {
      if (!hosts.includes(name)) return `the certificate names ${name}, which is not a host of ${app} (domains:add ${app} ${name} first)`;
      continue;
    }
    const other = othersHosts.find((h) => nameCovers(name, h));
    if (other) return `the certificate names ${name}, which covers ${other}, a host of another app`;
    if (!hosts.some((h) => nameCovers(name, h))) return `the certificate names ${name}, which covers no host of ${app}`;
  }
  return null;
}
