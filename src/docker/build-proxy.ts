import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import tarStream from 'tar-stream';
import { imageRepoTag } from './client.js';

/** What a stack's build image may do through its Docker API: build one tag, and look at it. */
export interface BuildPolicy {
  /** $IMAGE: the one tag a build may make, inspect and tag. */
  image: string;
  /** Checks the Dockerfile a build sends (the images it builds on); throws with a message for the build image. */
  checkDockerfile(text: string, buildArgs: Record<string, string>): Promise<void>;
  /** The largest build context accepted, in bytes. */
  maxContextBytes: number;
  /** Build options Skiff sets whatever the build image asks (bounds, network, cgroup): see buildStepOptions. */
  forced: Record<string, string | number>;
}

const uniqueName = (): string => crypto.randomBytes(6).toString('hex');

/** Where the engine listens; DOCKER_HOST=unix://… moves it. */
export function engineSocket(): string {
  const host = process.env.DOCKER_HOST;
  return host?.startsWith('unix://') ? host.slice('unix://'.length) : '/var/run/docker.sock';
}

class Refused extends Error {}

/** Build parameters a build image may send and the proxy passes on, once checked. */
const KEPT = ['t', 'dockerfile', 'buildargs', 'labels', 'target', 'q', 'nocache', 'rm', 'forcerm', 'pull', 'version', 'networkmode'];
/** Accepted and dropped: Skiff's own bounds and cgroup take their place. */
const DROPPED = ['memory', 'memswap', 'cpushares', 'cpusetcpus', 'cpusetmems', 'cpuperiod', 'cpuquota', 'shmsize'];

/** Accepted only empty: each would reach past the build. */
const EMPTY_REFUSALS: Record<string, string> = {
  extrahosts: 'add host entries',
  remote: 'fetch its context from a URL',
  cgroupparent: 'choose its cgroup',
  session: 'use BuildKit; set DOCKER_BUILDKIT=0',
  cachefrom: 'name images to take its cache from',
  ulimits: 'set its own ulimits',
  platform: 'choose a platform',
  isolation: 'choose its isolation',
  squash: 'squash its layers',
  outputs: 'choose its outputs',
};

/** One value per parameter: a repeated one is refused (the engine and the proxy could read different ones). */
function singleValues(query: URLSearchParams, known: readonly string[]): Map<string, string> {
  const values = new Map<string, string>();
  for (const [key, value] of query) {
    if (!known.includes(key)) throw new Refused(`the parameter '${key}' is not part of the build API`);
    if (values.has(key) && !(key === 't' && values.get(key) === value)) throw new Refused(`the parameter '${key}' is given twice`);
    values.set(key, value);
  }
  return values;
}

