import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { OpenedFile, SecretBox } from './secret-box.js';

/** Backups' files: SKIFF_HOME/backups/SERVICE-ID/ID.backup, sealed with Skiff's key, mode 0600 in directories only Skiff reads. */
export class BackupFiles {
  constructor(
    private readonly dir: string,
    private readonly box: SecretBox,
  ) {}

  file(serviceId: string, id: number): string {
    return path.join(this.dir, serviceId, `${id}.backup`);
  }

  /** Seals the stream into the backup's file; returns its size. */
  async write(serviceId: string, id: number, content: Readable): Promise<number> {
    fs.mkdirSync(path.join(this.dir, serviceId), { recursive: true, mode: 0o700 });
    return this.box.sealToFile(content, this.file(serviceId, id));
  }

  /** The backup's plain bytes; the stream fails at its end when the file was changed. */
  read(serviceId: string, id: number): OpenedFile {
    return this.box.openFile(this.file(serviceId, id));
  }

  exists(serviceId: string, id: number): boolean {
    return fs.existsSync(this.file(serviceId, id));
  }

  remove(serviceId: string, id: number): void {
    fs.rmSync(this.file(serviceId, id), { force: true });
  }

  removeService(serviceId: string): void {
    fs.rmSync(path.join(this.dir, serviceId), { recursive: true, force: true });
  }
}
