import type Docker from 'dockerode';
import { ContainerClient } from './containers.js';
import { createDocker } from './client.js';
import { ImageClient } from './images.js';
import { NetworkClient } from './networks.js';
import { SwarmClient } from './swarm.js';
import { VolumeClient } from './volumes.js';
import { ExternalError } from '../errors.js';

/**
 * The Docker engine as Skiff uses it: a small typed client per kind of
 * thing, and nothing else. Only src/docker/ holds dockerode; every other
 * floor talks to the engine through these methods (scripts/check-imports.mjs
 * refuses dockerode's calls elsewhere).
 */
export class Engine {
  readonly containers: ContainerClient;
  readonly images: ImageClient;
  readonly networks: NetworkClient;
  readonly volumes: VolumeClient;
  readonly swarm: SwarmClient;

  constructor(private readonly docker: Docker) {
    this.containers = new ContainerClient(docker);
    this.images = new ImageClient(docker);
    this.networks = new NetworkClient(docker);
    this.volumes = new VolumeClient(docker);
    this.swarm = new SwarmClient(docker);
  }

  /** Fails with a sentence a user can act on when no engine answers. */
  async assertAnswers(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (err) {
      throw new ExternalError('the Docker engine does not answer; start dockerd (npm start does) and try again', err);
    }
  }

  /** The engine's version, as `docker version` says it. */
  async version(): Promise<string> {
    return (await this.docker.version()).Version;
  }

  /** The cgroup driver the engine runs containers with (cgroupfs or systemd). */
  async cgroupDriver(): Promise<string> {
    const info = (await this.docker.info()) as { CgroupDriver?: string };
    return info.CgroupDriver ?? 'cgroupfs';
  }
}

/** The only place the engine's client is made; DOCKER_HOST is honoured. */
export function createEngine(): Engine {
  return new Engine(createDocker());
}
