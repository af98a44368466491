// The pipeline's paths, in milliseconds, with in-memory fakes for every seam
// (builder, images, runtime, router) and the real store on a temporary file.
// No root, no Docker: git alone makes the pushed commits.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { Writable } from 'node:stream';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Builder, BuildContext } from '../../src/builder/builder.js';
import type { ImageStore } from '../../src/builder/images.js';
import { loadConfig } from '../../src/config.js';
import { ZERO_SHA } from '../../src/domain/deploy-branch.js';
import { BuildFailedError, ConflictError, DeployFailedError, ExternalError } from '../../src/errors.js';
import { Repos } from '../../src/git/repos.js';
import { silentLogger } from '../../src/log.js';
import type { Services } from '../../src/operations/operation.js';
import { setConfig } from '../../src/operations/config.js';
import { restart, scale } from '../../src/operations/formation.js';
import { pauseApp, resumeApp, resumeDuePauses } from '../../src/operations/pause.js';
import { mountStorage, unmountStorage } from '../../src/operations/storage.js';
import { holdRequests } from '../../src/pipeline/hold.js';
import { pendingKeys } from '../../src/operations/config.js';
import { releaseLogPath } from '../../src/pipeline/release-phase.js';
import { rollback } from '../../src/operations/releases.js';
import { cronRuns, overdueJobs } from '../../src/operations/cron.js';
import { addToPipeline, createPipeline, promote, showPipeline } from '../../src/operations/pipelines.js';
import { expireReviewApps } from '../../src/operations/apps.js';
import { addAppToGroup, changeGroupConfig, createGroup } from '../../src/operations/config-groups.js';
import { configOf, configOrigins } from '../../src/pipeline/app-config.js';
import { unsetConfig } from '../../src/operations/config.js';
import { currentJobs, runCronJob } from '../../src/pipeline/cron.js';
import { CronScheduler } from '../../src/server/scheduler.js';
import type { CronJob } from '../../src/domain/cron.js';
import { Progress } from '../../src/output/progress.js';
import { PushRejected, deployPush } from '../../src/pipeline/push.js';
import { appUrl } from '../../src/pipeline/route.js';
import type { Hold, HoldRequest, Route, Router } from '../../src/router/router.js';
import { rollInstances, type InstanceHost } from '../../src/runtime/instance-rollout.js';
import type { DeployOptions, FormationSpec, Instance, OneOffIO, OneOffSpec, ProcessSpec, Rollout, Runtime } from '../../src/runtime/runtime.js';
import { Runtimes } from '../../src/runtime/runtimes.js';
import { SecretBox } from '../../src/store/secret-box.js';
import { openStore } from '../../src/store/sqlite-store.js';

/** What happened, in order, across every fake: the test reads the pipeline's order from it. */
let events: string[];

class FakeImages implements ImageStore {
  readonly tags = new Set<string>();
  readonly tagged: [string, string][] = [];
  /** A tag's image id: a tag made from another has its id. */
  private readonly ids = new Map<string, string>();
  async tag(source: string, target: string): Promise<void> {
    if (!this.tags.has(source)) throw new ExternalError(`no image ${source}`);
    this.tags.add(target);
    this.ids.set(target, (await this.id(source)) as string);
    this.tagged.push([source, target]);
  }
  async exists(tag: string): Promise<boolean> {
    return this.tags.has(tag);
  }
  async id(tag: string): Promise<string | undefined> {
    return this.tags.has(tag) ? (this.ids.get(tag) ?? `sha256:${tag}`) : undefined;
  }
  async untag(tag: string): Promise<void> {
    this.tags.delete(tag);
  }
  async checkAuth(): Promise<void> {}
  async removeApp(): Promise<string[]> {
    return [];
  }
  async remove(): Promise<string[]> {
    return [];
  }
}

