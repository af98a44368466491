import fs from 'node:fs';
import path from 'node:path';
import { isConflict, isNotFound } from '../docker/client.js';
import type { Engine } from '../docker/engine.js';
import { ExternalError } from '../errors.js';
import { gatewayConfig, gatewayContainerSpec, gatewayName } from './swarm-gateway-spec.js';

/** What the gateway needs of the swarm runtime's options. */
export interface GatewayOptions {
  network: string;
  gatewayPort: number;
  gatewayImage: string;
  dir: string;
}

/** The swarm gateway container: made when missing, given this Skiff's config, and on each app's overlay network. */
export class SwarmGateway {
  constructor(
    private readonly engine: Engine,
    private readonly options: GatewayOptions,
  ) {}

  get name(): string {
    return gatewayName(this.options.gatewayPort);
  }

  /** The gateway runs, with this Skiff's config; a new one joins every app's network there is, not only the next one deployed. */
  async ensure(): Promise<void> {
    const { dir, gatewayPort, gatewayImage, network } = this.options;
    fs.mkdirSync(dir, { recursive: true });
    const configFile = path.join(dir, 'gateway.json');
    const config = JSON.stringify(gatewayConfig(), null, 2);
    // A gateway made by an older Skiff gets this one's config (its caddy reads it as it starts).
    const changed = !fs.existsSync(configFile) || fs.readFileSync(configFile, 'utf8') !== config;
    if (changed) fs.writeFileSync(configFile, config);
    const { containers, networks } = this.engine;
    try {
      const info = await containers.inspect(this.name);
      if (!info.State.Running) await containers.start(this.name);
      else if (changed) await containers.restart(this.name, 1);
      return;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    try {
      const caddyPath = findOnPath('caddy') ?? '/usr/bin/caddy';
      const id = await containers.create(gatewayContainerSpec({ port: gatewayPort, image: gatewayImage, network, caddyPath, configFile }));
      await containers.start(id);
      const apps = await networks.list([`skiff.network=${network}`]);
      for (const n of apps) await this.join(n.Name);
    } catch (err) {
      if (isConflict(err)) return;
      throw new ExternalError(`could not start the swarm gateway (${gatewayImage}): ${(err as Error).message}`, err);
    }
  }

  /** Puts the gateway on an app's network, unless it is there already. */
  async join(network: string): Promise<void> {
    const info = await this.engine.containers.inspect(this.name);
    if (info.NetworkSettings.Networks[network]) return;
    await this.engine.networks.connect(network, this.name);
  }

  /** Takes the gateway off an app's network, so the network can go; nothing when it is not on it. */
  async leave(network: string): Promise<void> {
    await this.engine.networks.disconnect(network, this.name).catch(() => undefined);
  }
}

/** The real path of a command on PATH: the gateway mounts this host's caddy (looked up only when it is made). */
function findOnPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, command);
    if (dir && fs.existsSync(candidate)) return fs.realpathSync(candidate);
  }
  return undefined;
}
