import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { composeFile } from '../../src/domain/compose-file.js';
import { countsDiffer, parseCounts, parseKeyspace } from '../../src/runtime/service-dumps.js';
import { isServiceUrl, linkVariable, maskedUrl, parseServiceKind, parseServiceName, serviceImage, serviceUrl } from '../../src/domain/backing-service.js';
import { scratchContainerSpec, serviceContainerSpec } from '../../src/runtime/backing-service-spec.js';
import { SecretBox } from '../../src/store/secret-box.js';
import { openStore } from '../../src/store/sqlite-store.js';
import { configOf, configOrigins } from '../../src/pipeline/app-config.js';
import { backupProblems } from '../../src/operations/backups.js';

const pg = {
  id: '0123456789abcdef',
  name: 'orders-db',
  kind: 'postgres' as const,
  version: '15',
  image: 'postgres:15',
  owner: 'alice',
  createdAt: '',
  schedule: null,
};
const bounds = { memory: 512 * 1024 * 1024, cpus: null, pids: 256 };

describe('backing services, as values', () => {
  it('refuses unknown kinds, names that are not app-like and versions that are not image tags', () => {
    expect(parseServiceKind('redis')).toBe('redis');
    expect(() => parseServiceKind('mysql')).toThrow("'mysql' is not a kind of service: use postgres or redis");
    expect(() => parseServiceName('../x')).toThrow('is not a service name');
    expect(() => parseServiceName('Orders')).toThrow('is not a service name');
    expect(() => serviceImage('postgres:16', '15;rm')).toThrow('is not a version');
    expect(() => serviceImage('postgres:16', '@sha256:x')).toThrow('is not a version');
  });

  it("takes the setting's repository with the version as its tag, a registry port kept", () => {
    expect(serviceImage('postgres:16-bookworm', undefined)).toEqual({ image: 'postgres:16-bookworm', version: '16-bookworm' });
    expect(serviceImage('postgres:16-bookworm', '15')).toEqual({ image: 'postgres:15', version: '15' });
    expect(serviceImage('registry.internal:5000/pg', '15')).toEqual({ image: 'registry.internal:5000/pg:15', version: '15' });
    expect(serviceImage('registry.internal:5000/pg', undefined)).toEqual({ image: 'registry.internal:5000/pg:latest', version: 'latest' });
  });

  it('gives a URL whose host is the service by name and identity, and hides its password in listings', () => {
    const url = serviceUrl(pg, 'p4ss');
    expect(url).toBe('postgres://postgres:p4ss@skiff-service-orders-db-0123456789abcdef:5432/orders_db');
    expect(serviceUrl({ ...pg, kind: 'redis' }, 'p4ss')).toBe('redis://:p4ss@skiff-service-orders-db-0123456789abcdef:6379');
    expect(maskedUrl(url)).toBe('postgres://postgres:****@skiff-service-orders-db-0123456789abcdef:5432/orders_db');
    expect(maskedUrl('redis://:p4ss@h:6379')).toBe('redis://:****@h:6379');
    expect(isServiceUrl(url)).toBe(true);
    expect(isServiceUrl('postgres://u:p@db.example:5432/x')).toBe(false);
  });

  it('names a link DATABASE_URL or REDIS_URL, a second one of a kind by its service, or as asked', () => {
    expect(linkVariable(pg, [], undefined)).toBe('DATABASE_URL');
    expect(linkVariable(pg, ['DATABASE_URL'], undefined)).toBe('POSTGRES_ORDERS_DB_URL');
    expect(linkVariable({ ...pg, kind: 'redis' }, ['DATABASE_URL'], undefined)).toBe('REDIS_URL');
    expect(linkVariable(pg, ['DATABASE_URL'], 'ORDERS_URL')).toBe('ORDERS_URL');
    expect(() => linkVariable(pg, [], 'BAD-NAME')).toThrow("invalid config var name 'BAD-NAME'");
  });

  it('runs the service on its own network with its volume, labelled, limited, restarted, and no port on the host', () => {
    const spec = serviceContainerSpec(pg, 'p4ss', bounds);
    const name = 'skiff-service-orders-db-0123456789abcdef';
    expect(spec).toMatchObject({
      name,
      Image: 'postgres:15',
      Env: ['POSTGRES_PASSWORD=p4ss', 'POSTGRES_DB=orders_db'],
      Labels: { 'skiff.service': 'orders-db', 'skiff.service-id': pg.id },
      HostConfig: { NetworkMode: name, RestartPolicy: { Name: 'unless-stopped' }, Memory: bounds.memory, PidsLimit: 256 },
    });
    expect(spec.HostConfig?.PortBindings).toBeUndefined();
    expect(spec.HostConfig?.Mounts).toEqual([{ Type: 'volume', Source: name, Target: '/var/lib/postgresql/data' }]);
    const redis = serviceContainerSpec({ ...pg, kind: 'redis' }, 'p4ss', bounds);
    expect(redis.Cmd).toEqual(['redis-server', '--requirepass', 'p4ss', '--dir', '/data', '--save', '60 1', '--appendonly', 'no']);
  });

  it("checks a backup in a scratch copy with no network, none of the service's data and limits", () => {
    const spec = scratchContainerSpec(pg, 'throwaway', bounds, 'x1');
    expect(spec.HostConfig).toMatchObject({ NetworkMode: 'none', Memory: bounds.memory, PidsLimit: 256 });
    expect(spec.HostConfig?.Mounts).toBeUndefined();
    expect(spec.Env).toContain('POSTGRES_PASSWORD=throwaway');
  });
});

