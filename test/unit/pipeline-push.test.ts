// The pipeline's paths in milliseconds: a push, the operations on a running app, its release phase and its storage. The fakes of
// test/helpers/fakes.ts stand for every seam, the store is real (test/helpers/pipeline-harness.ts).
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { setConfig } from '../../src/operations/config.js';
import { restart, scale } from '../../src/operations/formation.js';
import { mountStorage, unmountStorage } from '../../src/operations/storage.js';
import { pendingKeys } from '../../src/operations/config.js';
import { releaseLogPath } from '../../src/pipeline/release-phase.js';
import { rollback } from '../../src/operations/releases.js';
import { PushRejected } from '../../src/pipeline/push.js';
import { appUrl } from '../../src/pipeline/route.js';
import { clearEvents, events } from '../helpers/fakes.js';
import { APP, services, images, builder, host, router, op, push } from '../helpers/pipeline-harness.js';

describe('a push', () => {
  it('checks out, builds, releases, starts, routes, then stops the old release, in that order', async () => {
    const url = await push('one');
    expect(url).toBe(appUrl(services, APP));
    expect(events).toEqual(['build', 'start web.1 v1', 'route']);
    clearEvents();
    await push('two');
    expect(events).toEqual(['build', 'start web.1 v2', 'route', 'stop web.1 v1']);
    expect(host.versions(APP)).toEqual(['web.1 v2']);
    expect(services.store.apps.find(APP)?.currentRelease).toBe(2);
    expect(router.upstreams(APP)).toEqual([`127.0.0.1:${[...host.running.values()].find((i) => i.process === 'web')?.hostPort}`]);
    // The build's tag went; the release keeps its own.
    expect([...images.tags].sort()).toEqual([`skiff/${APP}:v1`, `skiff/${APP}:v2`]);
    expect(services.store.builds.list(APP).map((b) => b.status)).toEqual(['succeeded', 'succeeded']);
    // Each step's time is kept with the build, in the order the steps began, each within the one it is part of.
    const steps = services.store.builds.latest(APP)?.timings.map((t) => `${'  '.repeat(t.depth)}${t.step}`);
    expect(steps).toEqual(['lock', 'Checking out', 'manifests', 'Building image', 'Releasing', 'Starting v2', '  instances', '  switch', '  retire', 'prune']);
    expect(services.store.builds.latest(APP)?.timings.every((t) => Number.isInteger(t.ms) && t.ms >= 0)).toBe(true);
  });

  it('leaves the previous release serving when the build fails, records it, and lets go of the lock', async () => {
    await push('one');
    const routed = router.upstreams(APP);
    builder.fail = true;
    await expect(push('broken')).rejects.toBeInstanceOf(PushRejected);
    expect(host.versions(APP)).toEqual(['web.1 v1']);
    expect(router.upstreams(APP)).toEqual(routed);
    expect(services.store.apps.find(APP)?.currentRelease).toBe(1);
    expect(services.store.releases.list(APP).map((r) => r.version)).toEqual([1]);
    expect(services.store.builds.latest(APP)?.status).toBe('failed');
    // A failed push keeps its step times too, up to the step that failed.
    expect(services.store.builds.latest(APP)?.timings.map((t) => t.step)).toEqual(['lock', 'Checking out', 'manifests', 'Building image']);
    expect(services.store.events.list({ app: APP, limit: 1 })[0].outcome).toMatch(/^failed: docker build failed/);
    // Nobody holds the app's lock: the next push or command goes ahead at once.
    expect(services.store.locks.tryAcquire({ app: APP, pid: process.pid, holder: 'test', purpose: 'check' }, () => true)).toBeUndefined();
  });

  it('abandons a release whose instances never get ready, and stops only what it started', async () => {
    await push('one');
    host.failing.add(`skiff/${APP}:v2`);
    clearEvents();
    await expect(push('crashes')).rejects.toThrow(/did not answer HTTP/);
    expect(events).toEqual(['build', 'start web.1 v2']);
    expect(host.versions(APP)).toEqual(['web.1 v1']);
    expect(services.store.releases.find(APP, 2)?.status).toBe('failed');
    expect(images.tags.has(`skiff/${APP}:v2`)).toBe(false);
  });

  it('undoes the switch when the router refuses it: new instances go, the record says the old release', async () => {
    await push('one');
    const routed = router.upstreams(APP);
    router.failNext = true;
    clearEvents();
    await expect(push('two')).rejects.toThrow(/router refused/);
    expect(events).toEqual(['build', 'start web.1 v2', 'stop web.1 v2']);
    expect(host.versions(APP)).toEqual(['web.1 v1']);
    expect(services.store.apps.find(APP)?.currentRelease).toBe(1);
    expect(services.store.releases.find(APP, 2)?.status).toBe('failed');
    expect(services.store.routes.get(APP)).toEqual(routed);
  });
});

