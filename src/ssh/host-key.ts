import crypto from 'node:crypto';
import fs from 'node:fs';
import { createFileOnce } from '../files.js';

/** The server's host key: made on first start (ed25519, mode 0600), the same ever after. */
export function ensureHostKey(file: string): Buffer {
  try {
    return checked(file, fs.readFileSync(file));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const { private: privateKey, public: publicKey } = ed25519KeyPair();
  createFileOnce(file, privateKey, 0o600);
  createFileOnce(`${file}.pub`, `${publicKey}\n`, 0o644);
  return fs.readFileSync(file);
}

/**
 * ssh2 reads the key only at the first connection (it loads then): a file
 * that is plainly no private key (empty, cut short, something else) stops the
 * start here instead.
 */
function checked(file: string, key: Buffer): Buffer {
  if (!/^-----BEGIN [A-Z ]*PRIVATE KEY-----\r?\n[\s\S]+\n-----END [A-Z ]*PRIVATE KEY-----\s*$/.test(key.toString('latin1'))) {
    throw new Error(`the SSH host key ${file} is not a private key; restore it, or remove it and its .pub to make a new one`);
  }
  return key;
}

/**
 * A new ed25519 pair in OpenSSH's own formats: the private key unencrypted,
 * as `ssh-keygen -N ''` writes it (openssh-key-v1, PROTOCOL.key), the public
 * key as one authorized_keys line. Made with node's crypto rather than
 * ssh2's generator: loading ssh2 at the first start would cost the idle
 * server some 2 MB it otherwise spends only once someone connects, and that
 * generator drops leading zero bytes of the public key (mscdex/ssh2#1390).
 */
export function ed25519KeyPair(): { private: string; public: string } {
  const jwk = crypto.generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
  const [seed, pub] = [Buffer.from(jwk.d ?? '', 'base64url'), Buffer.from(jwk.x ?? '', 'base64url')];
  const publicBlob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
  const check = crypto.randomBytes(4);
  const secret = Buffer.concat([check, check, publicBlob, sshString(Buffer.concat([seed, pub])), sshString('')]);
  // Padded to the cipher's block size (8 for none) with bytes 1, 2, 3, …
  const padding = Buffer.from(Array.from({ length: (8 - (secret.length % 8)) % 8 }, (_, i) => i + 1));
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    uint32(1),
    sshString(publicBlob),
    sshString(Buffer.concat([secret, padding])),
  ]);
  const lines = body.toString('base64').match(/.{1,70}/g) ?? [];
  return {
    private: `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`,
    public: `ssh-ed25519 ${publicBlob.toString('base64')}`,
  };
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** SSH's string: its length, then its bytes. */
function sshString(value: string | Buffer): Buffer {
  const bytes = Buffer.from(value);
  return Buffer.concat([uint32(bytes.length), bytes]);
}