describe('the services store', () => {
  const store = (): ReturnType<typeof openStore> => openStore(':memory:', SecretBox.ephemeral());

  it("seals the password, counts the owner's quota in the creation, and refuses a taken name", () => {
    const s = store();
    s.backingServices.create(pg, 'secret-password', 2);
    expect(s.backingServices.password(pg.id)).toBe('secret-password');
    expect(JSON.stringify(s.backingServices.list())).not.toContain('secret-password');
    expect(() => s.backingServices.create({ ...pg, id: 'b'.repeat(16) }, 'x', 2)).toThrow('service orders-db exists already');
    s.backingServices.create({ ...pg, id: 'c'.repeat(16), name: 'two' }, 'x', 2);
    expect(() => s.backingServices.create({ ...pg, id: 'd'.repeat(16), name: 'three' }, 'x', 2)).toThrow(
      'you have 2 services, the most SKIFF_MAX_SERVICES_PER_USER allows here',
    );
  });

  it("links a service to an app once, its URL the last word in the app's config, and refuses to remove a linked one", () => {
    const s = store();
    s.apps.create('shop', 'alice');
    s.backingServices.create(pg, 'p4ss', 0);
    s.config.update('shop', { DATABASE_URL: 'mine', A: '1' }, []);
    s.backingServices.link({ serviceId: pg.id, app: 'shop', variable: 'DATABASE_URL', linkedBy: 'alice' });
    expect(configOf(s, 'shop')).toEqual({ A: '1', DATABASE_URL: serviceUrl(pg, 'p4ss') });
    expect(configOrigins(s, 'shop')).toEqual({ A: 'app', DATABASE_URL: 'service orders-db' });
    expect(() => s.backingServices.link({ serviceId: pg.id, app: 'shop', variable: 'OTHER', linkedBy: 'alice' })).toThrow(
      'orders-db is linked to shop already, as DATABASE_URL',
    );
    expect(() => s.backingServices.remove(pg.id)).toThrow('the service is linked to an app');
    s.backingServices.unlinkApp('shop');
    expect(configOf(s, 'shop')).toEqual({ A: '1', DATABASE_URL: 'mine' });
    s.backingServices.remove(pg.id);
    expect(s.backingServices.find('orders-db')).toBeUndefined();
  });
});

describe('dumps and their checks, as values', () => {
  it('reads the counts each kind prints, and refuses a line that is not one', () => {
    expect(parseCounts('public.items\t2\npublic.schema_migrations\t1\n')).toEqual({ 'public.items': 2, 'public.schema_migrations': 1 });
    expect(() => parseCounts('ERROR: nope')).toThrow('unexpected count line');
    expect(parseKeyspace('# Keyspace\r\ndb0:keys=3,expires=0,avg_ttl=0\r\ndb2:keys=1,expires=1,avg_ttl=9\r\n')).toEqual({ db0: 3, db2: 1 });
  });

  it('says what differs between the dump and the restored copy: rows, a missing table, an extra one', () => {
    expect(countsDiffer({ a: 1, b: 2 }, { a: 1, b: 2 })).toBe('');
    expect(countsDiffer({ a: 1, b: 2 }, { a: 0, c: 5 })).toBe("a has 0 rows, not 1; b is missing; c was not in the dump's counts");
  });
});

