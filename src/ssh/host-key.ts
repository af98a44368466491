import fs from 'node:fs';
import ssh2 from 'ssh2';
import { createFileOnce } from '../files.js';

/** The server's host key: made on first start (ed25519, mode 0600), the same ever after. */
export function ensureHostKey(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const { private: privateKey, public: publicKey } = ssh2.utils.generateKeyPairSync('ed25519');
  createFileOnce(file, privateKey, 0o600);
  createFileOnce(`${file}.pub`, `${publicKey}\n`, 0o644);
  return fs.readFileSync(file);
}
