import fs from 'node:fs';
import { createFileOnce } from '../files.js';
import { ssh2 } from '../modules.js';

/** The server's host key: made on first start (ed25519, mode 0600), the same ever after. */
export function ensureHostKey(file: string): Buffer {
  try {
    return checked(file, fs.readFileSync(file));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const { private: privateKey, public: publicKey } = usableKeyPair();
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
 * An ed25519 pair that ssh2 can read back. Its generator drops leading zero
 * bytes of the public key, so about one pair in 256 cannot be parsed
 * (mscdex/ssh2#1390): a server given one could never start. Such a pair is
 * thrown away and another made.
 */
export function usableKeyPair(generate: () => { private: string; public: string } = () => ssh2().utils.generateKeyPairSync('ed25519')): {
  private: string;
  public: string;
} {
  for (let i = 0; i < 64; i++) {
    const pair = generate();
    if (!(ssh2().utils.parseKey(pair.private) instanceof Error) && !(ssh2().utils.parseKey(pair.public) instanceof Error)) return pair;
  }
  throw new Error('could not make an ed25519 host key that ssh2 reads back');
}