class FakeBuilder implements Builder {
  readonly name = 'fake';
  fail = false;
  builds = 0;
  constructor(private readonly images: FakeImages) {}
  async detect(): Promise<string> {
    return 'the fake builder';
  }
  dockerfile(): string {
    return 'FROM scratch\n';
  }
  async build(ctx: BuildContext): Promise<{ tag: string; id: string }> {
    events.push('build');
    this.builds++;
    if (this.fail) throw new BuildFailedError('docker build failed: step 2 exited with 1');
    this.images.tags.add(ctx.tag);
    return { tag: ctx.tag, id: `sha256:${'0'.repeat(64)}` };
  }
}

/** Instances in a map; an image in failing never becomes ready. */
class FakeHost implements InstanceHost, Runtime {
  name = 'docker';
  readonly running = new Map<string, Instance>();
  readonly failing = new Set<string>();
  /** Exit status of one-off runs (the release phase), and what each ran with. */
  runStatus = 0;
  readonly runs: OneOffSpec[] = [];
  private port = 40000;
  readonly specs: ProcessSpec[] = [];
  async start(spec: ProcessSpec): Promise<Instance> {
    events.push(`start ${spec.process}.${spec.index} v${spec.release}`);
    this.specs.push(spec);
    if (this.failing.has(spec.image))
      throw new DeployFailedError('the new release did not answer HTTP on its PORT within 1s; the previous release keeps serving');
    const id = `${spec.app}-${spec.process}-${spec.index}-v${spec.release}-${this.port}`;
    const instance: Instance = {
      id,
      name: id,
      app: spec.app,
      release: spec.release,
      process: spec.process,
      index: spec.index,
      state: 'running',
      hostPort: spec.port === null ? undefined : (spec.hostPort ?? this.port++),
    };
    this.running.set(id, instance);
    return instance;
  }
  async stop(instances: readonly Instance[]): Promise<void> {
    for (const i of instances) {
      events.push(`stop ${i.process}.${i.index} v${i.release}`);
      this.running.delete(i.id);
    }
  }
  async status(app: string): Promise<Instance[]> {
    return [...this.running.values()].filter((i) => i.app === app);
  }
  deploy(app: string, formation: readonly FormationSpec[], options: DeployOptions): Promise<Rollout> {
    return rollInstances(this, app, formation, options, silentLogger);
  }
  async destroy(app: string): Promise<void> {
    await this.stop(await this.status(app));
  }
  async logs(): Promise<void> {}
  /** While set, one-off runs wait for it (or for their signal, then end with 255 as a removed container does). */
  gate: Promise<void> | undefined;
  async run(spec: OneOffSpec, io: OneOffIO): Promise<number> {
    events.push(`run ${spec.command.join(' ')} v${spec.release}`);
    this.runs.push(spec);
    io.stdout.write(`ran with GREETING=${spec.env.GREETING ?? ''}\n`);
    if (io.signal.aborted) return 255;
    if (this.gate) {
      const aborted = new Promise<'aborted'>((resolve) => io.signal.addEventListener('abort', () => resolve('aborted'), { once: true }));
      if ((await Promise.race([this.gate, aborted])) === 'aborted') return 255;
    }
    return this.runStatus;
  }
  /** How long stopping runs takes (the engine stops a container). */
  stopCronMs = 0;
  async stopCronRuns(_app: string, run?: number): Promise<number> {
    events.push(`stop cron run ${run ?? 'all'}`);
    await new Promise((resolve) => setTimeout(resolve, this.stopCronMs));
    return 0;
  }
  async exec(): Promise<{ exitCode: number; output: string }> {
    return { exitCode: 0, output: '' };
  }
  async unavailable(): Promise<undefined> {
    return undefined;
  }
  async nodes(): Promise<[]> {
    return [];
  }
  versions(app: string): string[] {
    return [...this.running.values()]
      .filter((i) => i.app === app)
      .map((i) => `${i.process}.${i.index} v${i.release}`)
      .sort();
  }
}

