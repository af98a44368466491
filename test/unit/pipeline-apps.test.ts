// The pipeline's paths in milliseconds: app.json, pipelines, review apps, environments and config groups. The fakes of
// test/helpers/fakes.ts stand for every seam, the store is real (test/helpers/pipeline-harness.ts).
import { Writable } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Services } from '../../src/operations/operation.js';
import { setConfig } from '../../src/operations/config.js';
import { scale } from '../../src/operations/formation.js';
import { pendingKeys } from '../../src/operations/config.js';
import { addToPipeline, createPipeline, promote, showPipeline } from '../../src/operations/pipelines.js';
import { expireReviewApps } from '../../src/operations/apps.js';
import { addAppToGroup, changeGroupConfig, createGroup } from '../../src/operations/config-groups.js';
import { configOf, configOrigins } from '../../src/pipeline/app-config.js';
import { unsetConfig } from '../../src/operations/config.js';
import { Progress } from '../../src/output/progress.js';
import { deployPush } from '../../src/pipeline/push.js';
import { clearEvents, events } from '../helpers/fakes.js';
import { APP, work, services, images, host, caller, op, git, commit, push } from '../helpers/pipeline-harness.js';

describe('an app.json', () => {
  const APP_JSON = JSON.stringify({
    name: 'from dokku',
    env: { SECRET: { generator: 'secret' } },
    scripts: { dokku: { predeploy: './predeploy', postdeploy: './notify' }, postdeploy: './seed' },
    formation: { web: { quantity: 2 }, worker: { quantity: 1 } },
    healthchecks: {
      web: [
        { type: 'liveness', path: '/alive' },
        { type: 'startup', path: '/ready', attempts: 3 },
      ],
    },
    cron: [
      { command: './nightly', schedule: '0 3 * * *' },
      { command: './paused', schedule: '@hourly', maintenance: true },
    ],
  });
  const PROCFILE = 'web: serve\nworker: work\nrelease: ./migrate\n';

  it('runs predeploy before the release command, dokku postdeploy after each deploy, postdeploy after the first only', async () => {
    const shown: string[] = [];
    const update = commit('one', PROCFILE, { 'app.json': APP_JSON });
    await deployPush(
      services,
      { app: APP, repoDir: work, update, pusher: 'alice', source: 'test' },
      new Progress([
        new Writable({
          write: (c: Buffer, _e, done) => {
            shown.push(c.toString());
            done();
          },
        }),
      ]),
      new AbortController().signal,
    );
    git('update-ref', 'refs/heads/main', update.newSha);
    services.store.locks.release(APP, process.ppid);
    expect(events.filter((e) => e.startsWith('run'))).toEqual([
      'run sh -c exec ./predeploy v1',
      'run sh -c exec ./migrate v1',
      'run sh -c exec ./notify v1',
      'run sh -c exec ./seed v1',
    ]);
    expect(events.indexOf('run sh -c exec ./migrate v1')).toBeLessThan(events.indexOf('start web.1 v1'));
    expect(events.indexOf('route')).toBeLessThan(events.indexOf('run sh -c exec ./notify v1'));
    // Only predeploy's changes are kept, and in the release's own image; the release command's and the scripts' after the deploy are not.
    const image = services.store.releases.find(APP, 1)?.image;
    expect(host.runs.map((r) => [r.command.at(-1), r.keepAs])).toEqual([
      ['exec ./predeploy', image],
      ['exec ./migrate', undefined],
      ['exec ./notify', undefined],
      ['exec ./seed', undefined],
    ]);
    expect(shown.join('')).toContain(
      'app.json: using scripts.dokku.predeploy, scripts.dokku.postdeploy, scripts.postdeploy, cron, formation, healthchecks; ignoring name, env',
    );
    // formation: the starting scale; healthchecks: web's startup path; cron: named from its schedule and command, Dokku's default concurrency.
    expect(host.versions(APP)).toEqual(['web.1 v1', 'web.2 v1', 'worker.1 v1']);
    const rel = services.store.releases.find(APP, 1);
    expect(rel?.healthcheck).toBe('/ready');
    expect(rel?.cron).toEqual([
      { name: expect.stringMatching(/^cron-[0-9a-f]{8}$/), schedule: '0 3 * * *', command: './nightly', concurrency: 'allow', timeoutSeconds: null },
    ]);

    clearEvents();
    await scale(op(), APP, { web: 1 });
    await push('two', PROCFILE, { 'app.json': APP_JSON });
    expect(events.filter((e) => e.startsWith('run'))).toEqual(['run sh -c exec ./predeploy v2', 'run sh -c exec ./migrate v2', 'run sh -c exec ./notify v2']);
    // A scale set since is kept: formation only starts an app's scale.
    expect(host.versions(APP)).toEqual(['web.1 v2', 'worker.1 v2']);
  });

  it('loses to skiff.yml where both speak, and a failing predeploy refuses the release', async () => {
    await push('one', PROCFILE, { 'app.json': APP_JSON, 'skiff.yml': 'healthcheck: /own\ncron:\n  - {name: own, schedule: "@daily", command: ./own}\n' });
    const rel = services.store.releases.find(APP, 1);
    expect(rel?.healthcheck).toBe('/own');
    expect(rel?.cron.map((j) => j.name)).toEqual(['own']);
    host.runStatus = 5;
    clearEvents();
    await expect(push('two', PROCFILE, { 'app.json': APP_JSON })).rejects.toThrow(
      /app.json's predeploy exited with status 5; v2 is not released; v1 keeps serving/,
    );
    expect(events.filter((e) => e.startsWith('run'))).toEqual(['run sh -c exec ./predeploy v2']);
    expect(host.versions(APP)).toEqual(['web.1 v1', 'web.2 v1', 'worker.1 v1']);
  });

  it('refuses a formation the Procfile does not run, and a bad value with its field, before anything changes', async () => {
    await expect(push('one', 'web: serve\n', { 'app.json': JSON.stringify({ formation: { worker: { quantity: 1 } } }) })).rejects.toThrow(
      'app.json: formation names worker, which the Procfile does not run (it has web)',
    );
    await expect(push('two', 'web: serve\n', { 'app.json': JSON.stringify({ formation: { web: { quantity: 1000 } } }) })).rejects.toThrow(
      'app.json: formation.web.quantity must be a whole number from 0 to 100',
    );
    await expect(push('three', 'web: serve\n', { 'app.json': '{"scripts": ' })).rejects.toThrow(/app.json is not valid JSON/);
    await expect(push('four', 'web: serve\n', { 'app.json': JSON.stringify({ cron: [{ command: 'x', schedule: 'often' }] }) })).rejects.toThrow(
      /app.json: cron job cron-[0-9a-f]{8}: schedule "often" is not valid/,
    );
    expect(services.store.formation.list(APP).filter((f) => f.quantity !== null)).toEqual([]);
    expect(services.store.apps.find(APP)?.currentRelease).toBeNull();
  });
});

