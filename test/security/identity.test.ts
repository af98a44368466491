import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitAll, fixtureRepo } from '../helpers/skiff.js';
import { Tenants } from '../helpers/tenants.js';

const imageId = async (ref: string): Promise<string> =>
  (await execa('docker', ['image', 'inspect', '--format', '{{.Id}}', ref], { reject: false })).stdout.trim();

/**
 * Attack: come back to what another tenant had by a name or a right that
 * has ended: take the name of an app they destroyed and build on its
 * images, read its events, mount its volumes; keep using a review app, or a
 * share of storage, after the owner took your access away; take a name
 * under their custom domain; make an app that poses as their review app;
 * hold more than a tenant's share of apps, domains, pauses or connections.
 */
describe('ownership follows identity and access is asked live', () => {
  let t: Tenants;

  beforeAll(async () => {
    t = await Tenants.start({
      SKIFF_MAX_APPS_PER_USER: '6',
      SKIFF_MAX_DOMAINS_PER_APP: '2',
      SKIFF_MAX_HOLDS_PER_USER: '1',
      SKIFF_MAX_HOLDS: '10',
      SKIFF_MAX_CONNECTIONS_PER_USER: '2',
    });
  });
  afterAll(async () => {
    await t?.cleanup();
    const names = (await execa('docker', ['volume', 'ls', '-q', '--filter', 'label=skiff.volume'])).stdout
      .split('\n')
      .filter((n) => t.apps.some((a) => n.startsWith(`skiff-${a}`)));
    if (names.length) await execa('docker', ['volume', 'rm', '-f', ...names], { reject: false });
  });

  it('gives nothing of a destroyed app to whoever takes its name next: images, events, volumes', async () => {
    const secretApp = t.app('secret');
    const repo = await fixtureRepo('dockerfile-hello', (d) => fs.writeFileSync(path.join(d, 'index.html'), 'baked-victim-secret\n'));
    expect((await t.push('victim', repo, secretApp)).exitCode).toBe(0);
    const oldImage = await imageId(`skiff/${secretApp}:v1`);
    expect((await t.ssh('victim', ['config:set', secretApp, 'API_TOKEN=victim-token'])).exitCode).toBe(0);
    expect((await t.ssh('victim', ['storage:mount', secretApp, 'data:/data'])).exitCode).toBe(0);
    expect((await t.ssh('victim', ['run', secretApp, 'sh', '-c', "'echo victim-volume > /data/note'"])).exitCode).toBe(0);
    // Its image, its containers and its volume carry the app's identity.
    const id = JSON.parse((await t.ssh('victim', ['apps:info', secretApp, '--json'])).stdout).id as string;
    expect(id).toMatch(/^[0-9a-f]{16}$/);
    const label = '{{index .Config.Labels "skiff.app-id"}}';
    expect((await execa('docker', ['image', 'inspect', '--format', label, oldImage])).stdout).toBe(id);
    const containers = (await execa('docker', ['ps', '-q', '--filter', `label=skiff.app=${secretApp}`])).stdout.split('\n').filter(Boolean);
    expect(containers.length).toBeGreaterThan(0);
    for (const c of containers) expect((await execa('docker', ['inspect', '--format', label, c])).stdout).toBe(id);
    expect((await execa('docker', ['volume', 'inspect', '--format', '{{index .Labels "skiff.app-id"}}', `skiff-${secretApp}_data`])).stdout).toBe(id);
    // Another app of the victim builds on it, so its image cannot be removed at destroy.
    const child = t.app('child');
    const childRepo = await fixtureRepo('dockerfile-hello', (d) =>
      fs.writeFileSync(path.join(d, 'Dockerfile'), `FROM skiff/${secretApp}:v2\nCMD ["sh", "-c", "exec busybox httpd -f -p \\"$PORT\\" -h /www"]\n`),
    );
    expect((await t.push('victim', childRepo, child)).exitCode).toBe(0);
    const destroyed = await t.ssh('victim', ['apps:destroy', secretApp, '--confirm', secretApp]);
    expect(destroyed.exitCode, destroyed.stderr).toBe(0);
    // Nothing is left under the name: the tags are gone even where the image must stay.
    expect(await imageId(`skiff/${secretApp}:v1`)).toBe('');
    expect(await imageId(`skiff/${secretApp}:v2`)).toBe('');

    expect((await t.ssh('mallory', ['apps:create', secretApp])).exitCode).toBe(0);
    for (const from of [`skiff/${secretApp}:v2`, oldImage]) {
      const steal = await fixtureRepo('dockerfile-hello', (d) => fs.writeFileSync(path.join(d, 'Dockerfile'), `FROM ${from}\nRUN cat /www/index.html\n`));
      const push = await t.push('mallory', steal, secretApp, '+main');
      expect(push.exitCode, from).not.toBe(0);
      expect(push.stderr).not.toContain('baked-victim-secret');
    }
    const events = await t.ssh('mallory', ['events', secretApp, '--json']);
    expect(events.exitCode).toBe(0);
    expect(events.stdout).not.toContain('config:set');
    expect(events.stdout).not.toContain('storage:mount');
    expect((await t.ssh('mallory', ['storage', secretApp, '--json'])).stdout).toBe('[]');
    expect((await t.ssh('mallory', ['storage:mount', secretApp, 'data:/data'])).exitCode).toBe(0);
    expect((await t.push('mallory', await fixtureRepo('dockerfile-hello'), secretApp, '+main')).exitCode).toBe(0);
    const read = await t.ssh('mallory', ['run', secretApp, 'sh', '-c', "'cat /data/note 2>&1 || true'"]);
    expect(read.stdout).not.toContain('victim-volume');
  });

  it('takes a removed collaborator off the review apps at once, and ends the shares they made', async () => {
    const shop = t.app('shop');
    expect((await t.push('victim', await fixtureRepo('dockerfile-hello'), shop)).exitCode).toBe(0);
    expect((await t.ssh('victim', ['config:set', shop, 'DB_PASSWORD=owner-secret'])).exitCode).toBe(0);
    expect((await t.ssh('victim', ['apps:set', shop, 'review-apps', 'on'])).exitCode).toBe(0);
    expect((await t.ssh('victim', ['access:add', shop, 'mallory'])).exitCode).toBe(0);
    expect((await t.ssh('victim', ['storage:mount', shop, 'files:/files'])).exitCode).toBe(0);
    expect((await t.ssh('victim', ['run', shop, 'sh', '-c', "'echo owner-file > /files/note'"])).exitCode).toBe(0);

    // While a collaborator: a branch's review app, and the owner's volume mounted into an app of her own.
    const repo = await fixtureRepo('dockerfile-hello');
    await execa('git', ['-C', repo, 'checkout', '-q', '-b', 'feat']);
    fs.writeFileSync(path.join(repo, 'index.html'), 'feature\n');
    await commitAll(repo, 'feature');
    expect((await t.push('mallory', repo, shop, 'feat')).exitCode).toBe(0);
    const review = `${shop}-feat`;
    // Its containers and images go with the test's own apps (a clean-clone CI left one running per run).
    t.apps.push(review);
    expect((await t.ssh('mallory', ['config:get', review, 'DB_PASSWORD'])).stdout).toBe('owner-secret');
    const mine = t.app('mine');
    expect((await t.push('mallory', await fixtureRepo('dockerfile-hello'), mine)).exitCode).toBe(0);
    expect((await t.ssh('mallory', ['storage:mount', mine, `${shop}/files:/stolen`])).exitCode).toBe(0);
    expect((await t.ssh('mallory', ['run', mine, 'cat', '/stolen/note'])).stdout).toBe('owner-file');

    // Her config group (an address of hers for the app's data) and her pipeline name the app.
    const group = `g${shop.replace(/-/g, '')}`.slice(0, 30);
    for (const args of [
      ['config:groups:create', group],
      ['config:set', '--group', group, 'LEAK_TO=mallory-host'],
      ['config:groups:add', group, shop],
      ['pipelines:create', group],
      ['pipelines:add', group, shop, '--stage', 'production'],
    ]) {
      const r = await t.ssh('mallory', args);
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
    expect((await t.ssh('victim', ['config:get', shop, 'LEAK_TO'])).stdout).toBe('mallory-host');

    const removed = await t.ssh('victim', ['access:remove', shop, 'mallory']);
    expect(removed.exitCode, removed.stderr).toBe(0);
    expect(removed.stdout).toContain('1 share of storage they made ended');
    expect(removed.stdout).toContain(`mallory's config group ${group} no longer applies to ${shop}`);
    expect(removed.stdout).toContain(`${shop} left mallory's pipeline ${group}`);
    expect((await t.ssh('victim', ['config:get', shop, 'LEAK_TO'])).exitCode).toBe(1);
    const env = await t.ssh('victim', ['run', shop, 'sh', '-c', "'echo LEAK=${LEAK_TO:-none}'"]);
    expect(env.stdout).toBe('LEAK=none');
    for (const args of [
      ['config:get', review, 'DB_PASSWORD'],
      ['ps:restart', review],
      ['config', review],
    ]) {
      const r = await t.ssh('mallory', args);
      expect(r.exitCode, args.join(' ')).toBe(1);
      expect(r.stderr).toBe(' !     access denied');
    }
    // Access to a review app is given on its parent only.
    expect((await t.ssh('victim', ['access:add', review, 'mallory'])).stderr).toBe(
      ` !     ${review} is a review app: its users are ${shop}'s; access:add ${shop} mallory`,
    );
    fs.writeFileSync(path.join(repo, 'index.html'), 'again\n');
    await commitAll(repo, 'again');
    expect((await t.push('mallory', repo, shop, 'feat')).exitCode).not.toBe(0);
    expect((await t.ssh('mallory', ['storage', mine, '--json'])).stdout).toBe('[]');
    const after = await t.ssh('mallory', ['run', mine, 'sh', '-c', "'cat /stolen/note 2>&1 || true'"]);
    expect(after.stdout).not.toContain('owner-file');
    // And the owner can destroy the app; nothing holds it.
    expect((await t.ssh('victim', ['storage', shop, '--json'])).stdout).not.toContain('sharedWith":["');
  });

  it("keeps a domain's names, and its review-app names, for the app that holds them", async () => {
    const shop = t.app('dshop');
    expect((await t.ssh('victim', ['apps:create', shop])).exitCode).toBe(0);
    expect((await t.ssh('victim', ['domains:add', shop, 'www.shop.example'])).exitCode).toBe(0);
    const evil = t.app('devil');
    expect((await t.ssh('mallory', ['apps:create', evil])).exitCode).toBe(0);
    for (const host of ['login.www.shop.example', 'shop.example']) {
      const r = await t.ssh('mallory', ['domains:add', evil, host]);
      expect(r.exitCode, host).toBe(1);
      expect(r.stderr).toMatch(/a domain of another app; each domain's names belong to its app/);
    }
    expect((await t.ssh('victim', ['apps:set', shop, 'review-apps', 'on'])).exitCode).toBe(0);
    const pose = await t.ssh('mallory', ['apps:create', `${shop}-fix`]);
    expect(pose.exitCode).toBe(1);
    expect(pose.stderr).toBe(` !     names starting ${shop}- are kept for the review apps of ${shop}; choose another name`);
  });

  it('bounds apps per user, domains per app, pauses per owner and connections per user, each refusal naming its limit', async () => {
    const domains = t.app('quota');
    expect((await t.ssh('mallory', ['apps:create', domains])).exitCode).toBe(0);
    expect((await t.ssh('mallory', ['domains:add', domains, 'a.mallory.example'])).exitCode).toBe(0);
    expect((await t.ssh('mallory', ['domains:add', domains, 'b.mallory.example'])).exitCode).toBe(0);
    const third = await t.ssh('mallory', ['domains:add', domains, 'c.mallory.example']);
    expect(third.exitCode).toBe(1);
    expect(third.stderr).toContain('the most SKIFF_MAX_DOMAINS_PER_APP allows');

    // Pauses: never of an app with nothing deployed, and one at a time here.
    expect((await t.ssh('mallory', ['ps:pause', domains])).stderr).toContain('has no release yet, so nothing to pause');
    const paused = t.app('paused');
    expect((await t.push('mallory', await fixtureRepo('dockerfile-hello'), paused)).exitCode).toBe(0);
    const other = t.app('paused2');
    expect((await t.push('mallory', await fixtureRepo('dockerfile-hello'), other)).exitCode).toBe(0);
    expect((await t.ssh('mallory', ['ps:pause', paused, '--max', '60'])).exitCode).toBe(0);
    const second = await t.ssh('mallory', ['ps:pause', other, '--max', '60']);
    expect(second.exitCode).toBe(1);
    expect(second.stderr).toContain('the most SKIFF_MAX_HOLDS_PER_USER allows');
    // Every hold is a slot of one process, and all tenants' pauses together leave the deploys' share (8 here) free.
    expect((await t.ssh('admin', ['ps:pause', other, '--max', '60'])).exitCode).toBe(0);
    const holdsDir = path.join(t.server.home, 'caddy', 'holds');
    const holders = fs.readdirSync('/proc').filter(
      (p) =>
        /^\d+$/.test(p) &&
        (() => {
          try {
            return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(holdsDir);
          } catch {
            return false;
          }
        })(),
    );
    expect(holders).toHaveLength(1);
    const heldApp = t.app('held');
    expect((await t.push('admin', await fixtureRepo('dockerfile-hello'), heldApp)).exitCode).toBe(0);
    const full = await t.ssh('admin', ['ps:pause', heldApp, '--max', '60']);
    expect(full.exitCode).toBe(1);
    expect(full.stderr).toBe(
      ' !     the router holds the requests of 2 apps already, the most it may for pauses (SKIFF_MAX_HOLDS 10); try again when one has resumed',
    );
    expect((await t.ssh('mallory', ['ps:resume', paused])).exitCode).toBe(0);
    expect((await t.ssh('admin', ['ps:resume', other])).exitCode).toBe(0);

    // Apps: mallory has made six by now (devil, mine, quota, paused, paused2, and the destroyed name she took).
    const count = JSON.parse((await t.ssh('mallory', ['apps', '--json'])).stdout).filter(
      (a: { owner?: string; createdBy?: string }) => (a.owner ?? a.createdBy) === 'mallory',
    ).length;
    expect(count).toBe(6);
    const over = await t.ssh('mallory', ['apps:create', t.app('onemore')]);
    expect(over.exitCode).toBe(1);
    expect(over.stderr).toContain('the most SKIFF_MAX_APPS_PER_USER allows here');
    expect((await t.ssh('admin', ['apps:create', t.app('adminapp')])).exitCode).toBe(0);

    // Connections: two open at once are fine, the third gets one line and nothing runs.
    const [cmd, ...base] = t.server.sshCommand(t.keys.mallory);
    const held = [paused, other].map((app) => execa(cmd, [...base, '-p', String(t.server.port), 'git@127.0.0.1', 'logs', app, '-t'], { reject: false }));
    try {
      await new Promise((r) => setTimeout(r, 2000));
      const third2 = await t.ssh('mallory', ['apps']);
      expect(third2.exitCode).toBe(1);
      expect(third2.stderr).toContain('the most SKIFF_MAX_CONNECTIONS_PER_USER allows');
      expect((await t.ssh('admin', ['apps'])).exitCode).toBe(0);
    } finally {
      for (const h of held) h.kill();
      await Promise.all(held);
    }
    expect((await t.ssh('mallory', ['apps'])).exitCode).toBe(0);
  });
});
