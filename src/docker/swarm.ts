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
  Description?: { Hostname?: string; Engine?: { EngineVersion?: string } };
  Spec?: { Role?: string; Availability?: string };
  Status?: { State?: string; Addr?: string };
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
    const created = (await this.docker.createService({ ...spec, authconfig: auth } as never)) as { id?: string; ID?: string };
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
}
