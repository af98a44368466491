import { Writable } from 'node:stream';
import ssh2, { type Connection, type ServerChannel } from 'ssh2';
import { dispatch, renderHelp } from '../commands/registry.js';
import type { Caller, Services, TerminalSize } from '../commands/command.js';
import { EventEmitter } from 'node:events';
import { splitExecLine } from '../domain/exec-line.js';
import { fingerprintOf } from '../domain/ssh-key.js';
import { parseGitRequest } from '../domain/git-request.js';
import { isSkiffError, userMessage } from '../errors.js';
import { serveGit } from './git-transport.js';

export interface SshServerDeps {
  services: Services;
  hostKey: Buffer;
}

/** Sessions one connection may have open at once; git and commands use one each. */
const MAX_SESSIONS_PER_CONNECTION = 10;

/**
 * The SSH door: public-key authentication against the keys Skiff knows, then
 * every exec request is dispatched like an OpenSSH forced command, to git or
 * to a Skiff command. Built apart from listen() so tests can use port 0.
 */
export function createSshServer({ services, hostKey }: SshServerDeps): ssh2.Server {
  const { store, log } = services;
  return new ssh2.Server({ hostKeys: [hostKey], ident: `skiff_${services.version}` }, (client: Connection, info) => {
    let caller: Caller | undefined;
    let sessions = 0;
    const address = info.ip;
    // git and commands are request/response: Nagle's delay would add ~40 ms to every round trip.
    // (ssh2 has the method on server connections too; its types only declare it on Client.)
    (client as Connection & { setNoDelay(noDelay: boolean): void }).setNoDelay(true);
    client.on('error', (err) => log.debug({ err, address }, 'ssh client error'));

    client.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
      const fingerprint = fingerprintOf(ctx.key.data);
      const key = store.keys.findByFingerprint(fingerprint);
      if (!key) return ctx.reject(['publickey']);
      // Without a signature the client only asks whether this key would do.
      if (!ctx.signature) return ctx.accept();
      const parsed = ssh2.utils.parseKey(key.publicKey);
      if (!ctx.blob || parsed instanceof Error || Array.isArray(parsed) || parsed.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) {
        return ctx.reject(['publickey']);
      }
      caller = { user: key.user, admin: key.admin, via: 'ssh', fingerprint, address };
      ctx.accept();
    });

    client.on('ready', () => {
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
          write(channel, pty !== undefined, renderHelp('ssh'));
          finish(channel, 0);
        });
        session.on('exec', (accept, _reject, { command }) => {
          const channel = accept();
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
  });
}

interface Terminal {
  size: TerminalSize | undefined;
  onResize: (listener: (size: TerminalSize) => void) => void;
}

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
