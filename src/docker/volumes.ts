import type Docker from 'dockerode';
import pRetry from 'p-retry';
import { unlessNotFound } from './client.js';

/** A volume's name and, where the engine knows it, the bytes it holds. */
export interface VolumeUsage {
  Name: string;
  UsageData?: { Size?: number };
}

export interface VolumeInfo {
  Name: string;
  Labels?: Record<string, string> | null;
  CreatedAt?: string;
}

/** The engine's named volumes: the only calls Skiff makes on them. */
export class VolumeClient {
  /** The disk usage walk under way, which callers share. */
  private walk: Promise<VolumeUsage[]> | undefined;

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

  /**
   * Bytes each volume holds, as the engine's disk usage says (it walks every
   * volume to say). The engine runs one such walk at a time and refuses a
   * second meanwhile: calls in this process share the walk under way, and
   * one refused because another process's runs is asked again a few times.
   */
  sizes(): Promise<VolumeUsage[]> {
    // Five asks in all, 0.2 s, 0.4 s, 0.8 s and 1.6 s apart.
    this.walk ??= pRetry(() => this.askSizes(), { retries: 4, minTimeout: 200 }).finally(() => (this.walk = undefined));
    return this.walk;
  }

  private askSizes(): Promise<VolumeUsage[]> {
    return new Promise((resolve, reject) => {
      this.docker.modem.dial(
        { path: '/system/df?type=volume', method: 'GET', statusCodes: { 200: true, 400: 'bad request', 409: 'conflict', 500: 'server error' } },
        (err, data) => (err ? reject(err) : resolve((data as { Volumes?: VolumeUsage[] }).Volumes ?? [])),
      );
    });
  }
}