describe('operations on a running app', () => {
  it('rolls a config change out as a release of the same image, and undoes the record when it fails', async () => {
    await push('one');
    expect(await setConfig(op(), APP, { GREETING: 'hi' }, { restart: true })).toBe('released');
    const v2 = services.store.releases.find(APP, 2);
    expect(v2).toMatchObject({ status: 'deployed', config: { GREETING: 'hi' }, commit: services.store.releases.find(APP, 1)?.commit });
    expect(images.tagged.at(-1)).toEqual([`skiff/${APP}:v1`, `skiff/${APP}:v2`]);
    expect(host.versions(APP)).toEqual(['web.1 v2']);
    expect(builder.builds).toBe(1);

    host.failing.add(`skiff/${APP}:v3`);
    await expect(setConfig(op(), APP, { GREETING: 'bye' }, { restart: true })).rejects.toThrow(/did not answer/);
    expect(services.store.config.get(APP)).toEqual({ GREETING: 'hi' });
    expect(host.versions(APP)).toEqual(['web.1 v2']);
    expect(services.store.apps.find(APP)?.currentRelease).toBe(2);
  });

  it('rolls back by releasing the earlier image again, without a build', async () => {
    await push('one');
    await push('two');
    await rollback(op(), APP, undefined);
    expect(builder.builds).toBe(2);
    expect(services.store.releases.find(APP, 3)).toMatchObject({ status: 'deployed', description: 'Rollback to v1' });
    expect(images.tagged.at(-1)).toEqual([`skiff/${APP}:v1`, `skiff/${APP}:v3`]);
    expect(host.versions(APP)).toEqual(['web.1 v3']);
  });

  it('scales without touching the instances it keeps, and restores the record when a new one fails', async () => {
    await push('one');
    clearEvents();
    await scale(op(), APP, { web: 2 });
    expect(events).toEqual(['start web.2 v1', 'route']);
    expect(host.versions(APP)).toEqual(['web.1 v1', 'web.2 v1']);
    host.failing.add(`skiff/${APP}:v1`);
    await expect(scale(op(), APP, { web: 3 })).rejects.toThrow(/did not answer/);
    expect(services.store.formation.list(APP).find((f) => f.process === 'web')?.quantity).toBe(2);
    expect(host.versions(APP)).toEqual(['web.1 v1', 'web.2 v1']);
    await expect(scale(op(), APP, { nope: 1 })).rejects.toThrow(/has no process type nope; it has web/);
  });
});