describe('a pipeline', () => {
  const PROD = 'shop-prod';
  const ask = (): { services: Services; caller: typeof caller } => ({ services, caller });

  beforeEach(() => {
    services.store.apps.create(PROD, 'alice');
    createPipeline(ask(), 'shop-line');
    addToPipeline(ask(), 'shop-line', APP, 'staging');
    addToPipeline(ask(), 'shop-line', PROD, 'production');
    services.store.config.update(PROD, { GREETING: 'production' }, []);
  });

  it('promotes the same image, with the target’s own config, without a build', async () => {
    await push('one');
    const builds = services.store.builds.list(APP).length;
    clearEvents();
    const results = await promote(op(), APP, undefined);
    expect(results).toEqual([{ app: PROD, release: 1 }]);
    const staged = services.store.releases.find(APP, 1);
    const promoted = services.store.releases.find(PROD, 1);
    expect(await images.id(promoted?.image as string)).toBe(await images.id(staged?.image as string));
    expect(promoted).toMatchObject({ config: { GREETING: 'production' }, commit: staged?.commit, buildId: null, status: 'deployed' });
    expect(promoted?.description).toMatch(/^Promote shop v1 \(sha256:.*, commit [0-9a-f]{7}\)$/);
    expect(events).not.toContain('build');
    expect(services.store.builds.list(APP).length + services.store.builds.list(PROD).length).toBe(builds);
    const shown = await showPipeline(ask(), 'shop-line');
    expect(shown.apps.map((a) => [a.stage, a.app, a.release])).toEqual([
      ['staging', APP, 1],
      ['production', PROD, 1],
    ]);
  });

  it('leaves a target whose release does not start on its release, and says which', async () => {
    await push('one');
    await promote(op(), APP, undefined);
    await push('two');
    host.failing.add(`skiff/${PROD}:v2`);
    const results = await promote(op(), APP, PROD);
    expect(results).toEqual([{ app: PROD, error: expect.stringMatching(/did not answer HTTP/) }]);
    expect(services.store.apps.find(PROD)?.currentRelease).toBe(1);
    expect(host.versions(PROD)).toEqual(['web.1 v1']);
  });

  it('refuses what it cannot do before it changes anything', async () => {
    await expect(promote(op(), APP, undefined)).rejects.toThrow('shop has no release to promote; push to it first');
    await push('one');
    await expect(promote(op(), PROD, undefined)).rejects.toThrow(/no release to promote/);
    await expect(promote(op(), APP, 'elsewhere')).rejects.toThrow('elsewhere is not in pipeline shop-line');
    const bob = { user: 'bob', admin: false, via: 'host' as const };
    services.store.access.grant(APP, 'bob', 'alice');
    services.store.access.grant(PROD, 'bob', 'alice');
    // Sharing an app is not owning it: only owners (or admins) promote into it.
    await expect(promote({ ...op(), caller: bob }, APP, undefined)).rejects.toThrow(`only the owner of ${PROD} (alice) or an admin may do that`);
    expect(() => addToPipeline({ services, caller: bob }, 'shop-line', APP, 'review')).toThrow('only the owner of pipeline shop-line (alice) or an admin');
    expect(() => addToPipeline(ask(), 'shop-line', APP, 'qa')).toThrow('--stage must be one of review, staging, production');
    expect(services.store.apps.find(PROD)?.currentRelease).toBeNull();
  });
});

