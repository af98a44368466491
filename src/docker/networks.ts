import type Docker from 'dockerode';
import type { NetworkInspectInfo } from 'dockerode';
import { isConflict, isNotFound, unlessNotFound } from './client.js';

/** The engine's networks, by name or id: the only calls Skiff makes on them. */
export class NetworkClient {
  constructor(private readonly docker: Docker) {}

  /** Its inspection; undefined when there is none of that name. */
  find(idOrName: string): Promise<NetworkInspectInfo | undefined> {
    return unlessNotFound(this.docker.getNetwork(idOrName).inspect());
  }

  /** Networks with all of these labels. */
  list(labels: string[]): Promise<NetworkInspectInfo[]> {
    return this.docker.listNetworks({ filters: { label: labels } });
  }

  /** Creates it; one made meanwhile by another start (409) is as good. Returns its id, or undefined when it was there. */
  async create(options: {
    Name: string;
    Driver?: string;
    Internal?: boolean;
    Attachable?: boolean;
    Labels: Record<string, string>;
    Options?: Record<string, string>;
  }): Promise<string | undefined> {
    try {
      return (await this.docker.createNetwork({ ...options, CheckDuplicate: true })).id;
    } catch (err) {
      if (isConflict(err)) return undefined;
      throw err;
    }
  }

  /** Creates a labelled bridge network unless it exists (two starts at once may both try). */
  async ensureBridge(name: string, labels: Record<string, string>, options: Record<string, string> = {}): Promise<void> {
    const found = await this.docker.listNetworks({ filters: { name: [name] } });
    if (found.some((n) => n.Name === name)) return;
    await this.create({ Name: name, Driver: 'bridge', Labels: labels, Options: options });
  }

  async connect(network: string, container: string, aliases?: string[]): Promise<void> {
    await this.docker.getNetwork(network).connect({ Container: container, ...(aliases ? { EndpointConfig: { Aliases: aliases } } : {}) });
  }

  async disconnect(network: string, container: string): Promise<void> {
    await this.docker.getNetwork(network).disconnect({ Container: container, Force: true });
  }

  /** Removes it as it is (refused while in use); gone already is fine. */
  async remove(idOrName: string): Promise<void> {
    try {
      await this.docker.getNetwork(idOrName).remove();
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Removes it, first taking off whatever containers are still on it; gone already is fine. */
  async removeWithContainers(idOrName: string): Promise<void> {
    const found = await this.find(idOrName);
    if (!found) return;
    for (const container of Object.keys(found.Containers ?? {})) await this.disconnect(idOrName, container).catch(() => undefined);
    await this.remove(idOrName);
  }
}
