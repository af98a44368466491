import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE_IMAGE, SERVICE_IMAGES } from '../helpers/base-image.js';
import { FIXTURE_APPS, fixtureRepo, removeServiceLeftovers } from '../helpers/skiff.js';
import { Tenants } from '../helpers/tenants.js';

/** An app with node and reach.js (HOST PORT: can a TCP connection open?), built from a local image in a second. */
const reachRepo = (): Promise<string> =>
  fixtureRepo('dockerfile-hello', (d) => {
    fs.copyFileSync(path.join(FIXTURE_APPS, 'node-postgres', 'reach.js'), path.join(d, 'reach.js'));
    fs.writeFileSync(
      path.join(d, 'Dockerfile'),
      [
        `FROM ${NODE_IMAGE}`,
        'COPY index.html /www/index.html',
        'COPY reach.js /reach.js',
        'CMD ["sh", "-c", "exec busybox httpd -f -p \\"$PORT\\" -h /www"]',
      ].join('\n'),
    );
  });

/**
 * Attack: get at another tenant's database: by its service commands (its
 * backups, their download and check among them), by
 * linking one's own app to it, by reaching its address from one's own app's
 * containers, by creating services past one's quota, or by reading its
 * password from any output, the trail or the server's log.
 */
describe('a service belongs to its owner', () => {
  let t: Tenants;
  let vapp: string;
  let mapp: string;
  let vdb: string;
  let password = '';
  let host = '';
  const outputs: string[] = [];

  beforeAll(async () => {
    t = await Tenants.start({ ...SERVICE_IMAGES, SKIFF_MAX_SERVICES_PER_USER: '1' });
    vapp = t.app('vapp');
    mapp = t.app('mapp');
    vdb = t.app('vdb');
    const repo = await reachRepo();
    expect((await t.push('victim', repo, vapp)).exitCode).toBe(0);
    expect((await t.push('mallory', repo, mapp)).exitCode).toBe(0);
    const created = await t.ssh('victim', ['services:create', 'postgres', vdb]);
    expect(created.exitCode, created.stderr).toBe(0);
    const linked = await t.ssh('victim', ['services:link', vdb, vapp]);
    expect(linked.exitCode, linked.stderr).toBe(0);
    const backup = await t.ssh('victim', ['services:backup', vdb]);
    expect(backup.exitCode, backup.stderr).toBe(0);
    outputs.push(backup.stdout, backup.stderr);
    outputs.push(created.stdout, created.stderr, linked.stdout, linked.stderr);
    const url = new URL((await t.ssh('victim', ['config:get', vapp, 'DATABASE_URL'])).stdout);
    password = url.password;
    host = url.hostname;
  });
  afterAll(async () => {
    await t?.ssh('victim', ['services:unlink', vdb, vapp]).catch(() => undefined);
    await t?.ssh('victim', ['services:destroy', vdb, '--confirm', vdb]).catch(() => undefined);
    await t?.cleanup();
    await removeServiceLeftovers(t.apps);
  });

  it("refuses another tenant's service commands with the answer a missing service gets", async () => {
    const missing = await t.ssh('mallory', ['services:info', 'no-such-service']);
    expect(missing.exitCode).toBe(1);
    for (const args of [
      ['services:info', vdb],
      ['services:link', vdb, mapp],
      ['services:unlink', vdb, vapp],
      ['services:destroy', vdb, '--confirm', vdb],
      ['services:restart', vdb],
      ['services:logs', vdb],
      ['services:backup', vdb],
      ['services:backups', vdb],
      ['services:backups:check', vdb, '1'],
      ['services:backups:download', vdb, '1'],
      ['services:restore', vdb, '1'],
      ['services:connect', vdb],
    ]) {
      const r = await t.ssh('mallory', args);
      expect(r.exitCode, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toBe(missing.stderr);
    }
    // Linking her own service to the victim's app needs the app: denied too.
    expect(JSON.parse((await t.ssh('mallory', ['services', '--json'])).stdout)).toEqual([]);
    expect(JSON.parse((await t.ssh('victim', ['services:info', vdb, '--json'])).stdout).links).toEqual([{ app: vapp, variable: 'DATABASE_URL' }]);
  });

  it("keeps the service out of reach of another tenant's containers, while the linked app reaches it", async () => {
    const victim = await t.ssh('victim', ['run', vapp, 'node', '/reach.js', host, '5432']);
    expect(victim.stdout).toBe('reached');
    const mallory = await t.ssh('mallory', ['run', mapp, 'node', '/reach.js', host, '5432']);
    expect(mallory.stdout).toMatch(/^unreachable: (ENOTFOUND|EAI_AGAIN)$/);
  });

  it('ends a share with the access that allowed it: the links the user made go, and her containers lose the way in', async () => {
    const early = await t.ssh('mallory', ['services:access:add', vdb, 'mallory']);
    expect(early.exitCode).toBe(1);
    expect(early.stderr).toContain('access denied');
    expect((await t.ssh('victim', ['services:access:add', vdb, 'mallory'])).stdout).toContain(`mallory may now use ${vdb}`);
    const grant = await t.ssh('mallory', ['services:access:add', vdb, 'admin']);
    expect(grant.stderr).toContain(`only the owner of ${vdb} (victim) or an admin may do that`);
    const linked = await t.ssh('mallory', ['services:link', vdb, mapp]);
    expect(linked.exitCode, linked.stderr).toBe(0);
    expect((await t.ssh('mallory', ['run', mapp, 'node', '/reach.js', host, '5432'])).stdout).toBe('reached');

    const revoked = await t.ssh('victim', ['services:access:remove', vdb, 'mallory']);
    expect(revoked.exitCode, revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain(`mallory may no longer use ${vdb}; unlinked from ${mapp}`);
    expect(JSON.parse((await t.ssh('mallory', ['config', mapp, '--json'])).stdout).DATABASE_URL).toBeUndefined();
    expect((await t.ssh('mallory', ['run', mapp, 'node', '/reach.js', host, '5432'])).stdout).toMatch(/^unreachable: (ENOTFOUND|EAI_AGAIN)$/);
    expect((await t.ssh('mallory', ['services:info', vdb])).stderr).toContain('access denied');
    expect(JSON.parse((await t.ssh('victim', ['services:info', vdb, '--json'])).stdout).links).toEqual([{ app: vapp, variable: 'DATABASE_URL' }]);
  });

  it("bounds the services a user may create, and one's own links need one's own app", async () => {
    const first = await t.ssh('mallory', ['services:create', 'redis', t.app('mcache')]);
    expect(first.exitCode, first.stderr).toBe(0);
    const second = await t.ssh('mallory', ['services:create', 'redis', t.app('more')]);
    expect(second.exitCode).toBe(1);
    expect(second.stderr).toContain('you have 1 services, the most SKIFF_MAX_SERVICES_PER_USER allows here');
    const onVictim = await t.ssh('mallory', ['services:link', t.apps.at(-2)!, vapp]);
    expect(onVictim.exitCode).toBe(1);
    expect(onVictim.stderr).toContain('access denied');
    expect((await t.ssh('mallory', ['services:destroy', t.apps.at(-2)!, '--confirm', t.apps.at(-2)!])).exitCode).toBe(0);
  });

  it('never shows the password but in config:get of the linked variable: not in listings, config, the trail or the log', async () => {
    expect(password).toMatch(/^[0-9a-f]{48}$/);
    for (const args of [
      ['services:info', vdb],
      ['services:info', vdb, '--json'],
      ['services', '--json'],
      ['config', vapp],
      ['config', vapp, '--json', '--show-origin'],
      ['releases', vapp],
      ['events', '--json'],
      ['services:logs', vdb, '-n', '1000'],
      ['services:backups', vdb, '--json'],
    ]) {
      const r = await t.ssh('admin', args);
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      outputs.push(r.stdout, r.stderr);
    }
    outputs.push(t.server.output, fs.readFileSync(path.join(t.server.home, 'skiff.db')).toString('latin1'));
    const logFile = path.join(t.server.home, 'logs', 'skiff.log');
    if (fs.existsSync(logFile)) outputs.push(fs.readFileSync(logFile, 'utf8'));
    for (const text of outputs) expect(text).not.toContain(password);
  });
});
