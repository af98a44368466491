import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { QUARANTINE_VARIABLES } from '../domain/quarantine.js';

/*
 * The pre-receive hook as a thin client of the running server: it hands the
 * push to the server over a socket in SKIFF_HOME and prints what comes back,
 * so no push loads Skiff's modules, opens the database or the engine's
 * connection anew. Only node's own modules here: this is what every push
 * loads. With no server answering, the hook runs the push itself (hook.ts).
 */

/** What the hook tells the server: what git and Skiff's doors gave it, nothing else. */
export interface PushHeader {
  refLines: string;
  repoDir: string;
  /** SKIFF_USER, SKIFF_SOURCE and SKIFF_APP_CREATED, as the door set them. */
  user: string;
  source: string;
  created: boolean;
  /** git's receive-pack (the hook's parent): the app's lock lasts its life at most. */
  lockPid: number;
  /** git's quarantine variables: the pushed objects are there until the hook succeeds. */
  gitEnv: Record<string, string>;
  /** How long the hook's process took to get here. */
  startedMs: number;
}

/** The header of this hook's push: what git and the door put in its environment. */
export function hookPushHeader(refLines: string, gitEnv: Record<string, string>, startedMs: number): PushHeader {
  return {
    refLines,
    repoDir: process.cwd(),
    user: process.env.SKIFF_USER ?? '',
    source: process.env.SKIFF_SOURCE ?? '',
    created: process.env.SKIFF_APP_CREATED === '1',
    lockPid: process.ppid,
    gitEnv,
    startedMs,
  };
}

export function pushSocketPath(home: string): string {
  return path.join(home, 'push.sock');
}

/** Frames from the server: output for the pusher, then the hook's exit status. */
export const OUTPUT = 0x6f;
export const EXIT = 0x78;

export function frame(type: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head[0] = type;
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/**
 * Runs the push through the server; resolves with the hook's exit status,
 * or null when no server answers (then nothing was sent, and the caller runs
 * the push itself).
 */
export async function runHookClient(home: string, refLines: string): Promise<number | null> {
  const gitEnv: Record<string, string> = {};
  for (const name of QUARANTINE_VARIABLES) {
    const value = process.env[name];
    if (value !== undefined) gitEnv[name] = value;
  }
  const header = hookPushHeader(refLines, gitEnv, 0);
  const socket = await connect(pushSocketPath(home));
  if (!socket) return null;
  header.startedMs = performance.now();
  socket.write(`${JSON.stringify(header)}\n`);
  // git signals the hook when the pusher goes: closing the socket aborts the push in the server.
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => socket.destroy());
  return new Promise((resolve) => {
    let pending = Buffer.alloc(0);
    let status: number | undefined;
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 5) {
        const length = pending.readUInt32BE(1);
        if (pending.length < 5 + length) break;
        const payload = pending.subarray(5, 5 + length);
        if (pending[0] === OUTPUT) process.stdout.write(payload);
        else if (pending[0] === EXIT) status = Number(payload.toString());
        pending = pending.subarray(5 + length);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (status === undefined) process.stdout.write(' !     Push rejected: the Skiff server stopped during the push; push again\n');
      resolve(status ?? 1);
    });
  });
}

/** A connection to the server's push socket, or null when none answers (no server, or a stale socket). */
function connect(file: string): Promise<net.Socket | null> {
  if (!fs.existsSync(file)) return Promise.resolve(null);
  return new Promise((resolve) => {
    const socket = net.connect(file);
    socket.once('connect', () => resolve(socket));
    socket.once('error', () => resolve(null));
  });
}
