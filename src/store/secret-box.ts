import crypto from 'node:crypto';
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createFileOnce } from '../files.js';

const PREFIX = 'enc1:';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** The start of a sealed file: what it is, then the IV; the tag is its last 16 bytes. */
const FILE_MAGIC = Buffer.from('SKB1');
const FILE_HEADER = FILE_MAGIC.length + IV_BYTES;

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

  /**
   * Seals a stream into file (mode 0600, written beside it and renamed
   * into place once whole), as AES-256-GCM with the tag at the end; returns
   * the file's size.
   */
  async sealToFile(source: Readable, file: string): Promise<number> {
    const iv = crypto.randomBytes(IV_BYTES);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.key, iv);
    const partial = `${file}.partial`;
    const out = fs.createWriteStream(partial, { mode: 0o600, flags: 'w' });
    try {
      out.write(Buffer.concat([FILE_MAGIC, iv]));
      await pipeline(source, cipher, out, { end: false });
      out.end(cipher.getAuthTag());
      await finished(out);
      fs.renameSync(partial, file);
    } catch (err) {
      out.destroy();
      fs.rmSync(partial, { force: true });
      throw err;
    }
    return fs.statSync(file).size;
  }

  /** Opens a file sealToFile wrote. */
  openFile(file: string): OpenedFile {
    const size = fs.statSync(file).size;
    const fd = fs.openSync(file, 'r');
    const header = Buffer.alloc(FILE_HEADER);
    const tag = Buffer.alloc(TAG_BYTES);
    try {
      if (size < FILE_HEADER + TAG_BYTES || fs.readSync(fd, header, 0, FILE_HEADER, 0) !== FILE_HEADER || !header.subarray(0, 4).equals(FILE_MAGIC))
        throw new Error(`${file} is not a sealed file (cut short, or not Skiff's)`);
      fs.readSync(fd, tag, 0, TAG_BYTES, size - TAG_BYTES);
    } finally {
      fs.closeSync(fd);
    }
    const key = this.key;
    // Pulled, not pushed: nothing is read until the stream is, so a tag that fails is an error of the reader's stream, when it ends.
    async function* plain(): AsyncGenerator<Buffer> {
      const decipher = crypto.createDecipheriv('aes-256-gcm', key, header.subarray(4));
      decipher.setAuthTag(tag);
      for await (const chunk of fs.createReadStream(file, { start: FILE_HEADER, end: size - TAG_BYTES - 1 })) yield decipher.update(chunk as Buffer);
      yield decipher.final();
    }
    return { size: size - FILE_HEADER - TAG_BYTES, stream: Readable.from(plain(), { objectMode: false }) };
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

/** What a sealed file holds: the plain bytes' size, and a stream of them that fails at its end when a byte of the file was changed. */
export interface OpenedFile {
  size: number;
  stream: Readable;
}

function readKey(file: string): Buffer {
  const key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length !== KEY_BYTES) throw new Error(`${file} does not hold a ${KEY_BYTES}-byte key`);
  return key;
}