describe('review apps', () => {
  it('expire after SKIFF_REVIEW_APPS_TTL_DAYS without a push, by the clock they are given, with an event', async () => {
    services.store.apps.setReviewApps(APP, 5);
    services.store.apps.createReview(`${APP}-feat`, APP, 'feat', 'alice');
    const now = Date.now();
    expect(await expireReviewApps(services, new Date(now + 6 * 86_400_000))).toEqual([]);
    expect(await expireReviewApps(services, new Date(now + 8 * 86_400_000))).toEqual([`${APP}-feat`]);
    expect(services.store.apps.find(`${APP}-feat`)).toBeUndefined();
    expect(services.store.apps.find(APP)).toBeDefined();
    expect(services.store.events.list({ app: `${APP}-feat`, limit: 1 })[0]).toMatchObject({
      action: 'apps:destroy',
      user: 'skiff',
      detail: { review: true, branch: 'feat' },
    });
  });
});

describe('environments in skiff.yml', () => {
  const YML =
    'healthcheck: /own\nenvironments:\n  production:\n    scale: {web: 2, worker: 1}\n    resources: {web: {memory: 256m, cpus: 0.5}}\n    healthcheck: /prod\n';
  const PROCFILE = 'web: serve\nworker: work\n';

  it('apply the stage’s scale, limits and health check on each release; other stages keep theirs', async () => {
    services.store.apps.create('shop-prod', 'alice');
    createPipeline({ services, caller }, 'line');
    addToPipeline({ services, caller }, 'line', APP, 'staging');
    addToPipeline({ services, caller }, 'line', 'shop-prod', 'production');
    await push('one', PROCFILE, { 'skiff.yml': YML });
    expect(host.versions(APP)).toEqual(['web.1 v1']);
    expect(host.specs.find((s) => s.app === APP && s.process === 'web')?.healthcheck).toBe('/own');
    await promote(op(), APP, undefined);
    expect(host.versions('shop-prod')).toEqual(['web.1 v1', 'web.2 v1', 'worker.1 v1']);
    const web = host.specs.find((s) => s.app === 'shop-prod' && s.process === 'web');
    expect(web).toMatchObject({ healthcheck: '/prod', memory: 256 * 1024 * 1024, cpus: 0.5 });
    // ps:scale holds until the next release, which sets the stage's scale again.
    await scale(op(), 'shop-prod', { web: 1 });
    expect(host.versions('shop-prod')).toEqual(['web.1 v1', 'worker.1 v1']);
    await setConfig(op(), 'shop-prod', { A: '1' }, { restart: true });
    expect(host.versions('shop-prod')).toEqual(['web.1 v2', 'web.2 v2', 'worker.1 v2']);
  });

  it('are refused when they name a type the Procfile does not run, and put the record back', async () => {
    addToPipeline({ services, caller }, createPipeline({ services, caller }, 'solo').name, APP, 'production');
    await expect(push('one', 'web: serve\n', { 'skiff.yml': 'environments:\n  production:\n    scale: {web: 2, ghost: 1}\n' })).rejects.toThrow(
      'skiff.yml: environments.production names ghost, which the Procfile does not run (it has web)',
    );
    expect(services.store.formation.list(APP).filter((f) => f.quantity !== null)).toEqual([]);
    await expect(push('two', 'web: serve\n', { 'skiff.yml': 'environments:\n  qa: {}\n' })).rejects.toThrow(
      "skiff.yml: environments: 'qa' is no stage (review, staging, production)",
    );
    await expect(push('three', 'web: serve\n', { 'skiff.yml': 'environments:\n  production:\n    resources: {web: {memory: lots}}\n' })).rejects.toThrow(
      /environments.production.resources.web: 'lots' is not a memory size/,
    );
  });
});

