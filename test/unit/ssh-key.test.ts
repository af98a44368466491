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
  it('throws away a generated pair that ssh2 cannot read back (about one in 256), and makes another', async () => {
    const { usableKeyPair } = await import('../../src/ssh/host-key.js');
    const good = usableKeyPair();
    const broken = { private: good.private, public: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAH+xyz' };
    let calls = 0;
    const pair = usableKeyPair(() => (++calls === 1 ? broken : good));
    expect(calls).toBe(2);
    expect(pair).toBe(good);
    expect(() => usableKeyPair(() => broken)).toThrow(/could not make an ed25519 host key/);
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
