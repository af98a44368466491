import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Services } from '../operations/operation.js';
import { Progress } from '../output/progress.js';
import { quarantineEnv } from '../domain/quarantine.js';
import { MAX_HEADER_BYTES } from '../operations/hook-pair.js';
import { abortPushes, trackPush } from '../operations/pushes-under-way.js';
import { EXIT, frame, OUTPUT, pushSocketPath, type PushHeader } from './hook-client.js';
import { runPush } from './hook.js';

export interface PushSocket {
  /** Takes no more pushes, aborts those under way (their previous releases keep serving) and waits for them, at most timeoutMs. */
  close(timeoutMs: number): Promise<void>;
}

/**
 * The server's end of the hooks' socket (hook-client.ts): each connection is
 * one push, run here with the server's warm services; its output goes back
 * to the hook as it happens, and the connection's end (the pusher hung up)
 * aborts it. The socket is in SKIFF_HOME (0700) and the owner's alone.
 */
export async function listenForPushes(services: Services): Promise<PushSocket> {
  const file = pushSocketPath(services.config.home);
  // A socket file left by a server that died answers nobody; a hook finding it runs the push itself.
  fs.rmSync(file, { force: true });
  const server = net.createServer((socket) => {
    const controller = new AbortController();
    void trackPush(controller, () => handle(services, socket, controller)).catch((err: unknown) => {
      services.log.error({ err }, 'a push through the hook socket failed');
      socket.destroy();
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(file, () => resolve());
    });
    fs.chmodSync(file, 0o600);
  } catch (err) {
    // A SKIFF_HOME too long for a socket's path, say: pushes on this host run in their hooks, as before there was a server (the doors' run here).
    services.log.warn({ err, socket: file }, 'cannot listen for pushes; a push on this host runs in its hook');
    server.close();
    return { close: (timeoutMs) => abortPushes(timeoutMs) };
  }
  return {
    async close(timeoutMs) {
      server.close();
      // The doors' pushes too (git-access.ts): all run in this process.
      await abortPushes(timeoutMs);
    },
  };
}

async function handle(services: Services, socket: net.Socket, controller: AbortController): Promise<void> {
  socket.on('close', () => controller.abort());
  socket.on('error', () => controller.abort());
  const text = await readHeader(socket);
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (!socket.destroyed) socket.write(frame(OUTPUT, chunk));
      callback();
    },
  });
  const progress = new Progress([sink], () => controller.abort());
  let header: PushHeader;
  try {
    header = parseHeader(text, services.config.reposDir);
  } catch (err) {
    services.log.warn({ err }, 'refused a push through the hook socket');
    progress.warn(`Push rejected: ${(err as Error).message}`);
    socket.end(frame(EXIT, Buffer.from('1')));
    return;
  }
  const status = await runPush(services, header, progress, controller.signal);
  socket.end(frame(EXIT, Buffer.from(String(status))));
}

/** The header line, bounded; the connection ends if it is longer or never comes. */
function readHeader(socket: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString();
      const end = text.indexOf('\n');
      if (end >= 0) {
        socket.off('data', onData);
        resolve(text.slice(0, end));
      } else if (text.length > MAX_HEADER_BYTES) reject(new Error('the hook header is too long'));
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error('the hook went before its header')));
  });
}

/**
 * A hook's header, checked: the repo is one of the apps' repos, and git's
 * quarantine variables point inside it (they are handed to git as they are).
 */
export function parseHeader(text: string, reposDir: string): PushHeader {
  const h = JSON.parse(text) as Partial<PushHeader>;
  const strings = [h.refLines, h.repoDir, h.user, h.source].every((v) => typeof v === 'string');
  if (!strings || typeof h.created !== 'boolean' || typeof h.startedMs !== 'number' || typeof h.gitEnv !== 'object' || h.gitEnv === null)
    throw new Error('the hook sent a malformed header');
  if (!Number.isInteger(h.lockPid) || (h.lockPid as number) <= 1) throw new Error('the hook named no receive-pack process');
  const repoDir = path.resolve(h.repoDir as string);
  if (path.dirname(repoDir) !== path.resolve(reposDir) || !repoDir.endsWith('.git') || !fs.existsSync(repoDir))
    throw new Error('the hook runs in no app repository');
  return { ...(h as PushHeader), repoDir, gitEnv: quarantineEnv(h.gitEnv, repoDir) };
}