describe('config groups', () => {
  const ask = (): { services: Services; caller: typeof caller } => ({ services, caller });

  it('reach each app as a release, app by app; an app’s own value wins; origins are told', async () => {
    services.store.apps.create('shop-two', 'alice');
    await push('one');
    const update = commit('two');
    await deployPush(services, { app: 'shop-two', repoDir: work, update, pusher: 'alice', source: 'test' }, new Progress([]), new AbortController().signal);
    services.store.locks.release('shop-two', process.ppid);
    createGroup(ask(), 'shared');
    await changeGroupConfig(op(), 'shared', { ENDPOINT: 'https://one.example', GREETING: 'group' }, [], { restart: true });
    await addAppToGroup(op(), 'shared', APP, { restart: true });
    await addAppToGroup(op(), 'shared', 'shop-two', { restart: true });
    await setConfig(op(), 'shop-two', { GREETING: 'own' }, { restart: true });
    expect(configOf(services.store, APP)).toEqual({ ENDPOINT: 'https://one.example', GREETING: 'group' });
    expect(configOrigins(services.store, 'shop-two')).toEqual({ ENDPOINT: 'group shared', GREETING: 'app' });

    const change = await changeGroupConfig(op(), 'shared', { ENDPOINT: 'https://two.example' }, [], { restart: true });
    expect(change.done.map((d) => [d.app, d.outcome])).toEqual([
      [APP, 'released'],
      ['shop-two', 'released'],
    ]);
    for (const app of [APP, 'shop-two']) {
      const current = services.store.apps.find(app)?.currentRelease as number;
      expect(services.store.releases.find(app, current)?.config.ENDPOINT).toBe('https://two.example');
    }
    expect(services.store.releases.find('shop-two', services.store.apps.find('shop-two')?.currentRelease as number)?.config.GREETING).toBe('own');
    await expect(unsetConfig(op(), APP, ['ENDPOINT'], { restart: true })).rejects.toThrow('ENDPOINT comes from group shared, not from shop');

    // The first app that fails stops the change: it keeps its release, the next has it pending.
    const serving = services.store.apps.find(APP)?.currentRelease as number;
    host.failing.add(`skiff/${APP}:v${serving + 1}`);
    const failed = await changeGroupConfig(op(), 'shared', { ENDPOINT: 'https://three.example' }, [], { restart: true });
    expect(failed.failed?.app).toBe(APP);
    expect(failed.pending).toEqual(['shop-two']);
    expect(services.store.apps.find(APP)?.currentRelease).toBe(serving);
    expect(pendingKeys(services, 'shop-two').changed).toEqual(['ENDPOINT']);
  });
});
