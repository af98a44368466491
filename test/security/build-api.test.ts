import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, fixtureRepo, tempDir } from '../helpers/skiff.js';
import { Tenants } from '../helpers/tenants.js';

const BUILD_IMAGE = 'skiff-test/hooked-build:1';

/** The hooked stack's build image, with this host's docker CLI in it. */
async function buildHookedImage(): Promise<void> {
  const dir = tempDir('hooked-build');
  fs.cpSync(path.join(ROOT, 'test', 'fixtures', 'stacks', 'hooked', 'build-image'), dir, { recursive: true });
  const cli = fs.existsSync('/usr/bin/docker') ? '/usr/bin/docker' : (await execa('sh', ['-c', 'command -v docker'])).stdout.trim();
  fs.copyFileSync(cli, path.join(dir, 'docker'));
  await execa('docker', ['build', '-q', '-t', BUILD_IMAGE, dir]);
  fs.rmSync(dir, { recursive: true, force: true });
}

const stackfile = `name: hooked
description: app.sh apps; runs the code's .stack/pre-build first
services:
  main:
    build: { image: ${BUILD_IMAGE}, mem: 256 }
    main: yes
    expose: 5000
`;

/**
 * Attack: a stack's build image builds with a Docker API, and this stack
 * runs a hook from the pushed code (as buildpacks do). The pusher's hook
 * uses that API to become root on the host (a container that mounts /),
 * to see other tenants' containers, to build with the host's network, to
 * overwrite or build on another tenant's image.
 */
describe("a stack's build image gets a Docker API that builds $IMAGE and nothing else", () => {
  let t: Tenants;
  let victim: string;
  let victimImage: string;
  let secretDir: string;
  const marker = `host-root-${Math.random().toString(36).slice(2)}`;
  const escapee = `skiff-escape-${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(async () => {
    await buildHookedImage();
    secretDir = tempDir('host-root');
    fs.writeFileSync(path.join(secretDir, 'secret'), `${marker}\n`);
    t = await Tenants.start();
    victim = t.app('victim');
    expect((await t.push('victim', await fixtureRepo('dockerfile-hello'), victim)).exitCode).toBe(0);
    victimImage = (await execa('docker', ['image', 'inspect', '--format', '{{.Id}}', `skiff/${victim}:v1`])).stdout.trim();
  });
  afterAll(async () => {
    await t?.cleanup();
    await execa('docker', ['rm', '-f', escapee], { reject: false });
    fs.rmSync(secretDir, { recursive: true, force: true });
  });

  it('is for admins to define', async () => {
    const r = await t.ssh('mallory', ['stacks:create'], stackfile);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim()).toBe('!     access denied: stacks:create is for admins');
    expect((await t.ssh('admin', ['stacks:create'], stackfile)).exitCode).toBe(0);
    expect((await t.ssh('admin', ['stacks:publish', 'hooked'])).exitCode).toBe(0);
  });

  it('refuses every request beyond building, inspecting and tagging $IMAGE, and the push still deploys what it built', async () => {
    const app = t.app('hooker');
    expect((await t.ssh('mallory', ['apps:create', app, '--stack', 'hooked'])).exitCode).toBe(0);
    const secret = path.join(secretDir, 'secret');
    const attempts = [
      `docker run --name ${escapee} -v /:/host skiff-test/base:bookworm cat /host${secret}`,
      'docker ps -a',
      'docker images',
      `docker exec skiff-${victim}-web.1-v1 cat /www/index.html`,
      'docker build -q --network host -t "$IMAGE" -f "$d/Dockerfile" "$CODEBASE"',
      'docker build -q --add-host evil:127.0.0.1 -t "$IMAGE" -f "$d/Dockerfile" "$CODEBASE"',
      `docker build -q -t skiff/${victim}:v1 -f "$d/Dockerfile" "$CODEBASE"`,
      `docker build -q -t "$IMAGE" -f "$d/Stolen" "$CODEBASE"`,
      `docker build -q -t "$IMAGE" --build-arg FROM_IMAGE=skiff/${victim}:v1 -f "$d/Argued" "$CODEBASE"`,
      'docker tag skiff-test/base:bookworm "$IMAGE"',
      `docker tag "$IMAGE" skiff/${victim}:v1`,
      'docker volume create stolen',
    ];
    const hook = [
      'd=$(mktemp -d)',
      `printf 'FROM skiff-test/base:bookworm\\n' > "$d/Dockerfile"`,
      `printf 'FROM skiff/${victim}:v1\\n' > "$d/Stolen"`,
      `printf 'ARG FROM_IMAGE=skiff-test/base:bookworm\\nFROM $FROM_IMAGE\\n' > "$d/Argued"`,
      ...attempts.map((cmd, i) => `out=$(${cmd} 2>&1); echo "ATTEMPT ${i} exit=$? $(echo "$out" | tr '\\n' ' ')"`),
    ].join('\n');
    const repo = await fixtureRepo('shell-template', (dir) => {
      fs.mkdirSync(path.join(dir, '.stack'));
      fs.writeFileSync(path.join(dir, '.stack', 'pre-build'), `${hook}\n`);
    });
    const push = await t.push('mallory', repo, app);
    expect(push.exitCode, push.stderr).toBe(0);
    // What one attempt printed: from its mark to the next one (the docker CLI may break its lines).
    const said = (i: number): string => {
      const from = push.stderr.indexOf(`ATTEMPT ${i} `);
      return from < 0 ? '' : push.stderr.slice(from, i + 1 < attempts.length ? push.stderr.indexOf(`ATTEMPT ${i + 1} `) : undefined);
    };
    for (let i = 0; i < attempts.length; i++) expect(said(i), attempts[i]).toMatch(/^ATTEMPT \d+ exit=[1-9]\d* [^]*skiff: /);
    expect(said(0)).toContain('skiff: POST /containers/create is not part of the build API');
    expect(said(4)).toContain("skiff: a build may not use the network 'host'");
    expect(said(6)).toContain('skiff: a build must be tagged $IMAGE');
    for (const i of [7, 8]) expect(said(i)).toMatch(/access denied: the Dockerfile builds on skiff\/\S+, an image of an app you may not use/);
    expect(push.stderr).not.toContain(marker);
    expect(push.stderr).toContain('hooked stack: built');
    expect((await execa('docker', ['inspect', escapee], { reject: false })).exitCode).not.toBe(0);
    expect((await execa('docker', ['image', 'inspect', '--format', '{{.Id}}', `skiff/${victim}:v1`])).stdout.trim()).toBe(victimImage);
    expect((await execa('docker', ['volume', 'inspect', 'stolen'], { reject: false })).exitCode).not.toBe(0);
  });
});