class FakeRouter implements Router {
  routes: readonly Route[] = [];
  failNext = false;
  async apply(routes: readonly Route[]): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new ExternalError('the router refused the routes');
    }
    const route = routes.find((r) => r.app === APP);
    events.push(route?.heldBy ? 'route held' : route?.releasing ? 'route released' : 'route');
    for (const h of routes.flatMap((r) => r.releasing ?? [])) this.released.add(h.id);
    this.routes = routes;
  }
  /** Holds the router has answered for: their requests went (at once, here). */
  released = new Set<string>();
  /** The router's holds: the slots that exist, and whether the holds' process runs. */
  slots = Array.from({ length: 10 }, (_, i) => `h${i + 1}`);
  holdsRunning = true;
  async startHold(_app: string, request: HoldRequest): Promise<Hold> {
    const free = this.slots.filter((s) => !request.taken.has(s));
    if (free.length <= request.keepFree) throw new ConflictError('no hold free');
    events.push('hold');
    this.released.delete(free[0]);
    return { id: free[0], socket: `/run/${free[0]}.hold`, release: `/run/${free[0]}.release`, pid: 1 };
  }
  holdAlive(): boolean {
    return this.holdsRunning;
  }
  async holdsDrained(holds: readonly Hold[]): Promise<Hold[]> {
    return holds.filter((h) => this.released.has(h.id) || !this.holdsRunning);
  }
  managedCertificate(): null {
    return null;
  }
  async requestCertificate(): Promise<boolean> {
    return true;
  }
  issuanceFailures(): [] {
    return [];
  }
  async isConfigured(): Promise<boolean> {
    return true;
  }
  upstreams(app: string): string[] {
    return this.routes.find((r) => r.app === app)?.upstreams ?? [];
  }
}

const APP = 'shop';
let home: string;
let work: string;
let services: Services;
let images: FakeImages;
let builder: FakeBuilder;
let host: FakeHost;
let router: FakeRouter;
const caller = { user: 'alice', admin: true, via: 'host' as const };
const op = (): Parameters<typeof setConfig>[0] => ({ services, caller, progress: new Progress([]), signal: new AbortController().signal, onWait: () => {} });

function git(...args: string[]): string {
  return execFileSync('git', args, {
    cwd: work,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' },
  }).trim();
}

/** A commit of the work repo, pushed as the hook sees it: the branch has not moved yet. */
function commit(text: string, procfile = 'web: serve\n', files: Record<string, string> = {}): { ref: string; oldSha: string; newSha: string } {
  fs.writeFileSync(path.join(work, 'Dockerfile'), `FROM scratch\n# ${text}\n`);
  fs.writeFileSync(path.join(work, 'Procfile'), procfile);
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(work, name), content);
  git('add', '-A');
  const parent = spawnSync('git', ['rev-parse', '--verify', '--quiet', 'refs/heads/main'], { cwd: work, encoding: 'utf8' }).stdout.trim();
  const newSha = git('commit-tree', git('write-tree'), ...(parent ? ['-p', parent] : []), '-m', text);
  return { ref: 'refs/heads/main', oldSha: parent || ZERO_SHA, newSha };
}

async function push(text: string, procfile?: string, files?: Record<string, string>): Promise<string> {
  const update = commit(text, procfile, files);
  const url = await deployPush(services, { app: APP, repoDir: work, update, pusher: 'alice', source: 'test' }, new Progress([]), new AbortController().signal);
  // git moves the branch once the hook succeeds.
  git('update-ref', 'refs/heads/main', update.newSha);
  // The lock lasts as long as git's receive-pack, the hook's parent; here the push is over.
  services.store.locks.release(APP, process.ppid);
  return url;
}

