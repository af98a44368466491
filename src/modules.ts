import { createRequire } from 'node:module';
import type Ssh2 from 'ssh2';

/**
 * Dependencies that load on first use, and stand-ins for the parts of them
 * Skiff does not need at start: an idle server holds only what it uses.
 */

const require = createRequire(import.meta.url);

/** Puts exports into the module cache as the CommonJS module file, so a require of it gets them and never reads the file. */
export function standIn(file: string, exports: unknown): void {
  if (require.cache[file]) return;
  const Module = require('node:module') as { new (id: string): NodeJS.Module };
  const entry = new Module(file);
  Object.assign(entry, { filename: file, loaded: true, exports });
  require.cache[file] = entry;
}

let ssh2Module: typeof Ssh2 | undefined;

/**
 * ssh2, loaded at its first use (the first SSH connection, key or host key):
 * a server no one has reached yet does without its module graph and the
 * OpenSSL work it does as it loads, about 3 MB resident. Where its native
 * crypto binding is built, its WebAssembly poly1305 (the fallback for
 * chacha20-poly1305 without the binding) is never called, yet it would be
 * compiled at load with 16 MB of wasm memory: a stand-in takes its place.
 */
export function ssh2(): typeof Ssh2 {
  if (ssh2Module) return ssh2Module;
  const local = createRequire(require.resolve('ssh2'));
  if (loads(local, './protocol/crypto/build/Release/sshcrypto.node')) {
    const unused = (): never => {
      throw new Error('ssh2 called its WebAssembly poly1305 although its native crypto binding is loaded');
    };
    standIn(local.resolve('./protocol/crypto/poly1305.js'), () => Promise.resolve({ _malloc: () => 0, cwrap: () => unused }));
  }
  ssh2Module = local('./index.js') as typeof Ssh2;
  return ssh2Module;
}

function loads(from: NodeJS.Require, id: string): boolean {
  try {
    from(id);
    return true;
  } catch {
    return false;
  }
}
