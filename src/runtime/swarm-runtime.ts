import { setTimeout as sleep } from 'node:timers/promises';
import pRetry from 'p-retry';
import type { Engine } from '../docker/engine.js';
import type { SwarmNode, SwarmService, SwarmTask } from '../docker/swarm.js';
import { LABEL_SERVICE } from '../domain/backing-service.js';
import { LABEL_APP, LABEL_PROCESS, LABEL_RELEASE, appLabels } from '../domain/names.js';
import { DeployFailedError, InvalidError } from '../errors.js';
import type { Logger } from '../log.js';
import { DockerRuntime } from './docker-runtime.js';
import { followLogs, type LogSource } from './log-follower.js';
import type { LogLine } from './log-lines.js';
import {
  type DeployOptions,
  type FormationSpec,
  type Instance,
  type LogOptions,
  type NodeChange,
  type NodeInfo,
  type NodeOptions,
  type Rollout,
} from './runtime.js';
import { serviceName, serviceSpec } from './swarm-spec.js';
import { SwarmGateway } from './swarm-gateway.js';

export interface SwarmOptions {
  /** The attachable overlay network the services and the gateway share. */
  network: string;
  /** The gateway answers on 127.0.0.1:gatewayPort. */
  gatewayPort: number;
  /** Any glibc image: the gateway runs this host's caddy binary in it. */
  gatewayImage: string;
  /** Where the gateway's config file is written (SKIFF_HOME/swarm). */
  dir: string;
  readyTimeoutMs: number;
  stopTimeoutSeconds: number;
  /** Seconds swarm watches new tasks before an update counts as done (a crash within it rolls back). */
  monitorSeconds: number;
  /** Credentials for pulling from the registry on every node. */
  registryAuth?: { username: string; password: string; serveraddress: string };
}

/** Swarm lets go of an overlay's endpoints a moment after their service or app goes: asked again every 0.25 s, 40 times in all. */
const EVERY_250_MS_FOR_10_S = { retries: 39, factor: 1, minTimeout: 250 };

/** Why a swarm app with storage cannot be placed on another node. */
export const STORAGE_STAYS = (app: string, node: string): string =>
  `${app} has storage, whose volumes live on ${node}, the node this server runs on (its one-offs mount them here too): storage:unmount first to place it elsewhere`;

/** Why single-writer storage stays off swarm: its handover stops the old instance before the new starts, which swarm's start-first updates never do. */
export const SINGLE_WRITER_ON_SWARM = (app: string): string =>
  `${app} would have a single-writer volume on swarm, whose updates start new tasks before the old stop: mount it without --single-writer, or run the app on the docker or systemd runtime`;

/**
 * Runs each process type as a Docker Swarm service: replicas are the
 * formation's count, updates start new tasks first and roll back by
 * themselves on a failed health check. The router reaches web tasks through a
 * gateway container on the overlay network (dnsrr: no virtual IP needed).
 */
export class SwarmRuntime extends DockerRuntime {
  override readonly name = 'swarm';

  constructor(
    engine: Engine,
    private readonly swarm: SwarmOptions,
    log: Logger,
  ) {
    // One-offs, exec and the checks' canary are plain containers on this host, as with the docker runtime.
    super(engine, { stopTimeoutSeconds: swarm.stopTimeoutSeconds }, log);
    this.gateway = new SwarmGateway(engine, swarm);
  }

  private readonly gateway: SwarmGateway;

  /** Whether this engine is a swarm manager: only managers create services. */
  static async available(engine: Engine): Promise<boolean> {
    return engine.swarm.isManager().catch(() => false);
  }

  /** The router's upstream for a web service: the gateway, and the tasks it dials. */
  upstream(app: string, port: number): string {
    return `127.0.0.1:${this.swarm.gatewayPort}/tasks.${serviceName(app, 'web')}:${port}`;
  }

