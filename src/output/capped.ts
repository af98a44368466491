import { Writable } from 'node:stream';

/** A kept log (a build's, a release phase's) keeps this much; one that prints more (in a loop, say) does not fill the disk. */
export const MAX_LOG_BYTES = 16 * 1024 * 1024;

/** Writes to target until limit bytes, then one line that says the rest was left out, then nothing. */
export function capped(target: NodeJS.WritableStream, limit: number): Writable {
  let written = 0;
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (written < limit) {
        const room = limit - written;
        target.write(chunk.length <= room ? chunk : chunk.subarray(0, room));
        written += chunk.length;
        if (written >= limit) target.write(`\n[skiff: the log stops here, at ${limit / 1024 / 1024} MiB; the pusher saw the rest]\n`);
      }
      done();
    },
  });
}

/** Keeps the last limit bytes written to it (a scheduled job's history keeps the end of its output, where the error is). */
export class Tail extends Writable {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly limit: number) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - this.chunks[0].length >= this.limit) this.size -= (this.chunks.shift() as Buffer).length;
    done();
  }

  /** The kept bytes as text; a cut at the start is said so, and a split character dropped. */
  text(): string {
    const all = Buffer.concat(this.chunks);
    if (all.length <= this.limit) return all.toString();
    return `[skiff: earlier output left out]\n${all
      .subarray(all.length - this.limit)
      .toString()
      .replace(/^\uFFFD+/, '')}`;
  }
}