describe('the release phase', () => {
  const WITH_RELEASE = 'web: serve\nrelease: ./migrate\n';

  it('runs once, with the new release, after it is recorded and before any instance starts; its output is kept', async () => {
    await push('one', WITH_RELEASE);
    await scale(op(), APP, { web: 3 });
    clearEvents();
    await setConfig(op(), APP, { GREETING: 'hi' }, { restart: true });
    expect(events).toEqual([
      'run sh -c exec ./migrate v2',
      'start web.1 v2',
      'start web.2 v2',
      'start web.3 v2',
      'route',
      'stop web.1 v1',
      'stop web.2 v1',
      'stop web.3 v1',
    ]);
    expect(host.runs.at(-1)).toMatchObject({ image: `skiff/${APP}:v2`, env: { GREETING: 'hi' }, release: 2 });
    expect(fs.readFileSync(releaseLogPath(services.config, APP, 2), 'utf8')).toBe('ran with GREETING=hi\n');
    // Not a process type: it never runs as an instance, and is not scaled.
    await expect(scale(op(), APP, { release: 1 })).rejects.toThrow(/release is the release phase/);
  });

  it('refuses the release when the command fails: no instance starts, the previous release serves, the change is undone', async () => {
    await push('one', WITH_RELEASE);
    host.runStatus = 3;
    clearEvents();
    await expect(setConfig(op(), APP, { GREETING: 'hi' }, { restart: true })).rejects.toThrow(
      'the release command exited with status 3; v2 is not released; v1 keeps serving',
    );
    expect(events).toEqual(['run sh -c exec ./migrate v2']);
    expect(host.versions(APP)).toEqual(['web.1 v1']);
    expect(services.store.releases.find(APP, 2)?.status).toBe('failed');
    expect(services.store.config.get(APP)).toEqual({});
    clearEvents();
    await expect(push('two', WITH_RELEASE)).rejects.toBeInstanceOf(PushRejected);
    expect(events).toEqual(['build', 'run sh -c exec ./migrate v3']);
    expect(services.store.apps.find(APP)?.currentRelease).toBe(1);
  });

  it('is skipped when asked, and runs for a rollback', async () => {
    await push('one', WITH_RELEASE);
    clearEvents();
    await setConfig(op(), APP, { GREETING: 'hi' }, { restart: true, releasePhase: false });
    expect(events.filter((e) => e.startsWith('run'))).toEqual([]);
    await rollback(op(), APP, undefined);
    expect(events.filter((e) => e.startsWith('run'))).toEqual(['run sh -c exec ./migrate v3']);
  });

  it('takes pending config on ps:restart: a release of the serving image', async () => {
    await push('one', WITH_RELEASE);
    await setConfig(op(), APP, { GREETING: 'later' }, { restart: false });
    expect(pendingKeys(services, APP)).toEqual({ changed: ['GREETING'], removed: [] });
    clearEvents();
    expect(await restart(op(), APP, undefined)).toEqual({ released: 2 });
    expect(events[0]).toBe('run sh -c exec ./migrate v2');
    expect(services.store.releases.find(APP, 2)).toMatchObject({
      status: 'deployed',
      config: { GREETING: 'later' },
      description: 'Apply pending config: GREETING',
    });
    expect(pendingKeys(services, APP)).toEqual({ changed: [], removed: [] });
    // Nothing pending: a restart is a restart.
    expect(await restart(op(), APP, undefined)).toMatchObject({ stopped: [expect.objectContaining({ release: 2 })] });
  });
});

describe('storage', () => {
  it('restarts every instance with the volume mounted, and takes the record back when they fail', async () => {
    await push('one');
    clearEvents();
    await mountStorage(op(), APP, 'data:/data');
    expect(events).toEqual(['start web.1 v1', 'route', 'stop web.1 v1']);
    expect(host.specs.at(-1)?.mounts).toEqual([{ volume: `skiff-${APP}_data`, path: '/data' }]);
    host.failing.add(`skiff/${APP}:v1`);
    await expect(mountStorage(op(), APP, 'more:/more')).rejects.toThrow(/did not answer/);
    expect(services.store.mounts.list(APP).map((m) => m.name)).toEqual(['data']);
    await expect(unmountStorage(op(), APP, 'data')).rejects.toThrow(/did not answer/);
    expect(services.store.mounts.list(APP).map((m) => m.name)).toEqual(['data']);
  });

  it('keeps single-writer volumes off swarm, and a swarm app placed on another node from mounting one', async () => {
    host.name = 'swarm';
    await expect(mountStorage(op(), APP, 'db:/db', { singleWriter: true })).rejects.toThrow(/single-writer volume on swarm/);
    services.store.apps.setNode(APP, 'elsewhere');
    await expect(mountStorage(op(), APP, 'data:/data')).rejects.toThrow(/whose volumes live on/);
    expect(services.store.mounts.list(APP)).toEqual([]);
  });
});