  /**
   * The engine replaces tasks itself, new first, and rolls a service back by
   * itself when its new tasks fail. Checks run before that, on a canary web
   * instance of the release on this host (the gateway would send traffic to
   * new tasks as soon as they run). Retiring is the engine's; abort puts every
   * service this rollout changed back to its previous spec.
   */
  override async deploy(app: string, requested: readonly FormationSpec[], options: DeployOptions): Promise<Rollout> {
    const problem = await this.unavailable();
    if (problem) throw new DeployFailedError(`${app} runs on the swarm runtime, but ${problem}`);
    const formation = await this.pinStorage(app, requested);
    const web = formation.find((f) => f.process === 'web' && f.quantity > 0);
    if (options.check && web) await this.checkCanary(web, options);
    await this.ensureOverlay();
    await this.gateway.ensure();
    await this.ensureAppNetwork(app, formation[0]?.appId);
    const linked = await this.linkServices(app, formation);
    const existing = await this.services(app);
    const restarting = (process: string): boolean => options.replace === 'all' || options.replace.includes(process);
    // What this rollout changed, to undo if a later process type or the switch fails: nothing stays half-done.
    const done: { id: string; created: boolean }[] = [];
    try {
      await this.rolloutEach(app, formation, existing, restarting, done, options);
    } catch (err) {
      await this.undo(done, options);
      await this.unlinkServices(app, linked.before);
      throw err;
    }
    await this.unlinkServices(app, linked.now);
    // Process types the release no longer has.
    for (const s of existing.filter((s) => !formation.some((f) => serviceName(app, f.process) === s.Spec.Name))) {
      options.progress.info(`Removing service ${s.Spec.Name}`);
      await this.engine.swarm.remove(s.ID).catch((err: unknown) => this.log.warn({ err, service: s.Spec.Name }, 'could not remove service'));
    }
    const served = formation.find((f) => f.process === 'web' && f.quantity > 0 && f.port !== null);
    const instances = await this.status(app);
    return {
      instances,
      started: instances,
      retiring: [],
      upstreams: served ? [this.upstream(app, served.port as number)] : [],
      retire: async () => {},
      abort: () => this.undo(done, options),
    };
  }

  /**
   * A linked backing service runs on this host, on a bridge network of its
   * own that swarm's tasks cannot join: its container joins the app's overlay
   * instead (by its name, the host in the link's URL), where only the app's
   * tasks and the gateway are, so tasks on any node reach it. Returns the
   * service containers wanted on the overlay before this rollout and now.
   */
  private async linkServices(app: string, formation: readonly FormationSpec[]): Promise<{ before: Set<string>; now: Set<string> }> {
    const overlay = this.appNetwork(app);
    const before = new Set((await this.serviceContainersOn(overlay)).map((c) => c.name));
    const now = new Set(formation.flatMap((f) => f.networks ?? []));
    for (const name of now) if (!before.has(name)) await this.engine.networks.connect(overlay, name, [name]);
    return { before, now };
  }

  /** Takes the service containers not in keep off the app's overlay: an unlinked service is out of the app's reach. */
  private async unlinkServices(app: string, keep: ReadonlySet<string>): Promise<void> {
    const overlay = this.appNetwork(app);
    for (const c of await this.serviceContainersOn(overlay)) {
      if (keep.has(c.name)) continue;
      await this.engine.networks.disconnect(overlay, c.id).catch((err: unknown) => this.log.warn({ err, app, service: c.name }, 'could not unlink a service'));
    }
  }

