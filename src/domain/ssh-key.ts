import crypto from 'node:crypto';
import { InvalidError } from '../errors.js';
import { ssh2 } from '../modules.js';

export const MAX_PUBLIC_KEY_LENGTH = 16 * 1024;

export interface PublicKey {
  /** The key as one authorized_keys line, without options or comment. */
  text: string;
  fingerprint: string;
  type: string;
}

/** OpenSSH's fingerprint of a public key blob: SHA256:base64, no padding. */
export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${crypto.createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** Parses one OpenSSH public key (as in id_ed25519.pub). Private keys and junk are refused. */
export function parsePublicKey(input: string): PublicKey {
  if (input.length > MAX_PUBLIC_KEY_LENGTH) throw new InvalidError('that is too long for a public key');
  const line = input.trim();
  if (line === '') throw new InvalidError('no public key given; pipe one on stdin, e.g. keys:add NAME < ~/.ssh/id_ed25519.pub');
  if (line.includes('PRIVATE KEY')) throw new InvalidError('that is a private key; give the public one (the .pub file)');
  if (line.includes('\n')) throw new InvalidError('give one public key at a time');
  const parsed = ssh2().utils.parseKey(line);
  if (parsed instanceof Error || Array.isArray(parsed)) {
    throw new InvalidError('not an OpenSSH public key; give the contents of a .pub file');
  }
  if (parsed.isPrivateKey()) throw new InvalidError('that is a private key; give the public one (the .pub file)');
  const blob = parsed.getPublicSSH();
  return { text: `${parsed.type} ${blob.toString('base64')}`, fingerprint: fingerprintOf(blob), type: parsed.type };
}
