import net from 'node:net';
import { Writable } from 'node:stream';
import type { Logger } from '../log.js';
import type { ClientInfo, Connection, Server as Ssh2Server, ServerChannel } from 'ssh2';
import type { Caller, Services } from '../operations/operation.js';
import type { TerminalSize } from '../output/terminal.js';
import { EventEmitter } from 'node:events';
import { splitExecLine } from '../domain/exec-line.js';
import { fingerprintOf } from '../domain/ssh-key.js';
import { ssh2 } from '../modules.js';
import { addressPrefix } from '../domain/address-policy.js';
import { parseGitRequest } from '../domain/git-request.js';
import { isSkiffError, userMessage } from '../errors.js';
import { serveGit } from './git-transport.js';

export interface SshServerDeps {
  services: Services;
  hostKey: Buffer;
}

/** Sessions one connection may have open at once; git and commands use one each. */
const MAX_SESSIONS_PER_CONNECTION = 10;
/** Connections that have not authenticated yet: in all (FULL), and from one network (a /24 or /64). */
const MAX_UNAUTHENTICATED = 64;
const MAX_UNAUTHENTICATED_PER_PREFIX = 16;
/** Past START_DROPPING waiting, newcomers from busy networks are dropped with a chance from DROP_RATE up to 1 at FULL. */
const START_DROPPING = 32;
const DROP_RATE = 0.3;
/** Time a connection has to authenticate. */
const AUTH_TIMEOUT_MS = 20_000;

/**
 * The SSH door: public-key authentication against the keys Skiff knows, then
 * every exec request is dispatched like an OpenSSH forced command, to git or
 * to a Skiff command. Built apart from listen() so tests can use port 0.
 */
export function createSshServer({ services, hostKey }: SshServerDeps): net.Server {
  const { store, log } = services;
  // Authenticated connections per user: SKIFF_MAX_CONNECTIONS_PER_USER bounds them (admins are not bounded).
  const open = new Map<string, number>();
  // Made at the first connection, so ssh2 loads then (see ssh2() in modules.ts).
  let ssh: Ssh2Server | undefined;
  const handshake = (): Ssh2Server => (ssh ??= new (ssh2().Server)({ hostKeys: [hostKey], ident: `skiff_${services.version}` }, onClient));
  function onClient(client: Connection, info: ClientInfo): void {
    let caller: Caller | undefined;
    let sessions = 0;
    let overQuota = false;
    const address = info.ip;
    const gateEntry = gate.pending.get(`${info.ip}:${info.port}`);
    client.on('error', (err) => log.debug({ err, address }, 'ssh client error'));
    // git and commands are request/response: Nagle's delay would add ~40 ms to every round trip.
    // (ssh2 has the method on server connections too; its types only declare it on Client.)
    (client as Connection & { setNoDelay(noDelay: boolean): void }).setNoDelay(true);

    client.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
      const fingerprint = fingerprintOf(ctx.key.data);
      const key = store.keys.findByFingerprint(fingerprint);
      if (!key) return ctx.reject(['publickey']);
      // Without a signature the client only asks whether this key would do.
      if (!ctx.signature) return ctx.accept();
      const parsed = ssh2().utils.parseKey(key.publicKey);
      if (!ctx.blob || parsed instanceof Error || Array.isArray(parsed) || parsed.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) {
        return ctx.reject(['publickey']);
      }
      caller = { user: key.user, admin: key.admin, via: 'ssh', fingerprint, address };
      ctx.accept();
    });

    client.on('ready', () => {
      gateEntry?.authenticated();
      if (caller) {
        const user = caller.user;
        const limit = services.config.quotas.connectionsPerUser;
        const count = (open.get(user) ?? 0) + 1;
        open.set(user, count);
        client.once('close', () => {
          const left = (open.get(user) ?? 1) - 1;
          if (left > 0) open.set(user, left);
          else open.delete(user);
        });
        overQuota = !caller.admin && limit > 0 && count > limit;
        if (overQuota) log.warn({ user, open: count }, 'too many SSH connections for one user');
      }
      client.on('session', (acceptSession, rejectSession) => {
        if (!caller || sessions >= MAX_SESSIONS_PER_CONNECTION) return rejectSession();
        sessions++;
        const session = acceptSession();
        const who = caller;
        let pty: TerminalSize | undefined;
        const resizes = new EventEmitter();
        session.on('pty', (accept, _reject, info) => {
          pty = { rows: info.rows, cols: info.cols };
          accept?.();
        });
        session.on('env', (accept) => accept?.());
        session.on('window-change', (accept, _reject, info) => {
          pty = { rows: info.rows, cols: info.cols };
          resizes.emit('resize', pty);
          accept?.();
        });
        session.on('subsystem', (_accept, reject) => reject());
        session.on('close', () => sessions--);
        session.on('shell', (accept) => {
          const channel = accept();
          void commands().then(({ renderHelp }) => {
            write(channel, pty !== undefined, renderHelp('ssh'));
            finish(channel, 0);
          });
        });
        session.on('exec', (accept, _reject, { command }) => {
          const channel = accept();
          if (overQuota) {
            channel.stderr.write(
              ` !     you have ${services.config.quotas.connectionsPerUser} SSH connections to Skiff open, the most SKIFF_MAX_CONNECTIONS_PER_USER allows; close one and try again\n`,
            );
            finish(channel, 1);
            return;
          }
          const terminal = { size: pty, onResize: (listener: (size: TerminalSize) => void) => resizes.on('resize', listener) };
          runExec(services, who, command, channel, terminal).then(
            (status) => finish(channel, status),
            (err) => {
              log.error({ err, user: who.user }, 'exec failed');
              finish(channel, 1);
            },
          );
        });
      });
    });
  }
  const gate = new ConnectionGate(log, (socket) => {
    try {
      handshake().injectSocket(socket);
    } catch (err) {
      log.error({ err }, 'cannot start an SSH handshake: ssh2 refuses the host key');
      socket.destroy();
    }
  });
  return gate.server;
}

