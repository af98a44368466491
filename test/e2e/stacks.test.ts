import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE_IMAGE } from '../helpers/base-image.js';
import { SkiffServer, commitAll, fixtureRepo, httpGet, makeKey, releasedUrl, removeDockerLeftovers, tempDir, uniqueApp } from '../helpers/skiff.js';

/** Apps without a Dockerfile, built by a built-in stack (its base image pointed at a local one). */
describe('built-in stacks', () => {
  let server: SkiffServer;
  let key: string;
  const app = uniqueApp('site');

  beforeAll(async () => {
    server = await SkiffServer.start({ SKIFF_STACK_STATIC_IMAGE: BASE_IMAGE });
    key = await makeKey(tempDir('keys'), 'admin');
    await server.cli(['keys:add', 'alice', '--admin'], fs.readFileSync(`${key}.pub`, 'utf8'));
  });

  afterAll(async () => {
    await server?.cleanup();
    await removeDockerLeftovers([app]);
  });

  it('deploys a static site, saying which stack and why', async () => {
    const repo = await fixtureRepo('static-site');
    const push = await server.git(key, repo, ['push', server.remote(app), 'main']);
    expect(push.exitCode, push.stderr).toBe(0);
    expect(push.stderr).toContain('remote:        Building with the static stack (index.html found)');
    const url = releasedUrl(push.stderr)!;
    expect(await httpGet(url)).toEqual({ status: 200, body: '<h1>static site</h1>\n' });
    expect((await httpGet(`${url}style.css`)).body).toBe('body { color: teal }\n');
    // The generated files are not served.
    expect((await httpGet(`${url}.skiff/Dockerfile`)).status).toBe(404);

    const dockerfile = await server.ssh(key, ['stacks:dockerfile', app]);
    expect(dockerfile.exitCode, dockerfile.stderr).toBe(0);
    expect(dockerfile.stdout).toMatch(/^# .* builds with the static stack \(index\.html found\)\nFROM skiff-test\/base:bookworm\n/);

    fs.writeFileSync(path.join(repo, 'index.html'), '<h1>changed</h1>\n');
    await commitAll(repo, 'change');
    const again = await server.git(key, repo, ['push', server.remote(app), 'main']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect((await httpGet(url)).body).toBe('<h1>changed</h1>\n');
  });

  it('lists the built-in stacks with their images', async () => {
    const stacks = JSON.parse((await server.ssh(key, ['stacks', '--json'])).stdout) as { name: string; image: string }[];
    expect(stacks.map((s) => [s.name, s.image])).toEqual([
      ['node', 'node:20-bookworm-slim'],
      ['python', 'python:3.12-slim-bookworm'],
      ['static', BASE_IMAGE],
    ]);
  });

  it('says what to add when it cannot tell how to build', async () => {
    const repo = await fixtureRepo('static-site', (d) => {
      fs.rmSync(path.join(d, 'index.html'));
    });
    const push = await server.git(key, repo, ['push', server.remote(uniqueApp('none')), 'main']);
    expect(push.exitCode).not.toBe(0);
    expect(push.stderr).toContain('cannot tell how to build this: add a Dockerfile, or a package.json (node)');
  });
});
