import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { execa } from 'execa';
import tarStream from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertMayBuildOn } from '../../src/builder/base-images.js';
import { BuildProxy } from '../../src/docker/build-proxy.js';
import { createDocker } from '../../src/docker/client.js';
import { Engine } from '../../src/docker/engine.js';
import { tempDir, uniqueApp } from '../helpers/skiff.js';

type Entry = { name: string; type?: 'file' | 'symlink' | 'link' | 'directory'; body?: string; linkname?: string };

function tarOf(entries: Entry[]): Promise<Buffer> {
  const pack = tarStream.pack();
  for (const e of entries) {
    if ((e.type ?? 'file') === 'file') pack.entry({ name: e.name, mode: 0o644 }, e.body ?? '');
    else pack.entry({ name: e.name, type: e.type, linkname: e.linkname, mode: 0o777 });
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    pack.on('data', (c: unknown) => void chunks.push(c as Buffer));
    pack.on('end', () => resolve(Buffer.concat(chunks)));
    pack.on('error', reject);
  });
}

function ask(
  socket: string,
  method: string,
  url: string,
  body?: Buffer | string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { socketPath: socket, method, path: url, headers: { ...headers, ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }) } },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => {
          let message = text;
          try {
            message = String((JSON.parse(text) as { message?: string }).message ?? text);
          } catch {
            // A build's stream of JSON lines: the text as it is.
          }
          resolve({ status: res.statusCode ?? 0, body: message });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const imageId = async (ref: string): Promise<string> =>
  (await execa('docker', ['image', 'inspect', '--format', '{{.Id}}', ref], { reject: false })).stdout.trim();

/**
 * Attack: a stack build image's code speaks to its Docker API with requests
 * the docker CLI never sends: a tag whose form body names another tenant's
 * image (the engine lets body values win over the query), parameters given
 * twice, a build context with a second Dockerfile entry (a link to one that
 * builds on another tenant's image), hard links, links that leave. The proxy
 * checks one thing and must never forward another.
 */
describe('the build API forwards only requests it wrote from what it checked', () => {
  const docker = createDocker();
  const attacker = uniqueApp('attacker');
  const victim = uniqueApp('victim');
  const image = `skiff/${attacker}:build-1`;
  const victimImage = `skiff/${victim}:v1`;
  let victimId: string;
  let proxy: BuildProxy;
  const refused: string[] = [];

  beforeAll(async () => {
    const dir = tempDir('victim-image');
    fs.writeFileSync(path.join(dir, 'Dockerfile'), `FROM skiff-test/base:bookworm\nRUN echo victim-secret > /secret\nLABEL skiff.app=${victim}\n`);
    await execa('docker', ['build', '-q', '-t', victimImage, dir]);
    victimId = await imageId(victimImage);
    proxy = await BuildProxy.start(
      {
        image,
        checkDockerfile: (text, args) => assertMayBuildOn(new Engine(docker), text, { mayUse: (o) => o.app === attacker, registryPrefix: undefined }, args),
        maxContextBytes: 10 * 1024 * 1024,
        forced: { networkmode: 'bridge', memory: 256 * 1024 * 1024, memswap: 256 * 1024 * 1024 },
      },
      (what) => refused.push(what),
    );
  });
  afterAll(async () => {
    await proxy?.close();
    await execa('docker', ['rmi', '-f', victimImage, image], { reject: false });
  });

  const build = (context: Buffer, query = `t=${encodeURIComponent(image)}`): Promise<{ status: number; body: string }> =>
    ask(proxy.socket, 'POST', `/v1.41/build?${query}`, context, { 'content-type': 'application/x-tar' });

  it('builds exactly the Dockerfile it checked, with the bounds Skiff sets', async () => {
    const context = await tarOf([
      {
        name: 'Dockerfile',
        body: 'FROM skiff-test/base:bookworm\nRUN cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes\nCOPY Dockerfile /checked\n',
      },
    ]);
    const r = await build(context, `t=${encodeURIComponent(image)}&memory=0&nocache=1`);
    expect(r.status, r.body).toBe(200);
    expect(r.body).toContain(String(256 * 1024 * 1024));
    expect(r.body).not.toContain('errorDetail');
    expect(await imageId(image)).toMatch(/^sha256:/);
  });

  it('refuses a tag whose form body names another image, and the victim keeps its image', async () => {
    const r = await ask(proxy.socket, 'POST', `/v1.41/images/${image}/tag?repo=skiff/${attacker}&tag=build-1`, `repo=skiff/${victim}&tag=v1`, {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(r.status).toBe(403);
    expect(r.body).toContain('takes no body');
    expect(await imageId(victimImage)).toBe(victimId);
  });

  it('refuses a parameter given twice, and one the API does not know', async () => {
    const twice = await ask(proxy.socket, 'POST', `/v1.41/images/${image}/tag?repo=skiff/${attacker}&tag=build-1&repo=skiff/${victim}`);
    expect(twice.status).toBe(403);
    expect(twice.body).toContain("'repo' is given twice");
    const context = await tarOf([{ name: 'Dockerfile', body: 'FROM skiff-test/base:bookworm\n' }]);
    const dockerfileTwice = await build(context, `t=${encodeURIComponent(image)}&dockerfile=Dockerfile&dockerfile=Stolen`);
    expect(dockerfileTwice.body).toContain("'dockerfile' is given twice");
    const unknown = await build(context, `t=${encodeURIComponent(image)}&hack=1`);
    expect(unknown.body).toContain("the parameter 'hack' is not part of the build API");
    expect(await imageId(victimImage)).toBe(victimId);
  });

  it("refuses a context whose Dockerfile comes twice, the second a link to one built on another tenant's image", async () => {
    const context = await tarOf([
      { name: 'Dockerfile', body: 'FROM skiff-test/base:bookworm\n' },
      { name: 'Stolen', body: `FROM ${victimImage}\nRUN cat /secret\n` },
      { name: 'Dockerfile', type: 'symlink', linkname: 'Stolen' },
    ]);
    const r = await build(context);
    expect(r.status).toBe(403);
    expect(r.body).toContain('"Dockerfile" twice');
    expect(r.body).not.toContain('victim-secret');
    // Spelled another way, the same name: still twice.
    const dotted = await build(
      await tarOf([
        { name: 'Dockerfile', body: 'FROM skiff-test/base:bookworm\n' },
        { name: './Dockerfile', body: `FROM ${victimImage}\n` },
      ]),
    );
    expect(dotted.body).toContain('"Dockerfile" twice');
  });

  it('refuses a Dockerfile that is a link, hard links, and links that lead out of the context', async () => {
    const linked = await build(
      await tarOf([
        { name: 'Stolen', body: `FROM ${victimImage}\n` },
        { name: 'Dockerfile', type: 'symlink', linkname: 'Stolen' },
      ]),
    );
    expect(linked.body).toContain('Dockerfile must be a regular file, not a link');
    const hard = await build(
      await tarOf([
        { name: 'Dockerfile', body: 'FROM skiff-test/base:bookworm\n' },
        { name: 'copy', type: 'link', linkname: 'Dockerfile' },
      ]),
    );
    expect(hard.body).toContain('"copy" is a link');
    const out = await build(
      await tarOf([
        { name: 'Dockerfile', body: 'FROM skiff-test/base:bookworm\nCOPY passwd /\n' },
        { name: 'passwd', type: 'symlink', linkname: '../../../etc/passwd' },
      ]),
    );
    expect(out.body).toContain('link "passwd" leads out of it');
    const absolute = await build(
      await tarOf([
        { name: 'Dockerfile', body: 'FROM skiff-test/base:bookworm\n' },
        { name: 'abs', type: 'symlink', linkname: '/etc/passwd' },
      ]),
    );
    expect(absolute.body).toContain('link "abs" leads out of it');
    const escape = await build(
      await tarOf([
        { name: 'Dockerfile', body: 'FROM skiff-test/base:bookworm\n' },
        { name: '../outside', body: 'x' },
      ]),
    );
    expect(escape.body).toContain('an entry outside it');
    expect(refused.length).toBeGreaterThanOrEqual(5);
  });

  it("still refuses building on another tenant's image through the checked Dockerfile", async () => {
    const r = await build(await tarOf([{ name: 'Dockerfile', body: `FROM ${victimImage}\nRUN cat /secret\n` }]));
    expect(r.status).toBe(403);
    expect(r.body).toMatch(/access denied: the Dockerfile builds on/);
    expect(r.body).not.toContain('victim-secret');
  });

  it('refuses an inspect with a body, and answers one without', async () => {
    const withBody = await ask(proxy.socket, 'GET', `/v1.41/images/${image}/json`, 'x');
    expect(withBody.status).toBe(403);
    const plain = await ask(proxy.socket, 'GET', `/v1.41/images/${image}/json`);
    expect(plain.status).toBe(200);
    expect(JSON.parse(plain.body).Id).toBe(await imageId(image));
  });
});