/** A JSON object of strings, as buildargs and labels are; anything else is refused. */
function stringMap(text: string | undefined, what: string): Record<string, string> {
  if (text === undefined || text === '' || text === 'null') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Refused(`${what} is no JSON object`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Refused(`${what} is no JSON object`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (typeof v !== 'string') throw new Refused(`${what}: the value of '${k}' is no string`);
    out[k] = v;
  }
  return out;
}

const truthy = (v: string | undefined): boolean => v !== undefined && !['', '0', 'false'].includes(v.toLowerCase());

/** The image name as the engine reads it: docker.io/ and library/ are implied. */
function normalImage(ref: string): string {
  return ref.replace(/^docker\.io\//, '').replace(/^library\//, '');
}

/** A checked build: what the proxy will ask the engine for, written from the values it checked. */
interface CheckedBuild {
  dockerfile: string;
  buildArgs: Record<string, string>;
  /** The query the proxy sends, less the Dockerfile's name, which it chooses when it re-packs the context. */
  query: URLSearchParams;
}

/** Build options that would reach past the build: the host's network, other containers, URLs, the host's files. */
export function checkBuildQuery(query: URLSearchParams, image: string, forced: Record<string, string | number>): CheckedBuild {
  const values = singleValues(query, [...KEPT, ...DROPPED, ...Object.keys(EMPTY_REFUSALS)]);
  if (values.get('t') === undefined || normalImage(values.get('t') as string) !== image)
    throw new Refused(`a build must be tagged $IMAGE (${image}) and nothing else`);
  const network = values.get('networkmode') ?? '';
  if (!['', 'default', 'bridge'].includes(network)) throw new Refused(`a build may not use the network '${network}'`);
  for (const [key, what] of Object.entries(EMPTY_REFUSALS)) {
    const value = values.get(key);
    if (value && !['[]', '{}', 'null', '0', 'false'].includes(value)) throw new Refused(`a build may not ${what}`);
  }
  if ((values.get('version') ?? '1') !== '1') throw new Refused('a build may not use BuildKit; set DOCKER_BUILDKIT=0');
  const labels = stringMap(values.get('labels'), 'labels');
  if (Object.keys(labels).some((l) => l.startsWith('skiff.'))) throw new Refused("a build may not set Skiff's own labels");
  const buildArgs = stringMap(values.get('buildargs'), 'buildargs');
  const dockerfile = path.posix.normalize(values.get('dockerfile') || 'Dockerfile').replace(/^\.\//, '');
  if (dockerfile.startsWith('../') || path.posix.isAbsolute(dockerfile)) throw new Refused('the Dockerfile must be inside the build context');
  const target = values.get('target') ?? '';
  if (!/^[A-Za-z0-9._-]{0,128}$/.test(target)) throw new Refused('the build target is no stage name');

  const out = new URLSearchParams({ t: image, version: '1', rm: '1', forcerm: '1' });
  if (truthy(values.get('q'))) out.set('q', '1');
  if (truthy(values.get('nocache'))) out.set('nocache', '1');
  if (truthy(values.get('pull'))) out.set('pull', '1');
  if (target) out.set('target', target);
  if (Object.keys(buildArgs).length) out.set('buildargs', JSON.stringify(buildArgs));
  if (Object.keys(labels).length) out.set('labels', JSON.stringify(labels));
  for (const [key, value] of Object.entries(forced)) out.set(key, String(value));
  return { dockerfile, buildArgs, query: out };
}

function gzipped(file: string): boolean {
  const head = Buffer.alloc(2);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, head, 0, 2, 0);
  } finally {
    fs.closeSync(fd);
  }
  return head[0] === 0x1f && head[1] === 0x8b;
}

/** An entry's name as the engine applies it: relative, normalized, without a trailing slash. */
function entryName(raw: string): string {
  const name = path.posix
    .normalize(raw)
    .replace(/^(\.\/)+/, '')
    .replace(/\/+$/, '');
  if (name === '' || name === '.' || name === '..' || name.startsWith('../') || path.posix.isAbsolute(raw))
    throw new Refused(`the build context has an entry outside it: ${JSON.stringify(raw)}`);
  return name;
}

/**
 * Re-packs a build context (a tar, perhaps gzipped) that the build image
 * sent into one the proxy writes itself: regular files and directories, and
 * symbolic links that stay inside; no hard links, devices or duplicate
 * names. The Dockerfile it checked is added under a name of its own
 * choosing, so the engine builds exactly the text that was checked.
 * Returns that text and the name.
 */
async function repackContext(from: string, to: string, dockerfile: string): Promise<{ text: string; name: string }> {
  const extract = tarStream.extract();
  const pack = tarStream.pack();
  const seen = new Set<string>();
  const chosen = `.skiff-dockerfile-${crypto.randomBytes(8).toString('hex')}`;
  let text: string | undefined;
  // Between entries: the docker CLI may end a context there without tar's end blocks (when it adds a
  // Dockerfile from outside the context), and the engine takes it so; an entry cut short is refused.
  let between = true;
  extract.on('entry', (header, stream, nextEntry) => {
    between = false;
    const next = (err?: Error): void => {
      if (!err) between = true;
      nextEntry(err);
    };
    // A refused entry ends the extract, which ends this stream with the same error: the pipeline reports it.
    stream.on('error', () => undefined);
    const fail = (err: Error): void => {
      stream.resume();
      next(err);
    };
    let name: string;
    try {
      name = entryName(header.name);
    } catch (err) {
      return fail(err as Error);
    }
    if (seen.has(name)) return fail(new Refused(`the build context has ${JSON.stringify(name)} twice`));
    seen.add(name);
    const base = { name, mode: (header.mode ?? 0o644) & 0o7777, mtime: header.mtime, uid: header.uid, gid: header.gid };
    if (header.type === 'directory') {
      stream.resume();
      pack.entry({ ...base, type: 'directory' });
      return stream.on('end', () => next());
    }
    if (header.type === 'symlink') {
      const target = header.linkname ?? '';
      const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(name), target));
      if (name === dockerfile) return fail(new Refused(`${dockerfile} must be a regular file, not a link`));
      if (path.posix.isAbsolute(target) || resolved === '..' || resolved.startsWith('../'))
        return fail(new Refused(`the build context's link ${JSON.stringify(name)} leads out of it`));
      stream.resume();
      pack.entry({ ...base, type: 'symlink', linkname: target });
      return stream.on('end', () => next());
    }
    if (header.type !== 'file' && header.type !== 'contiguous-file') {
      return fail(
        new Refused(`the build context's ${JSON.stringify(name)} is a ${header.type ?? 'special file'}: only files, directories and links inside it are built`),
      );
    }
    if (name === dockerfile) {
      if ((header.size ?? 0) > 1024 * 1024) return fail(new Refused(`${dockerfile} is larger than 1 MiB`));
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => void chunks.push(c as Buffer));
      stream.on('end', () => {
        const body = Buffer.concat(chunks);
        text = body.toString('utf8');
        pack.entry({ ...base, type: 'file', size: body.length }, body, (err) => next(err ?? undefined));
      });
      return;
    }
    const sink = pack.entry({ ...base, type: 'file', size: header.size ?? 0 }, (err) => next(err ?? undefined));
    stream.pipe(sink);
  });
  const written = pipeline(pack, fs.createWriteStream(to, { mode: 0o600 }));
  const source = fs.createReadStream(from);
  try {
    await pipeline(gzipped(from) ? source.pipe(zlib.createGunzip()) : source, extract).catch((err: unknown) => {
      if (!(between && (err as Error).message === 'Unexpected end of data')) throw err;
    });
  } catch (err) {
    pack.destroy();
    await written.catch(() => undefined);
    if (err instanceof Refused) throw err;
    throw new Refused(`the build context is no tar archive Skiff can read: ${(err as Error).message}`);
  }
  if (text === undefined) {
    pack.destroy();
    await written.catch(() => undefined);
    throw new Refused(`the build context has no ${dockerfile}`);
  }
  const body = Buffer.from(text, 'utf8');
  pack.entry({ name: chosen, type: 'file', mode: 0o644, size: body.length }, body);
  pack.finalize();
  await written;
  return { text, name: chosen };
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

