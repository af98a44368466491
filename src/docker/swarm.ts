import type Docker from 'dockerode';
import type { RegistryAuth } from './images.js';

export interface SwarmService {
  ID: string;
  Version: { Index: number };
  Spec: { Name: string; Labels?: Record<string, string>; TaskTemplate: { ForceUpdate?: number }; Mode?: { Replicated?: { Replicas?: number } } };
  PreviousSpec?: { TaskTemplate?: unknown };
  UpdateStatus?: { State?: string; Message?: string; StartedAt?: string };
}

export interface SwarmTask {
  ID: string;
  NodeID?: string;
  Slot?: number;
  ServiceID: string;
  DesiredState: string;
  CreatedAt?: string;
  Spec: { ContainerSpec?: { Labels?: Record<string, string> } };
  Status: { State: string; Err?: string; Message?: string; Timestamp?: string; ContainerStatus?: { ContainerID?: string; ExitCode?: number } };
}

export interface SwarmNode {
  ID: string;
  Version: { Index: number };
  Description?: { Hostname?: string; Engine?: { EngineVersion?: string }; Resources?: { NanoCPUs?: number; MemoryBytes?: number } };
  Spec?: { Role?: string; Availability?: string; Labels?: Record<string, string>; Name?: string };
  Status?: { State?: string; Addr?: string };
  ManagerStatus?: { Addr?: string; Leader?: boolean };
}

/** The swarm's services, tasks and nodes, through a manager: the only calls Skiff makes on them. */
export class SwarmClient {
  constructor(private readonly docker: Docker) {}

  /** Whether this engine is a manager of an active swarm. */
  async isManager(): Promise<boolean> {
    const info = (await this.docker.info()) as { Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean } };
    return info.Swarm?.LocalNodeState === 'active' && info.Swarm.ControlAvailable === true;
  }

  /** Services with all of these labels. */
  async services(labels: string[]): Promise<SwarmService[]> {
    return (await this.docker.listServices({ filters: { label: labels } })) as unknown as SwarmService[];
  }

  async inspect(id: string): Promise<SwarmService> {
    return (await this.docker.getService(id).inspect()) as SwarmService;
  }

  /** Creates a service; returns its id. */
  async create(spec: object, auth: RegistryAuth | undefined): Promise<string> {
    // (auth, spec): given one object, dockerode sends all of it as the X-Registry-Auth header, and workers pull with no credentials.
    const create = this.docker.createService.bind(this.docker) as unknown as (
      auth: RegistryAuth | undefined,
      spec: object,
    ) => Promise<{ id?: string; ID?: string }>;
    const created = await create(auth, spec);
    return created.id ?? created.ID ?? '';
  }

  /** Updates a service at the version read, to spec, or back to its previous spec. */
  async update(id: string, version: number, spec: object, auth: RegistryAuth | undefined, options: { rollback?: boolean } = {}): Promise<void> {
    await this.docker.getService(id).update({ _query: { version, ...(options.rollback ? { rollback: 'previous' } : {}) }, _body: spec, authconfig: auth });
  }

  async remove(id: string): Promise<void> {
    await this.docker.getService(id).remove();
  }

  /** A service's log lines from every node, with swarm's details (task ids) before each. */
  async recentLogs(id: string, tail: number): Promise<Buffer> {
    return (await this.logs(id, { tail, follow: false })) as Buffer;
  }

  async followLogs(id: string, since: number): Promise<NodeJS.ReadableStream> {
    return (await this.logs(id, { follow: true, since })) as NodeJS.ReadableStream;
  }

  private logs(id: string, options: Record<string, unknown>): Promise<unknown> {
    return this.docker.getService(id).logs({ stdout: true, stderr: true, timestamps: true, details: true, ...options } as never) as unknown as Promise<unknown>;
  }

  async tasks(filters: Record<string, string[]>): Promise<SwarmTask[]> {
    return (await this.docker.listTasks({ filters })) as SwarmTask[];
  }

  async nodes(): Promise<SwarmNode[]> {
    return (await this.docker.listNodes()) as SwarmNode[];
  }

  /** This engine's own node. */
  async selfId(): Promise<string> {
    return ((await this.docker.info()) as { Swarm?: { NodeID?: string } }).Swarm?.NodeID ?? '';
  }

  /** The line a worker runs to join: the worker token and this manager's swarm address. */
  async joinCommand(): Promise<string> {
    const swarm = (await this.docker.swarmInspect()) as { JoinTokens?: { Worker?: string } };
    const self = (await this.docker.getNode(await this.selfId()).inspect()) as SwarmNode;
    const token = swarm.JoinTokens?.Worker;
    const address = self.ManagerStatus?.Addr;
    if (!token || !address) throw new Error('the swarm gave no worker token or manager address');
    return `docker swarm join --token ${token} ${address}`;
  }

  /** Sets a node's availability (active, pause, drain), keeping the rest of its spec. */
  async setAvailability(node: SwarmNode, availability: string): Promise<void> {
    const target = this.docker.getNode(node.ID);
    const update = target.update.bind(target) as (options: object) => Promise<unknown>;
    await update({ _query: { version: node.Version.Index }, _body: { ...node.Spec, Availability: availability } });
  }

  /** Removes a node from the swarm; force is needed while its engine still answers. */
  async removeNode(id: string, force: boolean): Promise<void> {
    const target = this.docker.getNode(id);
    const remove = target.remove.bind(target) as (options: object) => Promise<unknown>;
    await remove({ force });
  }
}
