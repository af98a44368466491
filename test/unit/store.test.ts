import { NO_SCRIPTS } from '../../src/domain/app-json.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/sqlite-store.js';
import { SecretBox } from '../../src/store/secret-box.js';
import type { Store } from '../../src/store/store.js';

describe('SQLite store', () => {
  let store: Store;
  beforeEach(() => {
    store = openStore(':memory:', SecretBox.ephemeral());
  });
  afterEach(() => store.close());

  it('creates, lists and removes apps, refusing duplicates', () => {
    store.apps.create('b', 'alice');
    store.apps.create('a', 'bob');
    expect(() => store.apps.create('a', 'carol')).toThrow("app 'a' already exists");
    expect(store.apps.list().map((a) => [a.name, a.createdBy, a.currentRelease])).toEqual([
      ['a', 'bob', null],
      ['b', 'alice', null],
    ]);
    store.apps.remove('a');
    expect(store.apps.find('a')).toBeUndefined();
  });

  it('numbers releases per app and names their image from the version', () => {
    const mk = (app: string) =>
      store.releases.create(
        {
          app,
          commit: 'c'.repeat(40),
          buildId: 1,
          pusher: 'alice',
          description: 'Deploy ccccccc',
          config: { A: '1' },
          processes: { web: null, worker: 'w' },
          healthcheck: null,
          port: null,
          cron: [],
          scripts: NO_SCRIPTS,
          environments: {},
        },
        (v) => `skiff/${app}:v${v}`,
      );
    expect(mk('a').version).toBe(1);
    expect(mk('a')).toMatchObject({ version: 2, image: 'skiff/a:v2', status: 'pending', config: { A: '1' }, processes: { web: null, worker: 'w' } });
    expect(mk('b').version).toBe(1);
    store.releases.setStatus('a', 2, 'deployed');
    store.releases.failAbandoned('a');
    expect(store.releases.list('a').map((r) => [r.version, r.status])).toEqual([
      [2, 'deployed'],
      [1, 'failed'],
    ]);
    // The serving release is the app's current one, of that app only.
    store.apps.create('a', 'alice');
    expect(store.releases.current('a')).toBeUndefined();
    store.apps.setCurrentRelease('a', 2);
    expect(store.releases.current('a')).toMatchObject({ app: 'a', version: 2, config: { A: '1' } });
    expect(store.releases.current('b')).toBeUndefined();
  });

  it('keeps keys by fingerprint, several per user', () => {
    store.keys.add({ user: 'alice', fingerprint: 'SHA256:a', publicKey: 'ssh-ed25519 AAAA', admin: true });
    store.keys.add({ user: 'alice', fingerprint: 'SHA256:b', publicKey: 'ssh-ed25519 BBBB', admin: false });
    expect(() => store.keys.add({ user: 'bob', fingerprint: 'SHA256:a', publicKey: 'x', admin: false })).toThrow(/already registered \(to alice\)/);
    expect(store.keys.findByFingerprint('SHA256:a')).toMatchObject({ user: 'alice', admin: true });
    expect(store.keys.removeUser('alice')).toBe(2);
    expect(store.keys.list()).toEqual([]);
  });

  it('marks builds of dead processes failed and leaves live ones alone', () => {
    const start = (pid: number) => store.builds.start({ app: 'a', commit: 'c', ref: 'refs/heads/main', pusher: 'x', pid }, (id) => `/logs/${id}.log`);
    const dead = start(111);
    const live = start(222);
    expect(dead.logPath).toBe(`/logs/${dead.id}.log`);
    const failed = store.builds.failAbandoned((pid) => pid === 222);
    expect(failed.map((b) => b.id)).toEqual([dead.id]);
    expect(store.builds.find('a', dead.id)).toMatchObject({ status: 'failed', error: expect.stringMatching(/interrupted/) });
    expect(store.builds.find('a', live.id)?.status).toBe('running');
    expect(store.builds.latest('a')?.id).toBe(live.id);
  });

  it('gives an app lock to one holder at a time, and takes it over from a dead one', () => {
    const alive = new Set([1, 2]);
    const isAlive = (pid: number) => alive.has(pid);
    expect(store.locks.tryAcquire({ app: 'a', pid: 1, holder: 'alice', purpose: 'deploy' }, isAlive)).toBeUndefined();
    expect(store.locks.tryAcquire({ app: 'a', pid: 2, holder: 'bob', purpose: 'deploy' }, isAlive)).toMatchObject({ holder: 'alice', pid: 1 });
    expect(store.locks.tryAcquire({ app: 'b', pid: 2, holder: 'bob', purpose: 'deploy' }, isAlive)).toBeUndefined();
    alive.delete(1);
    expect(store.locks.tryAcquire({ app: 'a', pid: 2, holder: 'bob', purpose: 'deploy' }, isAlive)).toBeUndefined();
    store.locks.release('a', 2);
    expect(store.locks.tryAcquire({ app: 'a', pid: 1, holder: 'alice', purpose: 'deploy' }, () => true)).toBeUndefined();
  });

  it('keeps config, formation, domains and routes per app, and drops them with the app', () => {
    store.apps.create('a', 'alice');
    store.config.update('a', { X: '1', Y: 'two words' }, []);
    store.config.update('a', { X: '3' }, ['Y']);
    expect(store.config.get('a')).toEqual({ X: '3' });
    store.formation.setQuantities('a', { web: 2 });
    store.formation.setResources('a', 'worker', { memory: 1024, cpus: null });
    expect(store.formation.list('a')).toEqual([
      { process: 'web', quantity: 2, memory: null, cpus: null },
      { process: 'worker', quantity: null, memory: 1024, cpus: null },
    ]);
    store.domains.add('a', 'www.example.com');
    expect(() => store.domains.add('b', 'www.example.com')).toThrow('belongs to another app');
    store.routes.set('a', ['127.0.0.1:4000']);
    expect(store.routes.all()).toEqual([{ app: 'a', upstreams: ['127.0.0.1:4000'], hosts: ['www.example.com'], held: null, maintenance: null }]);
    // A hold is kept beside the upstreams, which it does not change, until it ends.
    const held = { id: 'h1', socket: '/run/h1.hold', release: '/run/h1.release', pid: 42, reason: 'pause' as const, until: null, releasing: false };
    store.routes.hold('a', held);
    expect(store.routes.all()[0]).toMatchObject({ upstreams: ['127.0.0.1:4000'], held });
    expect(store.routes.held('a')).toEqual(held);
    store.routes.hold('a', null);
    expect(store.routes.all()[0].held).toBeNull();
    store.mounts.add('a', 'data', '/data', { singleWriter: true });
    expect(() => store.mounts.add('a', 'other', '/data')).toThrow('mounts data at /data already');
    expect(store.mounts.list('a')).toEqual([{ name: 'data', path: '/data', singleWriter: true, from: null, sharedBy: null, createdAt: expect.any(String) }]);
    // Another app's volume, shared: the owning app knows who mounts it.
    store.mounts.add('b', 'files', '/files', { from: 'c' });
    expect(store.mounts.list('b')).toEqual([{ name: 'files', path: '/files', singleWriter: false, from: 'c', sharedBy: null, createdAt: expect.any(String) }]);
    expect(store.mounts.sharers('c')).toEqual(['b']);
    expect(store.mounts.sharers('c', 'files')).toEqual(['b']);
    expect(store.mounts.sharers('c', 'other')).toEqual([]);
    store.apps.remove('a');
    expect(store.mounts.list('a')).toEqual([]);
    expect(store.config.get('a')).toEqual({});
    expect(store.formation.list('a')).toEqual([]);
    expect(store.domains.list('a')).toEqual([]);
    expect(store.routes.get('a')).toBeUndefined();
  });

  it('passes an integrity check', () => {
    expect(store.integrityCheck()).toBe('ok');
  });
});
