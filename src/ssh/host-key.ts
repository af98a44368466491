import fs from 'node:fs';
import path from 'node:path';
import ssh2 from 'ssh2';

/** The server's host key: made on first start (ed25519, mode 0600), the same ever after. */
export function ensureHostKey(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const { private: privateKey, public: publicKey } = ssh2.utils.generateKeyPairSync('ed25519');
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, privateKey, { mode: 0o600 });
  fs.writeFileSync(`${file}.pub`, `${publicKey}\n`, { mode: 0o644 });
  // link, not rename: if another process made the key meanwhile, keep theirs.
  try {
    fs.linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    fs.unlinkSync(tmp);
  }
  return fs.readFileSync(file);
}