describe('sealed backup files', () => {
  it('gives back what was sealed, and fails at the end of reading a file with one byte changed or cut short', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealed-'));
    const box = SecretBox.ephemeral();
    const plain = crypto.randomBytes(200_000);
    const file = path.join(dir, 'b');
    const size = await box.sealToFile(Readable.from([plain]), file);
    expect(size).toBe(plain.length + 32);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const read = async (): Promise<Buffer> => Buffer.concat(await box.openFile(file).stream.toArray());
    expect((await read()).equals(plain)).toBe(true);
    const bytes = fs.readFileSync(file);
    bytes[1000] ^= 1;
    fs.writeFileSync(file, bytes);
    await expect(read()).rejects.toThrow('unable to authenticate data');
    fs.truncateSync(file, 20);
    expect(() => box.openFile(file)).toThrow('is not a sealed file');
    expect(fs.readdirSync(dir)).toEqual(['b']);
  });
});

describe('scheduled backups, as doctor sees them', () => {
  it('fails a service whose newest good backup is older than two periods of its schedule, giving a new schedule two periods', () => {
    const s = openStore(':memory:', SecretBox.ephemeral());
    s.backingServices.create(pg, 'p', 0);
    const config = { cron: { seconds: false, timeoutSeconds: 1, maxRunning: 1 } } as never;
    const services = { store: s, config };
    const now = new Date();
    const minutesAgo = (n: number): string => new Date(now.getTime() - n * 60_000).toISOString();
    s.backingServices.setSchedule(pg.id, { cron: '* * * * *', keep: 3, since: minutesAgo(1) });
    expect(backupProblems(services, now)).toEqual([]);
    s.backingServices.setSchedule(pg.id, { cron: '* * * * *', keep: 3, since: minutesAgo(5) });
    expect(backupProblems(services, now)).toEqual([
      `orders-db has had no good backup since ${minutesAgo(5)}, more than two periods of its schedule (* * * * *); see services:backups orders-db`,
    ]);
    const b = s.backups.start({ serviceId: pg.id, service: pg.name, trigger: 'schedule' });
    s.backups.finish(b.id, { status: 'good', bytes: 1, counts: {}, error: null });
    expect(backupProblems(services, now)).toEqual([]);
    const bad = s.backups.start({ serviceId: pg.id, service: pg.name, trigger: 'schedule' });
    s.backups.finish(bad.id, { status: 'bad', bytes: null, counts: null, error: 'the dump failed: no' });
    expect(backupProblems(services, now)).toEqual([`orders-db's last backup (${bad.id}) is bad: the dump failed: no; see services:backups orders-db`]);
  });
});

describe('the compose file for local work', () => {
  const input = {
    app: 'shop',
    version: 7,
    image: 'sha256:' + 'a'.repeat(64),
    processes: [
      { process: 'web', command: 'node server.js' },
      { process: 'worker', command: null },
    ],
    releaseCommand: 'node migrate.js',
    port: 5000,
    config: { SECRET: null, PRICE: '$5' },
    mounts: [{ name: 'files', path: '/files' }],
    links: [{ service: 'orders-db', kind: 'postgres' as const, image: 'postgres:15', variable: 'DATABASE_URL', seed: { backup: 12 } }],
  };

  it('runs the image by its content with each process type, local copies of the services and a seed, and no real password', () => {
    const text = composeFile(input);
    expect(text).toContain('# shop v7 from Skiff, for local work: docker-compose up');
    expect(text).toContain('services:backups:download orders-db 12 > orders-db.dump');
    const file = parseYaml(text);
    expect(file.services.web).toMatchObject({
      image: input.image,
      command: ['sh', '-c', 'node server.js'],
      ports: ['127.0.0.1:${WEB_PORT:-5000}:5000'],
      depends_on: ['orders-db'],
      volumes: ['files:/files'],
      environment: { PORT: '5000', SECRET: null, PRICE: '$$5', DATABASE_URL: 'postgres://postgres:local@orders-db:5432/orders_db' },
    });
    expect(file.services.worker.command).toBeUndefined();
    expect(file.services.release.command).toEqual(['sh', '-c', 'node migrate.js']);
    expect(file.services['orders-db']).toEqual({
      image: 'postgres:15',
      environment: { POSTGRES_PASSWORD: 'local', POSTGRES_DB: 'orders_db' },
      volumes: ['orders-db-data:/var/lib/postgresql/data'],
    });
    expect(file.services['orders-db-seed'].volumes).toEqual(['./orders-db.dump:/seed.dump:ro']);
    expect(Object.keys(file.volumes).sort()).toEqual(['files', 'orders-db-data']);
  });

  it('refuses a service named like a process type', () => {
    expect(() => composeFile({ ...input, links: [{ ...input.links[0], service: 'worker' }] })).toThrow('has the name of a process type');
  });
});
