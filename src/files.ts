import fs from 'node:fs';
import path from 'node:path';

/**
 * Writes data to file with mode unless file exists, atomically: written
 * aside, then linked into place, so a reader never sees half a file and, if
 * another process made it meanwhile, theirs is kept.
 */
export function createFileOnce(file: string, data: string | Buffer, mode: number): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, data, { mode });
  try {
    fs.linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    fs.unlinkSync(tmp);
  }
}
