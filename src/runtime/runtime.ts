import type { Progress } from '../output/progress.js';
import type { LogLine } from './log-lines.js';

export interface LogOptions {
  /** Recent lines to show, over all instances. */
  tail: number;
  /** Only this process type. */
  process?: string;
  /** Keep streaming new lines (and new instances) until signal aborts. */
  follow: boolean;
  signal: AbortSignal;
}

/** One instance of one process type of one release, as the pipeline asks for it. */
export interface ProcessSpec {
  app: string;
  /** The app's identity, labelled skiff.app-id beside its name. */
  appId?: string;
  release: number;
  process: string;
  /** 1, 2, 3 … within the process type: web.1, web.2. */
  index: number;
  image: string;
  /** The Procfile's command, run with sh -c; null runs the image's CMD. */
  command: string | null;
  env: Record<string, string>;
  /** The port a web process listens on inside its container (PORT); other types get none. */
  port: number | null;
  /** Limits: bytes of memory, number of CPUs, processes (a fork bomb stops there). */
  memory: number | null;
  cpus: number | null;
  pids: number;
  /** A path a web instance must answer with 2xx to be ready; without one, any HTTP answer will do. */
  healthcheck?: string | null;
  /** The app's volumes and where the instance sees them. */
  mounts?: readonly VolumeMount[];
  /** Networks of the app's linked services, joined besides the apps' network. */
  networks?: readonly string[];
  /** The loopback port a web instance is published on; a free one when not given. */
  hostPort?: number;
  /** The node (host name) the swarm runtime places its tasks on; any when not given. */
  node?: string | null;
}

/** A named volume of the engine, mounted at path inside a container. */
export interface VolumeMount {
  volume: string;
  path: string;
}

export interface Instance {
  id: string;
  name: string;
  app: string;
  release: number;
  process: string;
  index: number;
  state: string;
  /** Where the instance answers on this host, when it has a port. */
  hostPort?: number;
  startedAt?: string;
  /** The node it runs on, on a runtime with several (swarm). */
  node?: string;
}

/** A one-off process: a throwaway instance of a release, attached to the caller. */
export interface OneOffSpec {
  app: string;
  /** The app's identity, labelled skiff.app-id beside its name. */
  appId?: string;
  release: number;
  image: string;
  env: Record<string, string>;
  command: string[];
  /** The limits of the process type it stands in for. */
  memory: number | null;
  cpus: number | null;
  pids: number;
  mounts?: readonly VolumeMount[];
  /** Networks of the app's linked services. */
  networks?: readonly string[];
  /** The scheduled job's run it is, so stopCronRuns finds it from any process. */
  cronRun?: number;
  /**
   * Keep what the command changes in the image's files (app.json's
   * predeploy, as Dokku does): on exit 0 the one-off is committed as this
   * image, with the image's own CMD, ENTRYPOINT, ENV and labels and nothing
   * of the one-off's environment.
   */
  keepAs?: string;
}

export interface OneOffIO {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  tty?: { rows: number; cols: number };
  onResize?: (listener: (size: { rows: number; cols: number }) => void) => void;
  signal: AbortSignal;
}

/** How one instance is started on this host: how long it may take to be ready, and where to say what happens. */
export interface StartOptions {
  readyTimeoutMs: number;
  progress: Progress;
  signal: AbortSignal;
}

/** One process type of a release as the runtime runs it: an instance's spec, and how many. */
export interface FormationSpec extends Omit<ProcessSpec, 'index'> {
  quantity: number;
}

export interface DeployOptions extends StartOptions {
  /** Process types whose running instances are replaced even when their spec did not change ('all': a new release, a restart). */
  replace: readonly string[] | 'all';
  /** Seconds requests already on their way to a retiring web instance get to finish. */
  drainSeconds: number;
  /** Makes sure this host has the image before an instance of it starts here (a registry has the images a host lacks). */
  ensureImage(image: string): Promise<void>;
  /** Checks new instances before any traffic can reach them (a stack's verify image); throwing rejects the rollout. */
  check?: (instances: readonly Instance[]) => Promise<void>;
  /**
   * Stop first (a single-writer volume): what the rollout replaces stops
   * (its processes have exited; the engine may still be removing it) before
   * anything new starts, then beforeStart runs (the release phase), then web
   * starts on this loopback port, where the router holds requests. retire()
   * waits for the removal.
   */
  handover?: { port: number; beforeStart?: (signal: AbortSignal) => Promise<void> };
}