/** A request that carries a body where the API reads none is refused: the engine might read it. */
function assertNoBody(req: http.IncomingMessage): void {
  const length = req.headers['content-length'];
  if (req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0'))
    throw new Refused(`${req.method} ${new URL(req.url ?? '/', 'http://docker').pathname} takes no body`);
}

function refuse(res: http.ServerResponse, status: number, message: string): void {
  if (res.headersSent) return void res.destroy();
  const body = JSON.stringify({ message: `skiff: ${message}` });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
}

/** Sends the engine a request the proxy wrote: its method, path and query, and a body only where one was checked. */
function send(res: http.ServerResponse, method: string, requestPath: string, body?: { file: string; contentType: string }): Promise<void> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { host: 'docker' };
    if (body) {
      headers['content-type'] = body.contentType;
      headers['content-length'] = String(fs.statSync(body.file).size);
    }
    const upstream = http.request({ socketPath: engineSocket(), method, path: requestPath, headers }, (answer) => {
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
    if (body) fs.createReadStream(body.file).pipe(upstream);
    else upstream.end();
  });
}

/**
 * A Docker API for one run of a stack's build image, on a socket of its
 * own: ping and version, a build tagged $IMAGE only (Skiff's network,
 * bounds and cgroup, no extra hosts, no remote context, no BuildKit session,
 * and a Dockerfile that passes the policy's check), inspecting $IMAGE and
 * tagging it as itself. Nothing is passed on as it came: each allowed
 * request is written anew from the values checked (path, query, headers,
 * and the build context re-packed), and a request with a parameter twice,
 * one the API does not know, or a body where none belongs is refused.
 * Refusals carry a message the docker CLI prints, so it reaches the pusher.
 * The engine's own socket is never handed out.
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
      const version = /^\/v1\.\d{1,3}(?=\/)/.exec(url.pathname)?.[0] ?? '';
      const route = url.pathname.slice(version.length);
      const method = req.method ?? 'GET';
      const imagePath = /^\/images\/(.+)\/(json|tag)$/.exec(route);
      const [repo, tag] = imageRepoTag(policy.image);
      if ((method === 'GET' || method === 'HEAD') && (route === '/_ping' || route === '/version')) {
        assertNoBody(req);
        singleValues(url.searchParams, []);
        return send(res, method, `${version}${route}`);
      }
      if (imagePath && normalImage(decodeURIComponent(imagePath[1])) === policy.image) {
        assertNoBody(req);
        if (method === 'GET' && imagePath[2] === 'json') {
          singleValues(url.searchParams, []);
          return send(res, 'GET', `${version}/images/${policy.image}/json`);
        }
        const asked = singleValues(url.searchParams, ['repo', 'tag']);
        const target = `${normalImage(asked.get('repo') ?? '')}:${asked.get('tag') || 'latest'}`;
        if (method === 'POST' && imagePath[2] === 'tag' && target === policy.image) {
          return send(res, 'POST', `${version}/images/${policy.image}/tag?${new URLSearchParams({ repo, tag }).toString()}`);
        }
      }
      if (method === 'POST' && route === '/build') {
        const checked = checkBuildQuery(url.searchParams, policy.image, policy.forced);
        const sent = path.join(dir, `sent-${uniqueName()}.tar`);
        const context = path.join(dir, `context-${uniqueName()}.tar`);
        try {
          await spool(req, sent, policy.maxContextBytes);
          const { text, name } = await repackContext(sent, context, checked.dockerfile);
          fs.rmSync(sent, { force: true });
          try {
            await policy.checkDockerfile(text, checked.buildArgs);
          } catch (err) {
            throw new Refused((err as Error).message);
          }
          checked.query.set('dockerfile', name);
          return await send(res, 'POST', `${version}/build?${checked.query.toString()}`, { file: context, contentType: 'application/x-tar' });
        } finally {
          fs.rmSync(sent, { force: true });
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