beforeEach(() => {
  events = [];
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-unit-'));
  work = path.join(home, 'work');
  fs.mkdirSync(work);
  git('init', '-q', '-b', 'main');
  const config = { ...loadConfig({ SKIFF_HOME: home, SKIFF_DRAIN_SECONDS: '0' }) };
  images = new FakeImages();
  builder = new FakeBuilder(images);
  host = new FakeHost();
  router = new FakeRouter();
  services = {
    config,
    log: silentLogger,
    version: 'test',
    store: openStore(path.join(home, 'skiff.db'), SecretBox.load(config.secretKeyPath)),
    repos: new Repos(config.reposDir, home),
    images,
    stackImages: { run: async () => 0, sweep: async () => [] },
    registry: undefined,
    runtime: new Runtimes({ docker: host }, () => 'docker'),
    router,
    volumes: {
      ensure: async (app, name) => `skiff-${app.name}_${name}`,
      names: async () => [],
      list: async () => [],
      remove: async () => {},
      removeApp: async () => [],
    },
    builders: [builder],
  };
  services.store.apps.create(APP, 'alice');
});

afterEach(() => {
  fs.rmSync(home, { recursive: true, force: true });
});

describe('a push', () => {
  it('checks out, builds, releases, starts, routes, then stops the old release, in that order', async () => {
    const url = await push('one');
    expect(url).toBe(appUrl(services, APP));
    expect(events).toEqual(['build', 'start web.1 v1', 'route']);
    events = [];
    await push('two');
    expect(events).toEqual(['build', 'start web.1 v2', 'route', 'stop web.1 v1']);
    expect(host.versions(APP)).toEqual(['web.1 v2']);
    expect(services.store.apps.find(APP)?.currentRelease).toBe(2);
    expect(router.upstreams(APP)).toEqual([`127.0.0.1:${[...host.running.values()].find((i) => i.process === 'web')?.hostPort}`]);
    // The build's tag went; the release keeps its own.
    expect([...images.tags].sort()).toEqual([`skiff/${APP}:v1`, `skiff/${APP}:v2`]);
    expect(services.store.builds.list(APP).map((b) => b.status)).toEqual(['succeeded', 'succeeded']);
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
    expect(services.store.events.list({ app: APP, limit: 1 })[0].outcome).toMatch(/^failed: docker build failed/);
    // Nobody holds the app's lock: the next push or command goes ahead at once.
    expect(services.store.locks.tryAcquire({ app: APP, pid: process.pid, holder: 'test', purpose: 'check' }, () => true)).toBeUndefined();
  });

  it('abandons a release whose instances never get ready, and stops only what it started', async () => {
    await push('one');
    host.failing.add(`skiff/${APP}:v2`);
    events = [];
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
    events = [];
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
    events = [];
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
    events = [];
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
    events = [];
    await expect(setConfig(op(), APP, { GREETING: 'hi' }, { restart: true })).rejects.toThrow(
      'the release command exited with status 3; v2 is not released; v1 keeps serving',
    );
    expect(events).toEqual(['run sh -c exec ./migrate v2']);
    expect(host.versions(APP)).toEqual(['web.1 v1']);
    expect(services.store.releases.find(APP, 2)?.status).toBe('failed');
    expect(services.store.config.get(APP)).toEqual({});
    events = [];
    await expect(push('two', WITH_RELEASE)).rejects.toBeInstanceOf(PushRejected);
    expect(events).toEqual(['build', 'run sh -c exec ./migrate v3']);
    expect(services.store.apps.find(APP)?.currentRelease).toBe(1);
  });

  it('is skipped when asked, and runs for a rollback', async () => {
    await push('one', WITH_RELEASE);
    events = [];
    await setConfig(op(), APP, { GREETING: 'hi' }, { restart: true, releasePhase: false });
    expect(events.filter((e) => e.startsWith('run'))).toEqual([]);
    await rollback(op(), APP, undefined);
    expect(events.filter((e) => e.startsWith('run'))).toEqual(['run sh -c exec ./migrate v3']);
  });

  it('takes pending config on ps:restart: a release of the serving image', async () => {
    await push('one', WITH_RELEASE);
    await setConfig(op(), APP, { GREETING: 'later' }, { restart: false });
    expect(pendingKeys(services, APP)).toEqual({ changed: ['GREETING'], removed: [] });
    events = [];
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
    events = [];
    await mountStorage(op(), APP, 'data:/data');
    expect(events).toEqual(['start web.1 v1', 'route', 'stop web.1 v1']);
    expect(host.specs.at(-1)?.mounts).toEqual([{ volume: `skiff-${APP}_data`, path: '/data' }]);
    host.failing.add(`skiff/${APP}:v1`);
    await expect(mountStorage(op(), APP, 'more:/more')).rejects.toThrow(/did not answer/);
    expect(services.store.mounts.list(APP).map((m) => m.name)).toEqual(['data']);
    await expect(unmountStorage(op(), APP, 'data')).rejects.toThrow(/did not answer/);
    expect(services.store.mounts.list(APP).map((m) => m.name)).toEqual(['data']);
  });

  it('is refused on the swarm runtime, where a volume would stay on one host', async () => {
    host.name = 'swarm';
    await expect(mountStorage(op(), APP, 'data:/data')).rejects.toThrow(/a volume lives on one host/);
    expect(services.store.mounts.list(APP)).toEqual([]);
  });
});