interface GateEntry {
  authenticated(): void;
}

interface Pending {
  prefix: string;
  since: number;
  drop(): void;
}

/**
 * The TCP door in front of ssh2, in the manner of OpenSSH's MaxStartups
 * start:rate:full. Connections that have not authenticated yet are counted
 * by the network they come from (a /24, a /64: one host has many addresses)
 * and have a deadline. Past START of them, a new one from a network that
 * already has some waiting is dropped at random, the more often the fuller;
 * at FULL, a newcomer from a lighter network pushes out the oldest waiting
 * connection of the heaviest one instead of being turned away. So a flood
 * from a few networks cannot lock out anyone else, and users already in are
 * never touched.
 */
class ConnectionGate {
  readonly server: net.Server;
  readonly pending = new Map<string, GateEntry>();
  private readonly waiting = new Map<string, Pending>();
  private readonly perPrefix = new Map<string, number>();

  constructor(
    private readonly log: Logger,
    admit: (socket: net.Socket) => void,
    private readonly random: () => number = Math.random,
  ) {
    this.server = net.createServer((socket) => this.accept(socket, admit));
  }

  /** Whether a newcomer from this network may wait to authenticate, making room when it must. */
  private makeRoom(prefix: string): boolean {
    const mine = this.perPrefix.get(prefix) ?? 0;
    if (mine >= MAX_UNAUTHENTICATED_PER_PREFIX) return false;
    const total = this.waiting.size;
    if (total >= MAX_UNAUTHENTICATED) {
      const [heaviest, most] = [...this.perPrefix.entries()].reduce((a, b) => (b[1] > a[1] ? b : a));
      if (most <= mine) return false;
      const oldest = [...this.waiting.values()].filter((p) => p.prefix === heaviest).reduce((a, b) => (b.since < a.since ? b : a));
      this.log.warn({ prefix: heaviest }, 'unauthenticated connections full; dropping the oldest of the busiest network');
      oldest.drop();
      return true;
    }
    if (total < START_DROPPING || mine === 0) return true;
    const chance = DROP_RATE + ((1 - DROP_RATE) * (total - START_DROPPING)) / (MAX_UNAUTHENTICATED - START_DROPPING);
    return this.random() >= chance;
  }

  private accept(socket: net.Socket, admit: (socket: net.Socket) => void): void {
    const address = socket.remoteAddress ?? '?';
    const prefix = addressPrefix(address);
    const key = `${address}:${socket.remotePort}`;
    socket.on('error', () => {});
    if (!this.makeRoom(prefix)) {
      this.log.warn({ address }, 'too many unauthenticated connections; dropping one');
      socket.destroy();
      return;
    }
    this.perPrefix.set(prefix, (this.perPrefix.get(prefix) ?? 0) + 1);
    let settled = false;
    const settle = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      this.pending.delete(key);
      this.waiting.delete(key);
      const n = (this.perPrefix.get(prefix) ?? 1) - 1;
      if (n > 0) this.perPrefix.set(prefix, n);
      else this.perPrefix.delete(prefix);
    };
    const drop = (): void => {
      settle();
      socket.destroy();
    };
    const deadline = setTimeout(() => {
      this.log.info({ address }, 'no authentication in time; disconnecting');
      drop();
    }, AUTH_TIMEOUT_MS);
    this.pending.set(key, { authenticated: settle });
    this.waiting.set(key, { prefix, since: performance.now(), drop });
    socket.once('close', settle);
    admit(socket);
  }
}

interface Terminal {
  size: TerminalSize | undefined;
  onResize: (listener: (size: TerminalSize) => void) => void;
}

/** The commands load with the first one run: a server that only takes pushes, or waits, does not carry them. */
const commands = (): Promise<typeof import('../commands/dispatch.js')> => import('../commands/dispatch.js');

async function runExec(services: Services, caller: Caller, command: string, channel: ServerChannel, terminal: Terminal): Promise<number> {
  const pty = terminal.size !== undefined;
  const stdout = pty ? crlf(channel) : channel;
  const stderr = pty ? crlf(channel.stderr) : channel.stderr;
  const controller = new AbortController();
  channel.on('close', () => controller.abort());
  let words: string[];
  try {
    words = splitExecLine(command);
    const git = parseGitRequest(words);
    if (git) {
      services.log.info({ user: caller.user, app: git.app, service: git.service, address: caller.address }, 'git');
      return await serveGit(services, git, caller, channel);
    }
  } catch (err) {
    if (!isSkiffError(err)) services.log.error({ err, user: caller.user }, 'exec failed');
    stderr.write(` !     ${userMessage(err)}\n`);
    return isSkiffError(err) ? err.exitStatus : 1;
  }
  services.log.info({ user: caller.user, command: words[0], address: caller.address }, 'command');
  const { dispatch } = await commands();
  return dispatch(words, {
    caller,
    services,
    io: { stdin: channel, stdout, stderr, signal: controller.signal, tty: terminal.size, onResize: terminal.onResize, rawStdout: channel },
  });
}

function write(channel: ServerChannel, pty: boolean, text: string): void {
  channel.write(pty ? text.replace(/\n/g, '\r\n') : text);
}

/** With a pty the client's terminal is raw: lines need a carriage return. */
function crlf(target: Writable): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      target.write(chunk.toString().replace(/\r?\n/g, '\r\n'));
      done();
    },
  });
}

function finish(channel: ServerChannel, status: number): void {
  if (channel.destroyed) return;
  channel.exit(status);
  channel.end();
}
