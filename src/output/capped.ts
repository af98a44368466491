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
