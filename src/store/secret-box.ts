import crypto from 'node:crypto';
import fs from 'node:fs';
import { createFileOnce } from '../files.js';

const PREFIX = 'enc1:';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Encrypts config values at rest (AES-256-GCM) with a key kept beside the
 * database in a file only its owner can read. Values are decrypted only to
 * start containers and for config:get.
 */
export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  /** The key in file, made (mode 0600) if missing; a concurrent maker's key wins. */
  static load(file: string): SecretBox {
    try {
      return new SecretBox(readKey(file));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    createFileOnce(file, crypto.randomBytes(KEY_BYTES).toString('base64'), 0o600);
    return new SecretBox(readKey(file));
  }

  /** A throwaway key, for tests and in-memory stores. */
  static ephemeral(): SecretBox {
    return new SecretBox(crypto.randomBytes(KEY_BYTES));
  }

  seal(plain: string): string {
    const iv = crypto.randomBytes(IV_BYTES);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  }

  /** Values written before encryption came in are returned as they are, and sealed on their next write. */
  open(stored: string): string {
    if (!stored.startsWith(PREFIX)) return stored;
    const raw = Buffer.from(stored.slice(PREFIX.length), 'base64');
    const decipher = crypto.createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, IV_BYTES));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  }
}

function readKey(file: string): Buffer {
  const key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length !== KEY_BYTES) throw new Error(`${file} does not hold a ${KEY_BYTES}-byte key`);
  return key;
}