  private async serviceContainersOn(network: string): Promise<{ id: string; name: string }[]> {
    return (await this.engine.containers.list([LABEL_SERVICE]))
      .filter((c) => c.NetworkSettings?.Networks?.[network] !== undefined)
      .map((c) => ({ id: c.Id, name: (c.Names[0] ?? '').replace(/^\//, '') }));
  }

  /**
   * An app with storage runs on this server's node, where its volumes are
   * (and where its one-offs, release phase and backups mount them): a local
   * volume of the same name on another node would be another, empty one.
   */
  private async pinStorage(app: string, formation: readonly FormationSpec[]): Promise<readonly FormationSpec[]> {
    if (!formation.some((f) => f.mounts?.length)) return formation;
    const self = await this.thisNode();
    const elsewhere = formation.find((f) => f.node && f.node !== self);
    if (elsewhere?.node) throw new DeployFailedError(STORAGE_STAYS(app, self));
    return formation.map((f) => ({ ...f, node: self }));
  }

  override async thisNode(): Promise<string> {
    const self = await this.engine.swarm.selfId();
    const node = (await this.engine.swarm.nodes()).find((n) => n.ID === self);
    return node?.Description?.Hostname ?? self;
  }

  private async checkCanary(web: FormationSpec, options: DeployOptions): Promise<void> {
    options.progress.info('Starting a canary web instance on this host for the checks');
    await options.ensureImage(web.image);
    const { quantity: _quantity, ...spec } = web;
    const canary = await this.start({ ...spec, index: 0 }, options);
    try {
      await options.check?.([canary]);
    } finally {
      await this.stop([canary]);
    }
  }

  /** Services created by a failed rollout go; those it updated go back to their previous spec. */
  private async undo(done: readonly { id: string; created: boolean }[], options: Pick<DeployOptions, 'progress'>): Promise<void> {
    for (const { id, created } of [...done].reverse()) {
      try {
        if (created) {
          await this.engine.swarm.remove(id);
          continue;
        }
        const service = await this.engine.swarm.inspect(id);
        options.progress.warn(`Rolling ${service.Spec.Name} back to its previous release`);
        await this.engine.swarm.update(id, service.Version.Index, service.Spec, this.swarm.registryAuth, { rollback: true });
      } catch (err) {
        this.log.error({ err, service: id }, 'could not undo a service change');
      }
    }
  }

  private async rolloutEach(
    app: string,
    formation: readonly FormationSpec[],
    existing: readonly SwarmService[],
    restarting: (process: string) => boolean,
    done: { id: string; created: boolean }[],
    options: DeployOptions,
  ): Promise<void> {
    for (const f of formation) {
      const name = serviceName(app, f.process);
      const current = existing.find((s) => s.Spec.Name === name);
      const force = (current?.Spec.TaskTemplate.ForceUpdate ?? 0) + (current && restarting(f.process) ? 1 : 0);
      const spec = serviceSpec(f, {
        network: this.appNetwork(app),
        forceUpdate: force,
        monitorSeconds: this.swarm.monitorSeconds,
        stopGraceSeconds: this.swarm.stopTimeoutSeconds,
        readyTimeoutSeconds: Math.ceil(this.swarm.readyTimeoutMs / 1000),
      });
      const since = new Date();
      if (!current) {
        options.progress.info(`Creating service ${name} (${f.quantity} replica${f.quantity === 1 ? '' : 's'})`);
        const id = (await this.engine.swarm.create(spec, this.swarm.registryAuth)) || name;
        try {
          await this.waitForTasks(id, name, f.quantity, since, options);
          done.push({ id, created: true });
        } catch (err) {
          // A new service that never ran leaves nothing behind.
          await this.engine.swarm.remove(id).catch(() => undefined);
          throw err;
        }
      } else {
        options.progress.info(`Updating service ${name} (${f.quantity} replica${f.quantity === 1 ? '' : 's'}, start-first)`);
        await this.engine.swarm.update(current.ID, current.Version.Index, spec, this.swarm.registryAuth);
        // Swarm rolls a failed update back itself; only a later failure needs this one undone.
        await this.waitForUpdate(current.ID, name, f.quantity, current.UpdateStatus?.StartedAt, options);
        done.push({ id: current.ID, created: false });
      }
    }
  }

  /** A new service is up when its replicas run; a task that fails first fails the deploy with its error. */
  private async waitForTasks(id: string, name: string, replicas: number, since: Date, options: DeployOptions): Promise<void> {
    const deadline = Date.now() + options.readyTimeoutMs + this.swarm.monitorSeconds * 1000;
    while (Date.now() < deadline) {
      if (options.signal.aborted) throw new DeployFailedError('deploy cancelled');
      const tasks = await this.tasks({ service: [id] });
      const running = tasks.filter((t) => t.DesiredState === 'running' && t.Status.State === 'running');
      if (running.length >= replicas) return;
      const failed = tasks.find((t) => ['failed', 'rejected'].includes(t.Status.State) && new Date(t.Status.Timestamp ?? 0) >= since);
      if (failed) throw new DeployFailedError(`${name} did not start: ${taskError(failed)}; the previous release keeps serving`);
      await sleep(500);
    }
    throw new DeployFailedError(
      `${name} did not get ${replicas} running task${replicas === 1 ? '' : 's'} within ${Math.round(options.readyTimeoutMs / 1000)}s; the previous release keeps serving`,
    );
  }

  /**
   * Waits for swarm's rolling update: completed and every replica running.
   * When swarm rolls back (a new task failed its health check or exited), the
   * deploy fails once the old tasks are back.
   */
  private async waitForUpdate(id: string, name: string, replicas: number, priorUpdate: string | undefined, options: DeployOptions): Promise<void> {
    const deadline = Date.now() + options.readyTimeoutMs * 2 + this.swarm.monitorSeconds * 1000 + 30_000;
    let rollingBack: string | undefined;
    while (Date.now() < deadline) {
      if (options.signal.aborted) throw new DeployFailedError('deploy cancelled');
      const service = await this.engine.swarm.inspect(id);
      // Scaling alone starts no update; a changed task template does, and until it shows, the old tasks must not count.
      const templateChanged = JSON.stringify(service.Spec.TaskTemplate) !== JSON.stringify(service.PreviousSpec?.TaskTemplate);
      const update = service.UpdateStatus;
      const ours = update?.StartedAt !== undefined && update.StartedAt !== priorUpdate;
      if (templateChanged && !ours) {
        await sleep(250);
        continue;
      }
      const state = ours ? update?.State : undefined;
      if (state?.startsWith('rollback')) {
        if (!rollingBack) {
          rollingBack = update?.Message ?? 'the new tasks failed';
          options.progress.warn(`swarm is rolling ${name} back: ${rollingBack}`);
        }
        if (state === 'rollback_completed' || state === 'rollback_paused') break;
      } else if (state === 'paused') {
        throw new DeployFailedError(`swarm paused the update of ${name}: ${update?.Message ?? ''}`);
      } else if (state === undefined || state === 'completed') {
        const tasks = await this.tasks({ service: [id], 'desired-state': ['running'] });
        if (tasks.filter((t) => t.Status.State === 'running').length >= replicas && tasks.length === replicas) return;
      }
      await sleep(500);
    }
    if (rollingBack) {
      const failed = (await this.tasks({ service: [id] })).find((t) => ['failed', 'rejected', 'shutdown'].includes(t.Status.State) && t.Status.Err);
      throw new DeployFailedError(`swarm rolled ${name} back (${rollingBack}${failed ? `; ${taskError(failed)}` : ''}); the previous release keeps serving`);
    }
    throw new DeployFailedError(`the update of ${name} did not finish in time; swarm goes on with it (docker service ps ${name})`);
  }

  override async status(app: string): Promise<Instance[]> {
    const services = await this.services(app);
    if (!services.length) return [];
    const [tasks, nodes] = await Promise.all([this.tasks({ service: services.map((s) => s.ID), 'desired-state': ['running'] }), this.engine.swarm.nodes()]);
    const hostname = (id: string | undefined): string | undefined => nodes.find((n) => n.ID === id)?.Description?.Hostname;
    return tasks
      .map((t) => {
        const labels = t.Spec.ContainerSpec?.Labels ?? {};
        const process = labels[LABEL_PROCESS] ?? 'web';
        return {
          id: t.Status.ContainerStatus?.ContainerID ?? t.ID,
          name: `${serviceName(app, process)}.${t.Slot ?? 0}`,
          app,
          release: Number(labels[LABEL_RELEASE] ?? 0),
          process,
          index: t.Slot ?? 0,
          state: t.Status.State,
          startedAt: t.Status.Timestamp,
          node: hostname(t.NodeID),
        };
      })
      .sort((a, b) => a.process.localeCompare(b.process) || a.index - b.index);
  }

  override async destroy(app: string): Promise<void> {
    for (const s of await this.services(app)) await this.engine.swarm.remove(s.ID).catch(() => undefined);
    // The tasks' containers stop in the background; images can go only after them.
    const deadline = Date.now() + (this.swarm.stopTimeoutSeconds + 20) * 1000;
    while (Date.now() < deadline && (await this.containers(app)).some((i) => i.state === 'running')) await sleep(250);
    await this.gateway.leave(this.appNetwork(app));
    await this.unlinkServices(app, new Set());
    // Swarm takes a moment to let go of a removed service's endpoints.
    await pRetry(() => this.engine.networks.remove(this.appNetwork(app)), EVERY_250_MS_FOR_10_S).catch((err: unknown) =>
      this.log.warn({ app, network: this.appNetwork(app), err }, 'app network not removed'),
    );
  }

  /**
   * Each app's services are on an overlay network of their own, so tasks of
   * different apps cannot reach each other; the gateway is on every one of
   * them (it dials tasks.skiff-APP-web by name). Swarm's address pool (a /24
   * each out of 10.0.0.0/8 by default) has room for thousands.
   */
  private appNetwork(app: string): string {
    return `${this.swarm.network}-${app}`;
  }

  private async ensureAppNetwork(app: string, appId: string | undefined): Promise<void> {
    const name = this.appNetwork(app);
    // An app that left swarm moments ago (apps:set APP runtime) has its overlay removed from the swarm while
    // this engine may still list it until its last endpoint goes; attaching to it then fails, so it is made anew.
    await pRetry(
      async () => {
        if (!(await this.engine.networks.find(name)))
          await this.engine.networks.create({
            Name: name,
            Driver: 'overlay',
            Attachable: true,
            Labels: { 'skiff.network': this.swarm.network, ...appLabels(app, appId) },
          });
        await this.gateway.join(name);
      },
      { ...EVERY_250_MS_FOR_10_S, shouldRetry: ({ error }) => /network \S+ not found/.test(error.message) },
    );
  }

  /**
   * The services' logs, which swarm gathers from every node: recent lines of
   * all tasks merged by time, then, with follow, new ones until the signal.
   * Each line names its task (web.2) from the task id swarm tags it with.
   */
  override async logs(app: string, options: LogOptions, onLine: (line: LogLine) => void): Promise<void> {
    const services = (await this.services(app)).filter((s) => !options.process || s.Spec.Labels?.[LABEL_PROCESS] === options.process);
    if (!services.length) return;
    const names = new Map<string, string>();
    const learnTasks = async (): Promise<void> => {
      for (const t of await this.tasks({ service: services.map((s) => s.ID) })) {
        names.set(t.ID, `${t.Spec.ContainerSpec?.Labels?.[LABEL_PROCESS] ?? 'web'}.${t.Slot ?? 0}`);
      }
    };
    await learnTasks();
    // With details, swarm puts "com.docker.swarm.node.id=…,…,com.docker.swarm.task.id=ID " before the text.
    const named = (line: LogLine): LogLine => {
      const m = /^(\S*com\.docker\.swarm\.task\.id=(\w+)\S*) (.*)$/s.exec(line.text);
      return m ? { ...line, source: names.get(m[2]) ?? 'task', text: m[3] } : { ...line, source: 'task' };
    };
    const sources: LogSource[] = services.map((s) => ({
      id: s.ID,
      name: named,
      recent: (tail) => this.engine.swarm.recentLogs(s.ID, tail),
      follow: (since) => this.engine.swarm.followLogs(s.ID, since),
    }));
    // New tasks (a deploy, a scale) get their names as they come; the services stay the same.
    await followLogs(this.engine, async () => sources, options, onLine, { ms: 2000, onPoll: learnTasks });
  }

  /** Whether this engine is a swarm manager. */
  override async unavailable(): Promise<string | undefined> {
    return (await SwarmRuntime.available(this.engine)) ? undefined : 'this Docker engine is not a swarm manager; run docker swarm init (see the README)';
  }

  /** The swarm's nodes, and which tasks of which app run on each. */
  override async nodes(): Promise<NodeInfo[]> {
    const [nodes, tasks, self] = await Promise.all([
      this.engine.swarm.nodes(),
      this.tasks({ label: [LABEL_APP], 'desired-state': ['running'] }),
      this.engine.swarm.selfId(),
    ]);
    return nodes.map((n) => ({
      id: n.ID,
      self: n.ID === self,
      hostname: n.Description?.Hostname ?? n.ID,
      role: n.Spec?.Role ?? '?',
      availability: n.Spec?.Availability ?? '?',
      state: n.Status?.State ?? '?',
      address: n.Status?.Addr ?? '?',
      engine: n.Description?.Engine?.EngineVersion ?? '?',
      cpus: n.Description?.Resources?.NanoCPUs ? n.Description.Resources.NanoCPUs / 1e9 : null,
      memory: n.Description?.Resources?.MemoryBytes ?? null,
      tasks: tasks
        .filter((t) => t.NodeID === n.ID)
        .map((t) => {
          const labels = t.Spec.ContainerSpec?.Labels ?? {};
          return {
            app: labels[LABEL_APP] ?? '?',
            process: labels[LABEL_PROCESS] ?? '?',
            index: t.Slot ?? 0,
            release: Number(labels[LABEL_RELEASE] ?? 0),
            state: t.Status.State,
          };
        })
        .sort((a, b) => a.app.localeCompare(b.app) || a.process.localeCompare(b.process) || a.index - b.index),
    }));
  }

  override async joinCommand(): Promise<string> {
    await this.mustBeManager();
    return this.engine.swarm.joinCommand();
  }

  /**
   * Drain: swarm stops the node's tasks and starts them on the other nodes;
   * this returns once every service that had a task there runs all its
   * replicas elsewhere. The router's gateway retries a request on another task
   * while a stopping one refuses. Active: the node takes new tasks again (swarm
   * moves none back by itself; the next deploy or scale spreads them).
   */
  override async setAvailability(name: string, availability: 'active' | 'drain', options: NodeOptions): Promise<NodeChange> {
    await this.mustBeManager();
    const nodes = await this.engine.swarm.nodes();
    const node = findNode(nodes, name);
    const hostname = node.Description?.Hostname ?? node.ID;
    if (availability === 'drain' && node.ID === (await this.engine.swarm.selfId()))
      throw new InvalidError(
        `${hostname} is this server's own node: the gateway, one-offs and checks join overlay networks here, which a drained node refuses; to keep an app's tasks elsewhere, apps:set APP node NAME`,
      );
    const onNode = (await this.tasks({ label: [LABEL_APP], 'desired-state': ['running'] })).filter((t) => t.NodeID === node.ID);
    if (availability === 'drain' && onNode.length && !nodes.some((n) => n.ID !== node.ID && n.Spec?.Availability === 'active' && n.Status?.State === 'ready'))
      throw new InvalidError(`${hostname} is the only active node: its ${onNode.length} task(s) would have nowhere to run; add a node first (nodes:add)`);
    if (node.Spec?.Availability !== availability) await this.engine.swarm.setAvailability(node, availability);
    if (availability === 'drain' && onNode.length) {
      options.progress.info(`Moving ${onNode.length} task${onNode.length === 1 ? '' : 's'} off ${hostname}`);
      await this.waitOffNode(node.ID, hostname, [...new Set(onNode.map((t) => t.ServiceID))], options);
    }
    const now = (await this.nodes()).find((n) => n.id === node.ID);
    if (!now) throw new InvalidError(`node ${hostname} is gone`);
    return { node: now, moved: availability === 'drain' ? onNode.length : 0 };
  }

  /** Drains the node, then removes it from the swarm (forced when its engine still answers: it was drained first). */
  override async removeNode(name: string, options: NodeOptions): Promise<NodeChange> {
    await this.mustBeManager();
    const node = findNode(await this.engine.swarm.nodes(), name);
    const hostname = node.Description?.Hostname ?? node.ID;
    if (node.Spec?.Role === 'manager')
      throw new InvalidError(`${hostname} is a manager: demote it first (docker node demote ${hostname}), then nodes:remove it`);
    const change = await this.setAvailability(node.ID, 'drain', options);
    await this.engine.swarm.removeNode(node.ID, node.Status?.State !== 'down');
    options.progress.info(`Removed ${hostname} from the swarm; on it, docker swarm leave makes its engine forget the swarm`);
    return change;
  }

  /** Until each service runs all its replicas, none of them on the node; bounded by the timeout. */
  private async waitOffNode(nodeId: string, hostname: string, serviceIds: string[], options: NodeOptions): Promise<void> {
    const deadline = Date.now() + options.timeoutMs;
    while (Date.now() < deadline) {
      if (options.signal.aborted) throw new DeployFailedError('cancelled while tasks were moving');
      let settled = true;
      for (const id of serviceIds) {
        const service = await this.engine.swarm.inspect(id).catch(() => undefined);
        if (!service) continue;
        const tasks = await this.tasks({ service: [id], 'desired-state': ['running'] });
        const running = tasks.filter((t) => t.Status.State === 'running' && t.NodeID !== nodeId);
        if (running.length < (service.Spec.Mode?.Replicated?.Replicas ?? 0) || tasks.some((t) => t.NodeID === nodeId)) settled = false;
      }
      if (settled) return;
      await sleep(250);
    }
    throw new DeployFailedError(
      `the tasks on ${hostname} did not all run elsewhere within ${Math.round(options.timeoutMs / 1000)}s; swarm goes on moving them (nodes shows where they are)`,
    );
  }

  private async mustBeManager(): Promise<void> {
    const problem = await this.unavailable();
    if (problem) throw new InvalidError(`no swarm: ${problem}`);
  }

  private async services(app: string): Promise<SwarmService[]> {
    return this.engine.swarm.services([`${LABEL_APP}=${app}`]);
  }

  private async tasks(filters: Record<string, string[]>): Promise<SwarmTask[]> {
    return this.engine.swarm.tasks(filters);
  }

  private async ensureOverlay(): Promise<void> {
    // Two deploys at once: the one that makes it second finds it made (create takes a 409 as made).
    if (!(await this.engine.networks.find(this.swarm.network)))
      await this.engine.networks.create({ Name: this.swarm.network, Driver: 'overlay', Attachable: true, Labels: { 'skiff.network': '1' } });
  }
}

/** A node by host name, id or unique id prefix. */
function findNode(nodes: readonly SwarmNode[], name: string): SwarmNode {
  const exact = nodes.filter((n) => n.ID === name || n.Description?.Hostname === name);
  const found = exact.length ? exact : name.length >= 3 ? nodes.filter((n) => n.ID.startsWith(name)) : [];
  if (found.length === 1) return found[0];
  if (found.length > 1) throw new InvalidError(`'${name}' names ${found.length} nodes; give the node's id (nodes lists them)`);
  throw new InvalidError(`no node '${name}' in this swarm; nodes lists them`);
}

function taskError(t: SwarmTask): string {
  const exit = t.Status.ContainerStatus?.ExitCode;
  return [t.Status.Err, exit !== undefined && exit !== 0 ? `exit status ${exit}` : ''].filter(Boolean).join(', ') || t.Status.State;
}