describe('a single-writer volume', () => {
  const WITH_RELEASE = 'web: serve\nrelease: ./migrate\n';

  it('is handed over: requests held, old stopped, release phase, new started on the held port, then switched', async () => {
    await push('one', WITH_RELEASE);
    await mountStorage(op(), APP, 'db:/db', { singleWriter: true });
    events = [];
    await push('two', WITH_RELEASE);
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
    ]);
    expect(router.upstreams(APP)).toEqual([expect.stringMatching(/^127\.0\.0\.1:\d+$/)]);
    expect(host.specs.at(-1)?.mounts).toEqual([{ volume: `skiff-${APP}_db`, path: '/db' }]);
    // The hold ended, and so did the router's answering on its release socket.
    expect(services.store.routes.all()[0].held).toBeNull();
    expect(router.routes[0].releasing).toBeUndefined();
    await expect(scale(op(), APP, { web: 2 })).rejects.toThrow(/single-writer volume: it runs one instance at most/);
  });

  it('starts the serving release again on the held port when the new one fails, and says so', async () => {
    await push('one', WITH_RELEASE);
    await mountStorage(op(), APP, 'db:/db', { singleWriter: true });
    host.failing.add(`skiff/${APP}:v2`);
    events = [];
    await expect(push('two', WITH_RELEASE)).rejects.toBeInstanceOf(PushRejected);
    expect(events).toEqual([
      'build',
      'hold',
      'route held',
      'stop web.1 v1',
      'run sh -c exec ./migrate v2',
      'start web.1 v2',
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
    events = [];
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

describe('scheduled jobs', () => {
  const CRON = (concurrency = 'forbid', extra = ''): Record<string, string> => ({
    'skiff.yml': `cron:\n  - name: nightly\n    schedule: "0 3 * * *"\n    command: ./backup\n    concurrency: ${concurrency}\n${extra}`,
  });
  const manual = (): Parameters<typeof runCronJob>[3] => ({ trigger: 'manual', dueAt: null, user: 'alice', signal: new AbortController().signal });
  const job = (): CronJob => currentJobs(services, APP)[0];

  it('are versioned with the release, and a bad schedule rejects the push naming the job and the reason', async () => {
    await push('one', undefined, CRON());
    expect(services.store.releases.find(APP, 1)?.cron).toEqual([
      { name: 'nightly', schedule: '0 3 * * *', command: './backup', concurrency: 'forbid', timeoutSeconds: null },
    ]);
    await expect(push('two', undefined, { 'skiff.yml': 'cron:\n  - {name: nightly, schedule: "61 * * * *", command: x}\n' })).rejects.toThrow(
      'skiff.yml: cron job nightly: schedule "61 * * * *" is not valid: Invalid value for minute: 61',
    );
    // Seconds are for servers that allow them (SKIFF_CRON_SECONDS).
    await expect(push('three', undefined, { 'skiff.yml': 'cron:\n  - {name: fast, schedule: "* * * * * *", command: x}\n' })).rejects.toThrow(
      /six fields \(seconds\) are not allowed/,
    );
    expect(services.store.apps.find(APP)?.currentRelease).toBe(1);
    // A config change keeps them: the same jobs, a new release.
    await setConfig(op(), APP, { A: '1' }, { restart: true });
    expect(currentJobs(services, APP).map((j) => j.name)).toEqual(['nightly']);
  });

  it('record each run: the current release, its config and volumes, the end of its output; a failure reaches the events', async () => {
    await push('one', undefined, CRON());
    await setConfig(op(), APP, { GREETING: 'hi' }, { restart: true });
    const ok = await runCronJob(services, APP, job(), manual());
    expect(ok).toMatchObject({ status: 'succeeded', exitCode: 0, release: 2, trigger: 'manual', output: 'ran with GREETING=hi\n' });
    expect(host.runs.at(-1)).toMatchObject({ image: `skiff/${APP}:v2`, command: ['sh', '-c', 'exec ./backup'], cronRun: ok.id });
    host.runStatus = 4;
    const failed = await runCronJob(services, APP, job(), manual());
    expect(failed).toMatchObject({ status: 'failed', exitCode: 4 });
    expect(services.store.events.list({ app: APP, limit: 1 })[0]).toMatchObject({
      action: 'cron:run',
      source: 'cron',
      outcome: 'failed: nightly exited with status 4',
    });
    expect(cronRuns({ services, caller }, APP, 'nightly', 5).map((r) => r.status)).toEqual(['failed', 'succeeded']);
  });

  it('forbid refuses a second run while one runs; replace stops the running one; a timeout stops a run', async () => {
    await push('one', undefined, CRON());
    let open = (): void => {};
    host.gate = new Promise((resolve) => (open = resolve));
    const first = runCronJob(services, APP, job(), manual());
    await new Promise((resolve) => setTimeout(resolve, 10));
    await expect(runCronJob(services, APP, job(), manual())).rejects.toThrow(/nightly is still running \(run \d+, since .*\) and its concurrency is forbid/);
    open();
    expect((await first).status).toBe('succeeded');

    await push('two', undefined, CRON('replace'));
    host.gate = new Promise((resolve) => (open = resolve));
    const replaced = runCronJob(services, APP, job(), manual());
    await new Promise((resolve) => setTimeout(resolve, 10));
    events = [];
    const newer = runCronJob(services, APP, job(), manual());
    expect((await replaced).status).toBe('replaced');
    expect(events).toContain(`stop cron run ${(await replaced).id}`);
    open();
    expect((await newer).status).toBe('succeeded');

    // A run replaced while it was still stopping the one it replaced never starts its container.
    host.gate = new Promise((resolve) => (open = resolve));
    host.stopCronMs = 300;
    const oldest = runCronJob(services, APP, job(), manual());
    await new Promise((resolve) => setTimeout(resolve, 10));
    const middle = runCronJob(services, APP, job(), manual());
    await new Promise((resolve) => setTimeout(resolve, 50));
    const last = runCronJob(services, APP, job(), manual());
    const stuck = new Promise((resolve) => setTimeout(() => resolve('still running'), 2000));
    expect(await Promise.race([middle.then((r) => r.status), stuck])).toBe('replaced');
    expect((await oldest).status).toBe('replaced');
    open();
    expect((await last).status).toBe('succeeded');
    host.stopCronMs = 0;

    await push('three', undefined, CRON('allow', '    timeout: 1s\n'));
    host.gate = new Promise(() => {});
    const late = await runCronJob(services, APP, job(), manual());
    expect(late).toMatchObject({ status: 'timed-out', exitCode: null });
    expect(late.output).toMatch(/stopped after 1 s, the job's timeout/);
  });

  it('allow stops at SKIFF_CRON_MAX_RUNNING runs of the app at once', async () => {
    services.config.cron.maxRunning = 2;
    await push('one', undefined, CRON('allow'));
    let open = (): void => {};
    host.gate = new Promise((resolve) => (open = resolve));
    const two = [runCronJob(services, APP, job(), manual()), runCronJob(services, APP, job(), manual())];
    await new Promise((resolve) => setTimeout(resolve, 10));
    await expect(runCronJob(services, APP, job(), manual())).rejects.toThrow(`${APP} already has 2 scheduled runs going (SKIFF_CRON_MAX_RUNNING)`);
    open();
    expect((await Promise.all(two)).map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
  });

  it('run at their times, and a time missed while the server was down runs once at start', async () => {
    services.config.cron.seconds = true;
    await push('one', undefined, {
      'skiff.yml': 'cron:\n  - {name: tick, schedule: "* * * * * *", command: ./tick}\n  - {name: hourly, schedule: "0 * * * *", command: ./hourly}\n',
    });
    // The server was last up over an hour ago: hourly missed a time, and runs once now.
    services.store.cron.setState(APP, 'hourly', new Date(Date.now() - 2 * 3600_000).toISOString());
    const scheduler = new CronScheduler(services, { pollMs: 50 });
    await scheduler.start();
    try {
      await new Promise((resolve) => setTimeout(resolve, 2300));
      const runs = services.store.cron.runs(APP, { limit: 100 });
      expect(runs.filter((r) => r.job === 'hourly').map((r) => r.trigger)).toEqual(['catch-up']);
      const ticks = runs.filter((r) => r.job === 'tick');
      expect(ticks.length).toBeGreaterThanOrEqual(2);
      expect(ticks.every((r) => r.trigger === 'schedule' && r.dueAt?.endsWith('.000Z'))).toBe(true);
      // A push that drops a job stops its timer, seen by the poll.
      await push('two', undefined, { 'skiff.yml': 'cron:\n  - {name: hourly, schedule: "0 * * * *", command: ./hourly}\n' });
      await new Promise((resolve) => setTimeout(resolve, 200));
      const before = services.store.cron.runs(APP, { job: 'tick', limit: 100 }).length;
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(services.store.cron.runs(APP, { job: 'tick', limit: 100 }).length).toBe(before);
    } finally {
      scheduler.stop();
    }
    // doctor: hourly has not succeeded for more than two hours since it was first seen.
    expect(overdueJobs(services, new Date(Date.now() + 3 * 3600_000))).toEqual([
      expect.stringMatching(/^shop's hourly \(0 \* \* \* \*\) has not succeeded since .*: see cron:runs shop hourly$/),
    ]);
    expect(overdueJobs(services)).toEqual([]);
    // A run going now, longer than two periods, after one that succeeded: slow (its timeout bounds it), not failing.
    const later = Date.now() + 3 * 3600_000;
    vi.useFakeTimers({ now: later - 2.5 * 3600_000, toFake: ['Date'] });
    const going = services.store.cron.start({ app: APP, job: 'hourly', release: 2, trigger: 'schedule', dueAt: null, pid: process.pid });
    vi.useRealTimers();
    expect(services.store.cron.runs(APP, { job: 'hourly', limit: 2 }).map((r) => r.status)).toEqual(['running', 'succeeded']);
    expect(overdueJobs(services, new Date(later))).toEqual([]);
    services.store.cron.finish(going.id, 'failed', 3, '');
    expect(overdueJobs(services, new Date(later))).toEqual([
      expect.stringMatching(/^shop's hourly .*; its last run \(\d+\) exited with 3: see cron:runs shop hourly$/),
    ]);
  });
});

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

    events = [];
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
    events = [];
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
    events = [];
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
