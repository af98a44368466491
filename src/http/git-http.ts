import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Writable } from 'node:stream';
import zlib from 'node:zlib';
import { openRepo, runGit } from '../operations/git-access.js';
import type { Caller, Services } from '../operations/operation.js';
import { callerForToken } from '../operations/tokens.js';
import { parseGitRequest, type GitRequest, type GitService } from '../domain/git-request.js';
import { isSkiffError, userMessage } from '../errors.js';

const PATH = /^\/([^/]+?)(?:\.git)?\/(info\/refs|git-upload-pack|git-receive-pack)$/;

/** git's pkt-line: four hex digits of length, then the data. */
function pktLine(text: string): string {
  return (text.length + 4).toString(16).padStart(4, '0') + text;
}

/** Failed logins per address, for slowing down whoever guesses. */
class Throttle {
  private readonly failures = new Map<string, { count: number; last: number }>();

  delayFor(address: string): number {
    const f = this.failures.get(address);
    if (!f || Date.now() - f.last > 60_000) return 0;
    return f.count < 3 ? 0 : Math.min(250 * 2 ** (f.count - 3), 5000);
  }

  fail(address: string): void {
    const f = this.failures.get(address);
    const fresh = !f || Date.now() - f.last > 60_000;
    this.failures.set(address, { count: fresh ? 1 : f.count + 1, last: Date.now() });
  }

  succeed(address: string): void {
    this.failures.delete(address);
  }
}

/**
 * git's smart HTTP protocol, for pushing and cloning with a token
 * (`http://USER:TOKEN@HOST:PORT/APP.git`). Same access rules and the same
 * pipeline as SSH: the pre-receive hook runs the deploy and its lines reach
 * the pusher as `remote:` output; a failed build rejects the push. TLS belongs
 * in front (Caddy); this server speaks plain HTTP.
 */
export function createGitHttpServer(services: Services): http.Server {
  const throttle = new Throttle();

  const authenticate = async (req: http.IncomingMessage, address: string): Promise<Caller | undefined> => {
    const header = req.headers.authorization ?? '';
    const m = /^Basic ([A-Za-z0-9+/=]{1,1024})$/.exec(header);
    if (!m) return undefined;
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const user = decoded.slice(0, colon);
    const caller = colon < 0 ? undefined : callerForToken(services, user, decoded.slice(colon + 1), address);
    if (!caller) {
      const delay = throttle.delayFor(address);
      throttle.fail(address);
      if (delay) await sleep(delay);
      return undefined;
    }
    throttle.succeed(address);
    return caller;
  };

  return http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      services.log.error({ err }, 'git over http failed');
      if (!res.headersSent) res.writeHead(500).end('internal error\n');
      else res.destroy();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://skiff');
    const m = PATH.exec(url.pathname);
    const service = (m?.[2] === 'info/refs' ? url.searchParams.get('service') : m?.[2]) as GitService | null;
    const refs = m?.[2] === 'info/refs';
    if (!m || (service !== 'git-upload-pack' && service !== 'git-receive-pack') || (refs ? req.method !== 'GET' : req.method !== 'POST')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const address = clientAddress(req, services.config.gitHost !== undefined);
    const caller = await authenticate(req, address);
    if (!caller) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="Skiff"', 'content-type': 'text/plain' }).end('authentication required\n');
      return;
    }
    let gitRequest: GitRequest;
    let repo: { repoDir: string; created: boolean };
    try {
      const parsed = parseGitRequest([service, m[1]]);
      if (!parsed) throw new Error('unreachable');
      gitRequest = parsed;
      repo = await openRepo(services, gitRequest, caller);
    } catch (err) {
      if (!isSkiffError(err)) throw err;
      const status = err.code === 'DENIED' ? 403 : err.code === 'NOT_FOUND' ? 404 : 400;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(`${userMessage(err)}\n`);
      return;
    }
    if (refs) {
      res.writeHead(200, { 'content-type': `application/x-${service}-advertisement`, 'cache-control': 'no-cache' });
      res.write(`${pktLine(`# service=${service}\n`)}0000`);
    } else {
      res.writeHead(200, { 'content-type': `application/x-${service}-result`, 'cache-control': 'no-cache' });
    }
    const messages = new Writable({
      write(chunk: Buffer, _encoding, done) {
        services.log.debug({ stderr: chunk.toString() }, 'git stderr');
        done();
      },
    });
    await runGit(
      services,
      gitRequest,
      caller,
      repo,
      {
        input: refs ? null : req.headers['content-encoding'] === 'gzip' ? req.pipe(zlib.createGunzip()) : req,
        output: res,
        endOutput: true,
        messages,
        // The pusher went away: the deploy under git stops, as over SSH.
        onGone: (listener) => {
          res.on('close', listener);
          return () => res.off('close', listener);
        },
      },
      { advertiseRefs: refs },
    );
  }
}

/**
 * Who is asking, for the throttle and the audit trail: the socket's peer,
 * or, behind the router (SKIFF_GIT_HOST: the peer is loopback), the client
 * the router names. Caddy sets X-Forwarded-For itself, whatever a client sent.
 */
function clientAddress(req: http.IncomingMessage, behindRouter: boolean): string {
  const peer = req.socket.remoteAddress ?? '?';
  const loopback = peer === '::1' || peer.startsWith('127.') || peer.startsWith('::ffff:127.');
  const forwarded = req.headers['x-forwarded-for'];
  if (!behindRouter || !loopback || typeof forwarded !== 'string') return peer;
  return forwarded.split(',').at(-1)?.trim() || peer;
}
