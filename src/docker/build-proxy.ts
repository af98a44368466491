import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import tarStream from 'tar-stream';

/** What a stack's build image may do through its Docker API: build one tag, and look at it. */
export interface BuildPolicy {
  /** $IMAGE: the one tag a build may make, inspect and tag. */
  image: string;
  /** Checks the Dockerfile a build sends (the images it builds on); throws with a message for the build image. */
  checkDockerfile(text: string, buildArgs: Record<string, string>): Promise<void>;
  /** The largest build context accepted, in bytes. */
  maxContextBytes: number;
}

/** Where the engine listens; DOCKER_HOST=unix://… moves it. */
export function engineSocket(): string {
  const host = process.env.DOCKER_HOST;
  return host?.startsWith('unix://') ? host.slice('unix://'.length) : '/var/run/docker.sock';
}

class Refused extends Error {}

/** Build options that would reach past the build: the host's network, other containers, URLs, the host's files. */
function checkBuildQuery(query: URLSearchParams, image: string): { dockerfile: string; buildArgs: Record<string, string> } {
  const tags = query.getAll('t');
  if (tags.length === 0 || tags.some((t) => t !== image)) throw new Refused(`a build must be tagged $IMAGE (${image}) and nothing else`);
  const network = query.get('networkmode') ?? '';
  if (!['', 'default', 'bridge', 'none'].includes(network)) throw new Refused(`a build may not use the network '${network}'`);
  for (const [name, what] of [
    ['extrahosts', 'add host entries'],
    ['remote', 'fetch its context from a URL'],
    ['cgroupparent', 'choose its cgroup'],
    ['session', 'use BuildKit; set DOCKER_BUILDKIT=0'],
  ] as const) {
    const value = query.get(name);
    if (value && value !== '[]' && value !== '{}') throw new Refused(`a build may not ${what}`);
  }
  if ((query.get('version') ?? '1') !== '1') throw new Refused('a build may not use BuildKit; set DOCKER_BUILDKIT=0');
  const cacheFrom = query.get('cachefrom');
  if (cacheFrom && cacheFrom !== '[]') throw new Refused('a build may not name images to take its cache from');
  const labels = JSON.parse(query.get('labels') || '{}') as Record<string, string>;
  if (Object.keys(labels).some((l) => l.startsWith('skiff.'))) throw new Refused("a build may not set Skiff's own labels");
  const dockerfile = path.posix.normalize(query.get('dockerfile') || 'Dockerfile').replace(/^\.\//, '');
  if (dockerfile.startsWith('../') || path.posix.isAbsolute(dockerfile)) throw new Refused('the Dockerfile must be inside the build context');
  return { dockerfile, buildArgs: JSON.parse(query.get('buildargs') || '{}') as Record<string, string> };
}

/**
 * Reads one file out of a build context (a tar, perhaps gzipped) kept on
 * disk. The docker CLI may send a tar whose end is cut short (when it adds a
 * Dockerfile from outside the context); the engine takes it, so a file read
 * before the cut counts.
 */
async function readFromContext(file: string, name: string): Promise<string | undefined> {
  const head = Buffer.alloc(2);
  const fd = fs.openSync(file, 'r');
  fs.readSync(fd, head, 0, 2, 0);
  fs.closeSync(fd);
  const gzipped = head[0] === 0x1f && head[1] === 0x8b;
  const extract = tarStream.extract();
  let found: string | undefined;
  extract.on('entry', (header, stream, next) => {
    const entry = path.posix.normalize(header.name).replace(/^\.\//, '');
    if (entry === name && header.type === 'file' && (header.size ?? 0) <= 1024 * 1024) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        found = Buffer.concat(chunks).toString('utf8');
        next();
      });
    } else {
      stream.on('end', () => next());
      stream.resume();
    }
  });
  const source = fs.createReadStream(file);
  try {
    await pipeline(gzipped ? source.pipe(zlib.createGunzip()) : source, extract);
  } catch (err) {
    if (found === undefined) throw new Refused(`the build context is no tar archive Skiff can read: ${(err as Error).message}`);
  }
  return found;
}

