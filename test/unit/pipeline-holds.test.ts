// The pipeline's paths in milliseconds: single-writer handovers, the router's holds and pauses. The fakes of
// test/helpers/fakes.ts stand for every seam, the store is real (test/helpers/pipeline-harness.ts).
import { describe, expect, it } from 'vitest';
import { ConflictError } from '../../src/errors.js';
import { scale } from '../../src/operations/formation.js';
import { pauseApp, resumeApp, resumeDuePauses } from '../../src/operations/pause.js';
import { mountStorage } from '../../src/operations/storage.js';
import { holdRequests } from '../../src/pipeline/hold.js';
import { PushRejected } from '../../src/pipeline/push.js';
import { clearEvents, events } from '../helpers/fakes.js';
import { APP, services, host, router, op, push } from '../helpers/pipeline-harness.js';

describe('a single-writer volume', () => {
  const WITH_RELEASE = 'web: serve\nrelease: ./migrate\n';

  it('is handed over: requests held, old stopped, release phase, new started on the held port, then switched', async () => {
    await push('one', WITH_RELEASE);
    await mountStorage(op(), APP, 'db:/db', { singleWriter: true });
    clearEvents();
    await push('two', WITH_RELEASE);
    // The old container's removal (the engine's teardown) goes on while the new one starts: the push waits for it last.
    expect(events).toEqual([
      'build',
      'hold',
      'route held',
      'stop web.1 v1',
      'run sh -c exec ./migrate v2',
      'start web.1 v2',
      'route held',
      'route released',
      'route',
      'removed web.1 v1',
    ]);
    expect(router.upstreams(APP)).toEqual([expect.stringMatching(/^127\.0\.0\.1:\d+$/)]);
    expect(host.specs.at(-1)?.mounts).toEqual([{ volume: `skiff-${APP}_db`, path: '/db' }]);
    // The hold ended, and so did the router's answering on its release socket.
    expect(services.store.routes.all()[0].held).toBeNull();
    expect(router.routes[0].releasing).toBeUndefined();
    await expect(scale(op(), APP, { web: 2 })).rejects.toThrow(/single-writer volume: it runs one instance at most/);
  });

  it('waits for the requests the old instance took before the hold, and for no longer', async () => {
    await push('one', 'web: serve\n');
    await mountStorage(op(), APP, 'db:/db', { singleWriter: true });
    const [old] = router.upstreams(APP);
    router.inFlight.set(old, 2);
    clearEvents();
    await push('two', 'web: serve\n');
    expect(events.slice(0, 6)).toEqual(['build', 'hold', 'route held', 'in flight 2', 'in flight 1', 'stop web.1 v1']);
  });

  it('stops waiting for requests in flight at the drain bound', async () => {
    await push('one', 'web: serve\n');
    await mountStorage(op(), APP, 'db:/db', { singleWriter: true });
    const [old] = router.upstreams(APP);
    router.inFlight.set(old, 1_000_000);
    clearEvents();
    await push('two', 'web: serve\n');
    // 2 s (0.2 of them before the first count) in polls of 10 ms, then the handover goes on.
    expect(events.filter((e) => e.startsWith('in flight'))).toHaveLength(180);
    expect(events.slice(-6)).toEqual(['stop web.1 v1', 'start web.1 v2', 'route held', 'route released', 'route', 'removed web.1 v1']);
  });

  it('starts the serving release again on the held port when the new one fails, and says so', async () => {
    await push('one', WITH_RELEASE);
    await mountStorage(op(), APP, 'db:/db', { singleWriter: true });
    host.failing.add(`skiff/${APP}:v2`);
    clearEvents();
    await expect(push('two', WITH_RELEASE)).rejects.toBeInstanceOf(PushRejected);
    expect(events).toEqual([
      'build',
      'hold',
      'route held',
      'stop web.1 v1',
      'run sh -c exec ./migrate v2',
      'start web.1 v2',
      // The failed rollout's abort waits for the old container's removal before v1 starts again.
      'removed web.1 v1',
      'start web.1 v1',
      'route held',
      'route released',
      'route',
    ]);
    expect(host.versions(APP)).toEqual(['web.1 v1']);
    expect(router.upstreams(APP)).toEqual([expect.stringMatching(/^127\.0\.0\.1:\d+$/)]);
    expect(services.store.routes.held(APP)).toBeNull();
    expect(services.store.apps.find(APP)?.currentRelease).toBe(1);
    expect(services.store.releases.find(APP, 2)?.status).toBe('failed');
  });
});

