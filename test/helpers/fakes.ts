// In-memory fakes for every seam of the pipeline (builder, images, runtime,
// router) and the services they make with the real store on a temporary
// file: the pipeline's unit suite runs on them, with no root and no Docker.
import { BackupFiles } from '../../src/store/backup-files.js';
import path from 'node:path';
import type { Builder, BuildContext } from '../../src/builder/builder.js';
import type { ImageStore } from '../../src/builder/images.js';
import type { Clock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { BuildFailedError, ConflictError, DeployFailedError, ExternalError } from '../../src/errors.js';
import { Repos } from '../../src/git/repos.js';
import { silentLogger } from '../../src/log.js';
import type { Services } from '../../src/operations/operation.js';
import type { Hold, HoldRequest, Route, Router } from '../../src/router/router.js';
import { rollInstances, type InstanceHost } from '../../src/runtime/instance-rollout.js';
import type { DeployOptions, FormationSpec, Instance, OneOffIO, OneOffSpec, ProcessSpec, Rollout, Runtime } from '../../src/runtime/runtime.js';
import { Runtimes } from '../../src/runtime/runtimes.js';
import { SecretBox } from '../../src/store/secret-box.js';
import { openStore } from '../../src/store/sqlite-store.js';

/** What happened, in order, across every fake: a test reads the pipeline's order from it. */
export const events: string[] = [];

/** Forgets what happened so far. */
export function clearEvents(): void {
  events.length = 0;
}

export class FakeImages implements ImageStore {
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

export class FakeBuilder implements Builder {
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
export class FakeHost implements InstanceHost, Runtime {
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
  /**
   * The engine tears vacated containers down after their processes exit;
   * here that ends when the pipeline first waits for it, so the events
   * show where it waits.
   */
  async vacate(instances: readonly Instance[]): Promise<{ removed: () => Promise<void> }> {
    await this.stop(instances);
    let removal: Promise<void> | undefined;
    const removed = (): Promise<void> =>
      (removal ??= Promise.resolve().then(() => {
        for (const i of instances) events.push(`removed ${i.process}.${i.index} v${i.release}`);
      }));
    return { removed };
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
  async thisNode(): Promise<null> {
    return null;
  }
  async joinCommand(): Promise<string> {
    throw new Error('one host');
  }
  async setAvailability(): Promise<never> {
    throw new Error('one host');
  }
  async removeNode(): Promise<never> {
    throw new Error('one host');
  }
  versions(app: string): string[] {
    return [...this.running.values()]
      .filter((i) => i.app === app)
      .map((i) => `${i.process}.${i.index} v${i.release}`)
      .sort();
  }
}

export class FakeRouter implements Router {
  /** The app whose routing the events tell. */
  constructor(private readonly app: string) {}
  routes: readonly Route[] = [];
  failNext = false;
  async apply(routes: readonly Route[]): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new ExternalError('the router refused the routes');
    }
    const route = routes.find((r) => r.app === this.app);
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
  /** Requests on their way to each upstream; each time they are counted, one of each finishes. */
  inFlight = new Map<string, number>();
  async requestsInFlight(upstreams: readonly string[]): Promise<number> {
    const n = upstreams.reduce((sum, u) => sum + (this.inFlight.get(u) ?? 0), 0);
    if (n > 0) events.push(`in flight ${n}`);
    for (const u of upstreams) if (this.inFlight.get(u)) this.inFlight.set(u, this.inFlight.get(u)! - 1);
    return n;
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

/** Waits that are not waited: each ends at the next turn of the event loop, so a polling loop still yields. */
export const instantClock: Clock = {
  sleep: () => new Promise((resolve) => setImmediate(resolve)),
};

/** The fakes a test drives, and the services made of them (the real store, in home). */
export interface Fakes {
  services: Services;
  images: FakeImages;
  builder: FakeBuilder;
  host: FakeHost;
  router: FakeRouter;
}

/** Services for a test in home, with app (owned by alice) created; settings as environment variables. */
export function fakeServices(home: string, app: string, env: Record<string, string> = {}): Fakes {
  clearEvents();
  const config = { ...loadConfig({ SKIFF_HOME: home, SKIFF_DRAIN_SECONDS: '0', ...env }) };
  const images = new FakeImages();
  const builder = new FakeBuilder(images);
  const host = new FakeHost();
  const router = new FakeRouter(app);
  const services: Services = {
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
      ensure: async (owner, name) => `skiff-${owner.name}_${name}`,
      names: async () => [],
      list: async () => [],
      remove: async () => {},
      removeApp: async () => [],
    },
    builders: [builder],
    clock: instantClock,
    releaseBackups: { beforeReleasePhase: async () => {} },
    backupFiles: new BackupFiles(path.join(home, 'backups'), SecretBox.ephemeral()),
    // Services' containers need the engine: their tests are end-to-end.
    serviceContainers: new Proxy({} as Services['serviceContainers'], {
      get: (_, method) => () => Promise.reject(new Error(`the pipeline suite has no service containers (${String(method)})`)),
    }),
  };
  services.store.apps.create(app, 'alice');
  return { services, images, builder, host, router };
}
