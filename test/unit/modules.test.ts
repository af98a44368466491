import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { ssh2, standIn } from '../../src/modules.js';

const require = createRequire(import.meta.url);
const local = createRequire(require.resolve('ssh2'));
const hasBinding = (() => {
  try {
    local('./protocol/crypto/build/Release/sshcrypto.node');
    return true;
  } catch {
    return false;
  }
})();

describe('modules loaded on first use', () => {
  it('loads ssh2 once, at the first call, and it reads keys', () => {
    expect(require.cache[require.resolve('ssh2')]).toBeUndefined();
    const first = ssh2();
    expect(require.cache[require.resolve('ssh2')]).toBeDefined();
    expect(ssh2()).toBe(first);
    const pair = first.utils.generateKeyPairSync('ed25519');
    const parsed = first.utils.parseKey(pair.public);
    expect(parsed instanceof Error ? parsed.message : Array.isArray(parsed) ? 'many' : parsed.type).toBe('ssh-ed25519');
  });

  it.runIf(hasBinding)("keeps ssh2's WebAssembly poly1305 out where its native binding serves chacha20", async () => {
    ssh2();
    const poly = require.cache[local.resolve('./protocol/crypto/poly1305.js')]?.exports as () => Promise<{ cwrap: () => () => void }>;
    const fallback = (await poly()).cwrap();
    expect(() => fallback()).toThrow(/native crypto binding/);
    // chacha20-poly1305 still works: a handshake and a session over it, ssh2 to ssh2 on loopback.
    const { Server, Client, utils } = ssh2();
    const hostKey = utils.generateKeyPairSync('ed25519').private;
    const server = new Server({ hostKeys: [hostKey] }, (client) => {
      client.on('authentication', (ctx) => ctx.accept());
      client.on('ready', () =>
        client.on('session', (accept) =>
          accept().on('exec', (acceptExec) => {
            const channel = acceptExec();
            channel.end('over chacha20\n');
            channel.exit(0);
          }),
        ),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const client = new Client();
    try {
      const answer = await new Promise<string>((resolve, reject) => {
        client.on('error', reject);
        client.on('ready', () =>
          client.exec('hello', (err, stream) => {
            if (err) return reject(err);
            let out = '';
            stream.on('data', (d: Buffer) => (out += d.toString())).on('close', () => resolve(out));
          }),
        );
        client.connect({ host: '127.0.0.1', port, username: 'u', password: 'p', algorithms: { cipher: ['chacha20-poly1305@openssh.com'] } });
      });
      expect(answer).toBe('over chacha20\n');
    } finally {
      client.end();
      server.close();
    }
  });

  it('a stand-in never replaces a module already loaded', () => {
    const file = require.resolve('yaml');
    const real: unknown = require('yaml');
    standIn(file, { fake: true });
    expect(require('yaml')).toBe(real);
  });
});
