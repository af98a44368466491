import type Docker from 'dockerode';
import { unlessNotFound } from './client.js';

export interface VolumeInfo {
  Name: string;
  Labels?: Record<string, string> | null;
  CreatedAt?: string;
}

/** The engine's named volumes: the only calls Skiff makes on them. */
export class VolumeClient {
  constructor(private readonly docker: Docker) {}

  /** Its inspection; undefined when there is none of that name. */
  find(name: string): Promise<VolumeInfo | undefined> {
    return unlessNotFound(this.docker.getVolume(name).inspect());
  }

  async create(name: string, labels: Record<string, string>): Promise<void> {
    await this.docker.createVolume({ Name: name, Labels: labels });
  }

  /** Volumes with all of these labels. */
  async list(labels: string[]): Promise<VolumeInfo[]> {
    const { Volumes } = (await this.docker.listVolumes({ filters: { label: labels } })) as { Volumes: VolumeInfo[] | null };
    return Volumes ?? [];
  }

  /** Refused (409) while a container uses it. */
  async remove(name: string): Promise<void> {
    await this.docker.getVolume(name).remove();
  }

  /** Bytes each volume holds, as the engine's disk usage says (it walks every volume to say). */
  sizes(): Promise<{ Name: string; UsageData?: { Size?: number } }[]> {
    return new Promise((resolve, reject) => {
      this.docker.modem.dial(
        { path: '/system/df?type=volume', method: 'GET', statusCodes: { 200: true, 400: 'bad request', 500: 'server error' } },
        (err, data) => (err ? reject(err) : resolve((data as { Volumes?: { Name: string; UsageData?: { Size?: number } }[] }).Volumes ?? [])),
      );
    });
  }
}
