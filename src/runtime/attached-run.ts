import { dockerMessage } from '../docker/client.js';
import type { Engine } from '../docker/engine.js';
import { ExternalError } from '../errors.js';
import type { OneOffIO } from './runtime.js';

/**
 * Runs a created container attached to io, as `run` and `services:connect`
 * do: prepare (networks to join) first, then its output to io (a terminal's
 * as it is, else stdout and stderr apart), io's input to it, the terminal's
 * size followed; returns its exit status (255 when io went away). The
 * container is removed afterwards, whatever happens.
 */
export async function runAttached(engine: Engine, id: string, tty: boolean, io: OneOffIO, prepare: () => Promise<void>): Promise<number> {
  const { containers } = engine;
  const remove = containers.removerOf(id);
  const onAbort = (): void => void remove();
  io.signal.addEventListener('abort', onAbort, { once: true });
  await prepare().catch(async (err: unknown) => {
    await remove();
    throw new ExternalError(`could not run the command: ${dockerMessage(err)}`, err);
  });
  let detachStdin = (): void => {};
  try {
    // Stopped while the engine created it (a replaced or interrupted run): the abort came before the listener.
    if (io.signal.aborted) return 255;
    const stream = await containers.attach(id, { stdin: true });
    if (tty) stream.pipe(io.stdout, { end: false });
    else containers.demux(stream, io.stdout, io.stderr);
    // Asked before the start: the container is only created yet.
    const exited = containers.nextExit(id);
    await containers.start(id);
    if (tty && io.tty) {
      await containers.resize(id, io.tty).catch(() => undefined);
      io.onResize?.((size) => void containers.resize(id, size).catch(() => undefined));
    }
    const forward = (d: Buffer): void => void stream.write(d);
    // End of input closes a non-terminal's stdin (cat needs it). A terminal is not
    // closed that way: ending the attach stream there can drop the last output.
    const close = (): void => {
      if (!tty) stream.end();
    };
    io.stdin.on('data', forward);
    io.stdin.on('end', close);
    detachStdin = () => {
      io.stdin.off('data', forward);
      io.stdin.off('end', close);
      io.stdin.pause();
    };
    io.stdin.resume();
    const status = await exited;
    // The last output may still be in flight after the exit.
    await new Promise<void>((resolve) => {
      if ((stream as NodeJS.ReadableStream & { readableEnded?: boolean }).readableEnded) return resolve();
      stream.once('end', resolve);
      setTimeout(resolve, 1000).unref();
    });
    return status;
  } catch (err) {
    if (io.signal.aborted) return 255;
    throw new ExternalError(`could not run the command: ${dockerMessage(err)}`, err);
  } finally {
    detachStdin();
    io.signal.removeEventListener('abort', onAbort);
    await remove();
  }
}