describe('the router’s holds', () => {
  it('are bounded: pauses leave some free, which a deploy’s handover may take', async () => {
    await push('one');
    await mountStorage(op(), APP, 'db:/db', { singleWriter: true });
    router.slots = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7', 'h8'];
    await expect(pauseApp(op(), APP, 60)).rejects.toBeInstanceOf(ConflictError);
    expect(services.store.routes.held(APP)).toBeNull();
    expect(router.routes[0].heldBy).toBeUndefined();
    clearEvents();
    await push('two');
    expect(events).toContain('hold');
    expect(services.store.apps.find(APP)?.currentRelease).toBe(2);
  });

  it('end at their bound by the server’s watch: a handover whose push is stuck lets its requests go, with no resume event', async () => {
    await push('one');
    expect(await holdRequests(services, APP, 'handover', new Date(Date.now() + 60_000))).toBe(true);
    expect(router.routes[0].heldBy).toBeDefined();
    expect(await resumeDuePauses(services)).toEqual([]);
    expect(router.routes[0].heldBy).toBeDefined();
    expect(await resumeDuePauses(services, new Date(Date.now() + 61_000))).toEqual([]);
    expect(router.routes[0].heldBy).toBeUndefined();
    expect(services.store.routes.held(APP)).toBeNull();
    expect(services.store.events.list({ app: APP, limit: 5 }).filter((e) => e.action === 'ps:resume')).toEqual([]);
  });
});

describe('a pause', () => {
  it('holds until ps:resume, through a deploy, whose instances then get the requests', async () => {
    await push('one');
    const { until } = await pauseApp(op(), APP, 60);
    expect(until.getTime() - Date.now()).toBeGreaterThan(55_000);
    expect(router.routes[0].heldBy).toBeDefined();
    await expect(pauseApp(op(), APP, 60)).rejects.toThrow(`${APP} is paused already, until ${until.toISOString()}`);
    await push('two');
    // The deploy switched the record; the pause keeps the router sending requests to the hold.
    expect(router.routes[0].heldBy).toBeDefined();
    expect(router.upstreams(APP)).toEqual(services.store.routes.get(APP));
    await resumeApp(op(), APP);
    expect(router.routes[0].heldBy).toBeUndefined();
    expect(services.store.routes.held(APP)).toBeNull();
    await expect(resumeApp(op(), APP)).rejects.toThrow(`${APP} is not paused`);
  });

  it('ends at --max by the server’s watch, with an event, and not before; its bounds are checked', async () => {
    await push('one');
    for (const bad of [0, 3601, 1.5, Number.NaN]) await expect(pauseApp(op(), APP, bad)).rejects.toThrow('--max must be whole seconds from 1 to 3600');
    const { until } = await pauseApp(op(), APP, 30);
    expect(await resumeDuePauses(services, new Date(until.getTime() - 1000))).toEqual([]);
    expect(router.routes[0].heldBy).toBeDefined();
    expect(await resumeDuePauses(services, until)).toEqual([APP]);
    expect(router.routes[0].heldBy).toBeUndefined();
    expect(services.store.events.list({ app: APP, limit: 5 })).toContainEqual(
      expect.objectContaining({ action: 'ps:resume', user: 'skiff', source: 'server' }),
    );
  });

  it('whose hold died is forgotten, and the app is routed as usual again', async () => {
    await push('one');
    await pauseApp(op(), APP, 60);
    router.holdsRunning = false;
    expect(await resumeDuePauses(services)).toEqual([]);
    expect(router.routes[0].heldBy).toBeUndefined();
    expect(services.store.routes.held(APP)).toBeNull();
  });
});