/**
 * A deploy in flight: the new instances are ready (and checked), and nothing
 * has been taken away yet. The caller switches traffic to upstreams, then
 * retires what the rollout replaces; or, if the switch fails, aborts, which
 * puts back what ran before.
 */
export interface Rollout {
  /** What runs once the rollout is retired: the instances kept and the new ones. */
  instances: Instance[];
  /** The new instances. */
  started: Instance[];
  /** What retire() stops (or, in a handover, finishes removing). */
  retiring: Instance[];
  /** Where web traffic goes, each entry one web instance (or the gateway that reaches each task by name). */
  upstreams: string[];
  /** After the switch: drains and stops what the new instances replace. */
  retire(): Promise<void>;
  /** Instead of the switch: removes what this rollout started and puts back what it changed. */
  abort(): Promise<void>;
}

export interface NodeInfo {
  id: string;
  /** The node of the engine this server talks to. */
  self: boolean;
  hostname: string;
  role: string;
  availability: string;
  state: string;
  address: string;
  engine: string;
  /** What the node's engine says it has: CPUs and bytes of memory. */
  cpus: number | null;
  memory: number | null;
  tasks: { app: string; process: string; index: number; release: number; state: string }[];
}

/** How a node's availability changed: its tasks that were moved elsewhere, and the node now. */
export interface NodeChange {
  node: NodeInfo;
  moved: number;
}

/**
 * The scheduler seam, one shape for every runtime. deploy brings an app's
 * instances to the formation (new ones first, ready and checked) and hands
 * back a Rollout to switch to, retire or abort; status says what runs; logs
 * reads and follows output; run attaches a one-off process; exec runs a
 * command in an instance; destroy removes all an app owns.
 */
export interface Runtime {
  name: string;
  deploy(app: string, formation: readonly FormationSpec[], options: DeployOptions): Promise<Rollout>;
  status(app: string): Promise<Instance[]>;
  destroy(app: string): Promise<void>;
  logs(app: string, options: LogOptions, onLine: (line: LogLine) => void): Promise<void>;
  /** Runs a one-off process attached to io; returns its exit status. It is removed afterwards, whatever happens. */
  run(spec: OneOffSpec, io: OneOffIO): Promise<number>;
  /** Removes the app's one-offs running a scheduled job (the one run, or all); returns how many there were. */
  stopCronRuns(app: string, run?: number): Promise<number>;
  /** Runs a command inside a running instance (a stack's COMMAND health check); a timeout counts as a failure. */
  exec(instance: Instance, command: string[], options: { timeoutMs: number; signal: AbortSignal }): Promise<{ exitCode: number; output: string }>;
  /** Why this runtime cannot be used now (e.g. the engine is no swarm manager); undefined when it can. */
  unavailable(): Promise<string | undefined>;
  /** The hosts the runtime spreads instances over, and what runs on each; none for a runtime of this host alone. */
  nodes(): Promise<NodeInfo[]>;
  /** The host name of the node this server's engine is; null for a runtime of this host alone. */
  thisNode(): Promise<string | null>;
  /** The exact line that makes another engine a node (a worker) of this one's. */
  joinCommand(): Promise<string>;
  /** Drains a node (its tasks move to the others, and wait for it) or makes it active again. */
  setAvailability(node: string, availability: 'active' | 'drain', options: NodeOptions): Promise<NodeChange>;
  /** Drains a node, then takes it out of the fleet. */
  removeNode(node: string, options: NodeOptions): Promise<NodeChange>;
}

export interface NodeOptions {
  progress: Progress;
  signal: AbortSignal;
  /** How long tasks may take to come up elsewhere. */
  timeoutMs: number;
}

/** The runtimes of a server, each app's chosen by its setting; app calls go to the app's. */
export interface AppRuntimes extends Omit<Runtime, 'name' | 'unavailable' | 'nodes' | 'thisNode' | 'joinCommand' | 'setAvailability' | 'removeNode'> {
  /** The named runtime, or a refusal that says why it cannot be used here. */
  named(name: string): Runtime;
  for(app: string): Runtime;
}