/** Keeps a request body on disk, refusing one over the limit. */
async function spool(req: http.IncomingMessage, file: string, limit: number): Promise<void> {
  let size = 0;
  const bounded = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (size > limit) done(new Refused(`the build context is larger than ${Math.round(limit / 1024 / 1024)} MiB`));
      else done(null, chunk);
    },
  });
  await pipeline(req, bounded, fs.createWriteStream(file, { mode: 0o600 }));
}

function refuse(res: http.ServerResponse, status: number, message: string): void {
  if (res.headersSent) return void res.destroy();
  const body = JSON.stringify({ message: `skiff: ${message}` });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
}

function forward(req: http.IncomingMessage, res: http.ServerResponse, body?: NodeJS.ReadableStream, length?: number): Promise<void> {
  return new Promise((resolve) => {
    const headers = { ...req.headers };
    if (length !== undefined) {
      delete headers['transfer-encoding'];
      headers['content-length'] = String(length);
    }
    const upstream = http.request({ socketPath: engineSocket(), method: req.method, path: req.url, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
      answer.on('end', resolve);
      answer.on('error', () => resolve());
    });
    upstream.on('error', (err) => {
      refuse(res, 502, `the Docker engine did not answer: ${err.message}`);
      resolve();
    });
    res.on('close', () => upstream.destroy());
    if (body) body.pipe(upstream);
    else req.pipe(upstream);
  });
}

/**
 * A Docker API for one run of a stack's build image, on a socket of its
 * own: ping and version, a build tagged $IMAGE only (bridge network, no
 * extra hosts, no remote context, no BuildKit session, and a Dockerfile
 * that passes the policy's check), inspecting $IMAGE and tagging it as
 * itself. Anything else is refused with a message the docker CLI prints,
 * so it reaches the pusher. The engine's own socket is never handed out.
 */
export class BuildProxy {
  private constructor(
    readonly socket: string,
    private readonly server: http.Server,
    private readonly dir: string,
  ) {}

  static async start(policy: BuildPolicy, onRefused: (what: string) => void = () => undefined): Promise<BuildProxy> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-build-api-'));
    const socket = path.join(dir, 'docker.sock');
    const server = http.createServer((req, res) => {
      handle(req, res).catch((err: unknown) => {
        const message = err instanceof Refused ? err.message : `the build API failed: ${(err as Error).message}`;
        onRefused(`${req.method} ${req.url}: ${message}`);
        refuse(res, err instanceof Refused ? 403 : 500, message);
      });
    });

    const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
      const url = new URL(req.url ?? '/', 'http://docker');
      const route = url.pathname.replace(/^\/v\d+(\.\d+)?(?=\/)/, '');
      const method = req.method ?? 'GET';
      const imagePath = /^\/images\/(.+)\/(json|tag)$/.exec(route);
      if ((method === 'GET' || method === 'HEAD') && (route === '/_ping' || route === '/version')) return forward(req, res);
      if (imagePath && decodeURIComponent(imagePath[1]) === policy.image) {
        if (method === 'GET' && imagePath[2] === 'json') return forward(req, res);
        const target = `${url.searchParams.get('repo') ?? ''}:${url.searchParams.get('tag') || 'latest'}`;
        if (method === 'POST' && imagePath[2] === 'tag' && target === policy.image) return forward(req, res);
      }
      if (method === 'POST' && route === '/build') {
        const { dockerfile, buildArgs } = checkBuildQuery(url.searchParams, policy.image);
        const context = path.join(dir, `context-${Date.now()}.tar`);
        try {
          await spool(req, context, policy.maxContextBytes);
          const text = await readFromContext(context, dockerfile);
          if (text === undefined) throw new Refused(`the build context has no ${dockerfile}`);
          try {
            await policy.checkDockerfile(text, buildArgs);
          } catch (err) {
            throw new Refused((err as Error).message);
          }
          return await forward(req, res, fs.createReadStream(context), fs.statSync(context).size);
        } finally {
          fs.rmSync(context, { force: true });
        }
      }
      throw new Refused(`${method} ${route} is not part of the build API: a stack's build image may only build, inspect and tag $IMAGE (${policy.image})`);
    };

    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socket, resolve);
    });
    return new BuildProxy(socket, server, dir);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
