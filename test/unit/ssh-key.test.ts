import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { parsePublicKey } from '../../src/domain/ssh-key.js';
import { makeKey, tempDir } from '../helpers/skiff.js';

describe('parsePublicKey', () => {
  it('gives the same fingerprint as ssh-keygen, for ed25519 and RSA keys', async () => {
    const dir = tempDir('keys');
    for (const type of ['ed25519', 'rsa']) {
      const file = path.join(dir, type);
      await execa('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', 'me@host', '-f', file]);
      const expected = (await execa('ssh-keygen', ['-lf', `${file}.pub`])).stdout.split(' ')[1];
      const key = parsePublicKey(fs.readFileSync(`${file}.pub`, 'utf8'));
      expect(key.fingerprint).toBe(expected);
      expect(key.text).not.toContain('me@host');
    }
  });

  it('refuses private keys, several keys, empty input and junk', async () => {
    const file = await makeKey(tempDir('keys'), 'k');
    expect(() => parsePublicKey(fs.readFileSync(file, 'utf8'))).toThrow(/private key/);
    const pub = fs.readFileSync(`${file}.pub`, 'utf8').trim();
    expect(() => parsePublicKey(`${pub}\n${pub}`)).toThrow(/one public key at a time/);
    expect(() => parsePublicKey('  ')).toThrow(/no public key given/);
    expect(() => parsePublicKey('ssh-rsa @@@')).toThrow(/not an OpenSSH public key/);
  });
});

describe('the host key', () => {
  it('makes ed25519 pairs that OpenSSH and ssh2 both read, leading zero bytes and all', async () => {
    const { ed25519KeyPair } = await import('../../src/ssh/host-key.js');
    const { ssh2 } = await import('../../src/modules.js');
    const dir = tempDir('host-key');
    const file = path.join(dir, 'key');
    const pair = ed25519KeyPair();
    fs.writeFileSync(file, pair.private, { mode: 0o600 });
    // ssh-keygen derives the public key from the private file: the two must agree.
    expect((await execa('ssh-keygen', ['-y', '-f', file])).stdout.trim()).toBe(pair.public);
    // About one public key in 256 starts with a zero byte (ssh2's own generator drops it): pairs until two such came.
    let leadingZero = 0;
    for (let i = 0; i < 5000 && leadingZero < 2; i++) {
      const { private: privateKey, public: publicKey } = i === 0 ? pair : ed25519KeyPair();
      if (Buffer.from(publicKey.split(' ')[1] ?? '', 'base64')[19] === 0) leadingZero++;
      const parsed = ssh2().utils.parseKey(privateKey);
      if (parsed instanceof Error) throw parsed;
      const signature = parsed.sign(Buffer.from('skiff'));
      const pub = ssh2().utils.parseKey(publicKey);
      if (pub instanceof Error) throw pub;
      expect(pub.verify(Buffer.from('skiff'), signature)).toBe(true);
    }
    expect(leadingZero).toBe(2);
  });

  it('refuses at start a host key file that is plainly no private key, and keeps one that is', async () => {
    const { ensureHostKey } = await import('../../src/ssh/host-key.js');
    const dir = tempDir('host-key');
    const file = path.join(dir, 'ssh_host_ed25519_key');
    const made = ensureHostKey(file);
    expect(ensureHostKey(file).equals(made)).toBe(true);
    for (const junk of ['', made.toString().slice(0, 60), 'ssh-ed25519 AAAA not a private key\n']) {
      fs.writeFileSync(file, junk);
      expect(() => ensureHostKey(file)).toThrow(/is not a private key; restore it, or remove it/);
    }
  });
});
