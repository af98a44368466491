import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE_IMAGE, SERVICE_IMAGES } from '../helpers/base-image.js';
import {
  SkiffServer,
  fixtureRepo,
  freePort,
  httpGet,
  httpRequest,
  makeKey,
  removeDockerLeftovers,
  removeServiceLeftovers,
  sshOptions,
  tempDir,
  uniqueApp,
  waitFor,
} from '../helpers/skiff.js';

const inspect = async (name: string): Promise<Record<string, any>> => JSON.parse((await execa('docker', ['inspect', name])).stdout)[0];

/** Databases as services: made, linked to an app that keeps rows in one, surviving deploys and restarts, destroyed only when unlinked. */
describe('services', () => {
  let server: SkiffServer;
  let key: string;
  const app = uniqueApp('rows');
  const db = uniqueApp('db');
  const cache = uniqueApp('cache');
  let url = '';

  const ssh = (args: string[]): Promise<string> => server.sshOk(key, args);
  const items = async (): Promise<string> => (await httpGet(`${url}items`)).body.trim();

  beforeAll(async () => {
    server = await SkiffServer.start({
      ...SERVICE_IMAGES,
      SKIFF_STACK_NODE_IMAGE: NODE_IMAGE,
      SKIFF_BUILD_CA_FILE: '/etc/ssl/certs/ca-certificates.crt',
      // Schedules of seconds, so that scheduled backups come within a test.
      SKIFF_CRON_SECONDS: '1',
      // The linked app's webhook listens on loopback.
      SKIFF_HOOKS_ALLOW: '127.0.0.1/32',
    });
    key = await makeKey(tempDir('keys'), 'admin');
    await server.cli(['keys:add', 'alice', '--admin'], fs.readFileSync(`${key}.pub`, 'utf8'));
  });

  afterAll(async () => {
    for (const s of [db, cache]) await server?.ssh(key, ['services:destroy', s, '--confirm', s]).catch(() => undefined);
    await server?.cleanup();
    await removeDockerLeftovers([app]);
    await removeServiceLeftovers([db, cache]);
  });

  it('creates a postgres on a network of its own, its data in a volume, no port on the host, and lists it', async () => {
    expect(await ssh(['services:create', 'postgres', db])).toContain(`${db} is running`);
    const info = JSON.parse(await ssh(['services:info', db, '--json']));
    expect(info).toMatchObject({ name: db, kind: 'postgres', version: '15', state: 'running', links: [], lastGoodBackup: null, owner: 'alice' });
    expect(JSON.parse(await ssh(['services', '--json'])).map((s: { name: string }) => s.name)).toContain(db);

    const [container] = (await execa('docker', ['ps', '-q', '--filter', `label=skiff.service=${db}`])).stdout.split('\n');
    const c = await inspect(container);
    expect(c.HostConfig.PortBindings ?? {}).toEqual({});
    expect(Object.keys(c.NetworkSettings.Networks)).toEqual([c.Name.slice(1)]);
    expect(c.HostConfig.RestartPolicy.Name).toBe('unless-stopped');
    expect(c.HostConfig.Memory).toBeGreaterThan(0);
    expect(c.HostConfig.PidsLimit).toBeGreaterThan(0);
    expect(c.Config.Labels).toMatchObject({ 'skiff.service': db, 'skiff.service-id': expect.stringMatching(/^[0-9a-f]{16}$/) });
    const network = JSON.parse((await execa('docker', ['network', 'inspect', c.Name.slice(1)])).stdout)[0];
    expect(network.Internal).toBe(true);
    expect(c.Mounts.map((m: { Type: string; Name: string; Destination: string }) => [m.Type, m.Name, m.Destination])).toEqual([
      ['volume', c.Name.slice(1), '/var/lib/postgresql/data'],
    ]);

    const again = await server.ssh(key, ['services:create', 'postgres', db]);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain(`service ${db} exists already`);
    const kind = await server.ssh(key, ['services:create', 'mysql', 'x']);
    expect(kind.exitCode).toBe(1);
    expect(kind.stderr).toContain("'mysql' is not a kind of service: use postgres or redis");
  });

  it('links it to an app as DATABASE_URL, whose rows survive a second deploy, a service restart and a server restart', async () => {
    expect((await server.ssh(key, ['apps:create', app])).exitCode).toBe(0);
    const linked = await ssh(['services:link', db, app]);
    expect(linked).toContain(`${app} has ${db} as DATABASE_URL`);
    const repo = await fixtureRepo('node-postgres');
    const push = await server.git(key, repo, ['push', server.remote(app), 'main']);
    expect(push.exitCode, push.stderr).toBe(0);
    expect(push.stderr).toContain('migrated 001-items.sql');
    url = JSON.parse(await ssh(['apps:info', app, '--json'])).url;
    expect((await httpRequest(`${url}items?name=first`, 'POST')).body.trim()).toBe('first');

    const origin = await ssh(['config', app, '--show-origin']);
    expect(origin).toMatch(
      new RegExp(`DATABASE_URL: +postgres://postgres:\\*\\*\\*\\*@skiff-service-${db}-[0-9a-f]{16}:5432/${db.replace(/-/g, '_')}  \\(service ${db}\\)`),
    );
    const full = await ssh(['config:get', app, 'DATABASE_URL']);
    expect(full).toMatch(/^postgres:\/\/postgres:[0-9a-f]{48}@/);
    const own = await server.ssh(key, ['config:set', app, 'DATABASE_URL=postgres://elsewhere']);
    expect(own.exitCode).toBe(1);
    expect(own.stderr).toContain(`DATABASE_URL comes from service ${db}, linked to ${app}: services:unlink ${db} ${app} first`);

    await execa('git', ['commit', '--allow-empty', '-m', 'again'], { cwd: repo });
    const second = await server.git(key, repo, ['push', server.remote(app), 'main']);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(await items()).toBe('first');

    expect(await ssh(['services:restart', db])).toContain(`Restarting ${db}`);
    expect(await items()).toBe('first');
    await server.stop();
    await server.launch();
    expect(await items()).toBe('first');
    expect(JSON.parse(await ssh(['services:info', db, '--json'])).links).toEqual([{ app, variable: 'DATABASE_URL' }]);
    const psql = await server.ssh(key, ['services:connect', db], { input: 'SELECT name FROM items ORDER BY id;\n' });
    expect(psql.exitCode, psql.stderr).toBe(0);
    expect(psql.stdout).toMatch(/ name\s+-+\s+first\s+\(1 row\)/);
    const logs = await ssh(['services:logs', db, '-n', '50']);
    expect(logs).toContain('database system is ready to accept connections');
  });

  it('links a redis beside it as REDIS_URL, which a one-off reaches, and a rollback keeps both links', async () => {
    expect(await ssh(['services:create', 'redis', cache])).toContain(`${cache} is running`);
    expect(await ssh(['services:link', cache, app])).toContain(`${app} has ${cache} as REDIS_URL`);
    const redis = new URL(await ssh(['config:get', app, 'REDIS_URL']));
    expect(redis.password).toMatch(/^[0-9a-f]{48}$/);
    const reach = await server.ssh(key, ['run', app, 'node', 'reach.js', redis.hostname, redis.port]);
    expect(reach.stdout).toBe('reached');
    const cli = await server.ssh(key, ['services:connect', cache], { input: 'PING\n' });
    expect(cli.stdout.trim()).toBe('PONG');
    expect((await execa('docker', ['ps', '-aq', '--filter', 'label=skiff.service-connect'])).stdout).toBe('');
    expect(await ssh(['rollback', app])).toContain('Rolling back');
    expect(await items()).toBe('first');
    const config = JSON.parse(await ssh(['config', app, '--json', '--show-origin']));
    expect(config.REDIS_URL.origin).toBe(`service ${cache}`);
  });

  it('counts a backup good only once it restored into a scratch copy and matched, and gives its pg_dump file back', async () => {
    await httpRequest(`${url}items?name=second`, 'POST');
    // A client connected meanwhile carries the service's labels too: the backup runs in the service's own container all the same.
    const client = server.ssh(key, ['services:connect', db], { input: 'SELECT pg_sleep(6);\n' });
    await waitFor(async () => (await execa('docker', ['ps', '-q', '--filter', 'label=skiff.service-connect'])).stdout !== '', 10_000, 'the client');
    const backup = await ssh(['services:backup', db]);
    expect((await client).exitCode).toBe(0);
    expect(backup).toMatch(new RegExp(`Backup \\d+ of ${db} is good: restored into a scratch copy, 2 tables, 3 rows as dumped`));
    const id = Number(/Backup (\d+) of/.exec(backup)![1]);
    const [listed] = JSON.parse(await ssh(['services:backups', db, '--json']));
    expect(listed).toMatchObject({ id, status: 'good', trigger: 'manual', counts: { 'public.items': 2, 'public.schema_migrations': 1 }, error: null });
    expect(JSON.parse(await ssh(['services:info', db, '--json'])).lastGoodBackup).toMatchObject({ id });
    expect((await execa('docker', ['ps', '-aq', '--filter', 'label=skiff.service-check'])).stdout).toBe('');

    const file = path.join(server.home, 'backups', listed.serviceId, `${id}.backup`);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(file).includes('PGDMP')).toBe(false);
    const download = await execa('ssh', [...sshOptions(key), '-p', String(server.port), 'git@127.0.0.1', 'services:backups:download', db, String(id)], {
      encoding: 'buffer',
    });
    expect(Buffer.from(download.stdout).subarray(0, 5).toString()).toBe('PGDMP');
    expect(Buffer.from(download.stdout).length).toBe(fs.statSync(file).size - 32);
  });

  it('finds a backup whose file was changed on disk or cut short bad, says so in the listing, the trail and doctor, and a good one clears doctor', async () => {
    const backup = async (): Promise<number> => Number(/Backup (\d+) of .* is good/.exec(await ssh(['services:backup', db]))![1]);
    const received: Record<string, unknown>[] = [];
    const hooks = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        received.push(JSON.parse(body) as Record<string, unknown>);
        res.end('thanks');
      });
    });
    await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
    await ssh(['hooks:add', app, `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/hook`]);
    const first = await backup();
    const serviceId = JSON.parse(await ssh(['services:backups', db, '--json']))[0].serviceId;
    const file = (id: number): string => path.join(server.home, 'backups', serviceId, `${id}.backup`);
    const flipped = fs.readFileSync(file(first));
    flipped[Math.floor(flipped.length / 2)] ^= 0x01;
    fs.writeFileSync(file(first), flipped);
    const check = await server.ssh(key, ['services:backups:check', db, String(first)]);
    expect(check.exitCode).toBe(1);
    expect(check.stderr).toContain(`backup ${first} of ${db} is bad`);
    expect(JSON.parse(await ssh(['services:backups', db, '--json']))[0]).toMatchObject({ id: first, status: 'bad' });
    const doctor = await server.cli(['doctor']);
    expect(doctor.exitCode).toBe(1);
    expect(doctor.stdout).toContain(`FAIL  backups: ${db}'s last backup (${first}) is bad`);
    const events = JSON.parse(await ssh(['events', '--json'])) as { action: string; detail: { service?: string; backup?: number } }[];
    expect(events.find((e) => e.action === 'backup.failed')?.detail).toMatchObject({ service: db, backup: first });
    const download = await server.ssh(key, ['services:backups:download', db, String(first)]);
    expect(download.exitCode).toBe(1);
    await waitFor(() => received.some((r) => r.event === 'backup.failed'), 10_000, 'the webhook');
    expect(received.find((r) => r.event === 'backup.failed')).toMatchObject({ app, service: db, backup: first, error: expect.any(String) });
    hooks.close();

    const second = await backup();
    expect((await server.cli(['doctor'])).stdout).toContain("ok    backups: no service's last backup is bad");
    fs.truncateSync(file(second), Math.floor(fs.statSync(file(second)).size / 2));
    const cut = await server.ssh(key, ['services:backups:check', db, String(second)]);
    expect(cut.exitCode).toBe(1);
    expect(cut.stderr).toContain(`backup ${second} of ${db} is bad`);
    expect((await server.cli(['doctor'])).stdout).toContain(`${db}'s last backup (${second}) is bad`);
    await backup();
    expect((await server.cli(['doctor'])).stdout).toContain("ok    backups: no service's last backup is bad");
    expect((await execa('docker', ['ps', '-aq', '--filter', 'label=skiff.service-check'])).stdout).toBe('');
  });

  it('backs up redis: the keys counted as dumped, the RDB loaded in a scratch copy', async () => {
    const [container] = (await execa('docker', ['ps', '-q', '--filter', `label=skiff.service=${cache}`])).stdout.split('\n');
    const password = new URL(await ssh(['config:get', app, 'REDIS_URL'])).password;
    for (const k of ['a', 'b', 'c']) await execa('docker', ['exec', '-e', `REDISCLI_AUTH=${password}`, container, 'redis-cli', 'SET', k, k]);
    const backup = await server.ssh(key, ['services:backup', cache]);
    expect(backup.exitCode, backup.stderr).toBe(0);
    expect(backup.stdout).toMatch(new RegExp(`Backup \\d+ of ${cache} is good: restored into a scratch copy, 3 keys in 1 database as dumped`));
    expect(JSON.parse(await ssh(['services:backups', cache, '--json']))[0].counts).toEqual({ db0: 3 });
  });

  it('restores a backup while the app is paused: a fresh backup first, the rows come back, and no request fails', async () => {
    const taken = await ssh(['services:backup', db]);
    const id = /Backup (\d+) of/.exec(taken)![1];
    expect((await httpRequest(`${url}items`, 'DELETE')).body.trim()).toBe('');
    const failures: string[] = [];
    let answered = 0;
    let restoring = true;
    const load = (async () => {
      // Bounded: at most 400 requests, each within 30 s, only while the restore runs.
      for (let i = 0; i < 400 && restoring; i++) {
        const r = await httpGet(`${url}items`, 30_000).catch((err: Error) => ({ status: 0, body: err.message }));
        if (r.status === 200) answered++;
        else failures.push(`${r.status} ${r.body.trim()}`);
      }
    })();
    const restore = await server.ssh(key, ['services:restore', db, id]);
    restoring = false;
    await load;
    expect(restore.exitCode, restore.stderr).toBe(0);
    expect(restore.stdout).toContain(`Holding ${app}'s requests`);
    expect(restore.stdout).toContain(`${db} holds backup ${id} again (2 tables, 3 rows)`);
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(0);
    expect(await items()).toBe('first,second');
    const [before] = JSON.parse(await ssh(['services:backups', db, '--json']));
    expect(before).toMatchObject({ status: 'good', trigger: `before restore of ${id}`, counts: { 'public.items': 0 } });
  });

  it('takes backups on a schedule, keeping the newest --keep of them, until it is turned off', async () => {
    const scheduled = async (): Promise<number[]> =>
      (JSON.parse(await ssh(['services:backups', cache, '--json'])) as { id: number; trigger: string; status: string }[])
        .filter((b) => b.trigger === 'schedule' && b.status === 'good')
        .map((b) => b.id);
    const bad = await server.ssh(key, ['services:backups:schedule', cache, "'every day'"]);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain("invalid schedule 'every day'");
    expect(await ssh(['services:backups:schedule', cache, "'*/2 * * * * *'", '--keep', '2'])).toContain(
      `${cache} is backed up at */2 * * * * * (UTC); the newest 2 are kept`,
    );
    expect(await ssh(['services:info', cache])).toContain('at */2 * * * * * (UTC), the newest 2 kept');
    // Three scheduled backups seen, two of them kept.
    const seen = new Set<number>();
    let ids: number[] = [];
    await waitFor(
      async () => {
        ids = await scheduled();
        for (const id of ids) seen.add(id);
        return seen.size >= 3 && ids.length === 2;
      },
      60_000,
      () => `scheduled backups seen: ${[...seen].join(', ')}; kept: ${ids.join(', ')}`,
    );
    expect(await ssh(['services:backups:schedule', cache, 'off'])).toContain(`${cache} has no backup schedule`);
    // One that began before the schedule went off may still finish.
    await waitFor(
      async () => !(JSON.parse(await ssh(['services:backups', cache, '--json'])) as { status: string }[]).some((b) => b.status === 'running'),
      30_000,
      'the last scheduled backup to finish',
    );
    const after = await scheduled();
    await new Promise((r) => setTimeout(r, 3000));
    expect((await scheduled()).at(0)).toBe(after.at(0));
  });

  it('restores redis: the keys it held at the backup come back', async () => {
    const [container] = (await execa('docker', ['ps', '-q', '--filter', `label=skiff.service=${cache}`])).stdout.split('\n');
    const password = new URL(await ssh(['config:get', app, 'REDIS_URL'])).password;
    const cli = (...args: string[]): Promise<string> =>
      execa('docker', ['exec', '-e', `REDISCLI_AUTH=${password}`, container, 'redis-cli', ...args]).then((r) => r.stdout.trim());
    const [good] = (JSON.parse(await ssh(['services:backups', cache, '--json'])) as { id: number; status: string }[]).filter((b) => b.status === 'good');
    expect(await cli('FLUSHALL')).toBe('OK');
    expect(await cli('DBSIZE')).toBe('0');
    const restore = await server.ssh(key, ['services:restore', cache, String(good.id), '--no-pause']);
    expect(restore.exitCode, restore.stderr).toBe(0);
    const [after] = (await execa('docker', ['ps', '-q', '--filter', `label=skiff.service=${cache}`])).stdout.split('\n');
    const dbsize = await execa('docker', ['exec', '-e', `REDISCLI_AUTH=${password}`, after, 'redis-cli', 'DBSIZE']);
    expect(dbsize.stdout.trim()).toBe('3');
  });

  it('takes a proven backup before each release phase, and rollback --with-data brings a dropped column and its values back', async () => {
    expect((await httpRequest(`${url}items?name=third&note=n3`, 'POST')).body.trim()).toBe('first,second,third:n3');
    const before = (JSON.parse(await ssh(['releases', app, '--json'])) as { version: number }[])[0].version;
    const repo = await fixtureRepo('node-postgres', (d) =>
      fs.writeFileSync(path.join(d, 'migrations', '002-drop-note.sql'), 'ALTER TABLE items DROP COLUMN note;\n'),
    );
    const push = await server.git(key, repo, ['push', '--force', server.remote(app), 'main']);
    expect(push.exitCode, push.stderr).toBe(0);
    expect(push.stderr).toMatch(new RegExp(`Backup \\d+ of ${db} is good`));
    expect(push.stderr).toContain('migrated 002-drop-note.sql');
    expect(await items()).toBe('first,second,third');
    const dropped = (JSON.parse(await ssh(['releases', app, '--json'])) as { version: number }[])[0].version;
    const backups = JSON.parse(await ssh(['services:backups', db, '--json'])) as { trigger: string }[];
    expect(backups.some((b) => b.trigger === `before the release phase of ${app} v${dropped}`)).toBe(true);

    const rolled = await server.ssh(key, ['rollback', app, `v${before}`, '--with-data']);
    expect(rolled.exitCode, rolled.stderr).toBe(0);
    expect(rolled.stdout).toContain(`Holding ${app}'s requests`);
    expect(rolled.stdout).toContain(`Restoring ${db} to backup`);
    expect(await items()).toBe('first,second,third:n3');

    // Forward again (the column goes again), then back without --with-data: said, and the data stays.
    expect((await server.ssh(key, ['rollback', app, `v${dropped}`])).exitCode).toBe(0);
    expect(await items()).toBe('first,second,third');
    const plain = await server.ssh(key, ['rollback', app, `v${before}`]);
    expect(plain.exitCode, plain.stderr).toBe(0);
    expect(plain.stdout + plain.stderr).toContain(
      `v${dropped}'s release phase ran on the linked database: its data may be ahead of v${before}'s code (rollback ${app} v${before} --with-data`,
    );
    expect(await items()).toBe('first,second,third');
  });

  it('prints a compose file for local work that docker-compose runs: the release image beside a copy of its database, seeded from a backup', async () => {
    const plain = parse(await ssh(['apps:compose', app]));
    expect(Object.keys(plain.services).sort()).toEqual([cache, db, 'release', 'web'].sort());
    expect(plain.services.web.image).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(plain.services.web.environment.DATABASE_URL).toBe(`postgres://postgres:local@${db}:5432/${db.replace(/-/g, '_')}`);
    expect(plain.services.release.command).toEqual(['sh', '-c', 'node migrate.js']);
    expect(JSON.stringify(plain)).not.toContain(new URL(await ssh(['config:get', app, 'DATABASE_URL'])).password);

    const dir = tempDir('compose');
    fs.writeFileSync(path.join(dir, 'docker-compose.yaml'), await ssh(['apps:compose', app, '--seed']));
    const seeded = parse(fs.readFileSync(path.join(dir, 'docker-compose.yaml'), 'utf8'));
    const backup = /services:backups:download \S+ (\d+)/.exec(fs.readFileSync(path.join(dir, 'docker-compose.yaml'), 'utf8'))![1];
    expect(seeded.services[`${db}-seed`].volumes).toEqual([`./${db}.dump:/seed.dump:ro`]);
    const dump = await execa('ssh', [...sshOptions(key), '-p', String(server.port), 'git@127.0.0.1', 'services:backups:download', db, backup], {
      encoding: 'buffer',
    });
    fs.writeFileSync(path.join(dir, `${db}.dump`), Buffer.from(dump.stdout));
    const rows = await items();
    const port = String(await freePort());
    const project = `skiffcompose${Date.now().toString(36)}`;
    const compose = (...args: string[]): Promise<unknown> =>
      execa('docker-compose', ['-p', project, ...args], { cwd: dir, env: { WEB_PORT: port }, timeout: 120_000 });
    try {
      await compose('up', '-d');
      let body = '';
      await waitFor(
        async () => {
          body = (await httpGet(`http://127.0.0.1:${port}/items`, 2000)).body.trim();
          return body === rows;
        },
        90_000,
        () => `the local copy to answer with the seeded rows (last: ${body})`,
      );
    } finally {
      await compose('down', '-v', '--remove-orphans').catch(() => undefined);
    }
  });

  it('destroys a service only once it is unlinked and confirmed, and nothing of it is left', async () => {
    const linked = await server.ssh(key, ['services:destroy', db, '--confirm', db]);
    expect(linked.exitCode).toBe(1);
    expect(linked.stderr).toContain(`${db} is linked to ${app}; services:unlink ${db} ${app} first`);
    // The app's release phase needs its database: a release without it fails, and the link stays.
    const failed = await server.ssh(key, ['services:unlink', db, app]);
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toContain('the release command exited with status 1');
    expect(JSON.parse(await ssh(['services:info', db, '--json'])).links).toEqual([{ app, variable: 'DATABASE_URL' }]);
    expect(await items()).toBe('first,second,third');
    expect(await ssh(['services:unlink', db, app, '--no-release-phase'])).toContain(`${app} no longer has ${db} (DATABASE_URL)`);
    expect((await httpGet(`${url}items`)).status).toBe(500);
    expect(JSON.parse(await ssh(['config', app, '--json'])).DATABASE_URL).toBeUndefined();
    const unconfirmed = await server.ssh(key, ['services:destroy', db]);
    expect(unconfirmed.exitCode).toBe(1);
    expect(unconfirmed.stderr).toContain(`services:destroy ${db} --confirm ${db}`);
    await ssh(['services:destroy', db, '--confirm', db]);
    const left = await execa('docker', ['ps', '-aq', '--filter', `label=skiff.service=${db}`]);
    expect(left.stdout).toBe('');
    expect((await execa('docker', ['volume', 'ls', '-q', '--filter', `label=skiff.service=${db}`])).stdout).toBe('');
    expect((await execa('docker', ['network', 'ls', '-q', '--filter', `label=skiff.service=${db}`])).stdout).toBe('');
  });
});
