import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { DockerfileBuilder } from '../builder/dockerfile-builder.js';
import { Images } from '../builder/images.js';
import { BuiltinStackBuilder } from '../builder/stack-builder.js';
import { StackImageBuilder } from '../builder/stack-image-builder.js';
import { StackImages } from '../builder/stack-image.js';
import type { Config } from '../config.js';
import { createEngine } from '../docker/engine.js';
import { realClock } from '../clock.js';
import { Repos } from '../git/repos.js';
import { createLogger, type Logger } from '../log.js';
import type { Services } from '../operations/operation.js';
import { longestHoldSeconds } from '../pipeline/hold.js';
import { Registry } from '../registry/registry.js';
import type { CaddyOptions } from '../router/caddy-config.js';
import { CaddyRouter } from '../router/caddy-router.js';
import { certificateAskUrl } from '../router/certificate-ask.js';
import { DockerRuntime } from '../runtime/docker-runtime.js';
import { Runtimes, parseRuntimeName } from '../runtime/runtimes.js';
import { SwarmRuntime } from '../runtime/swarm-runtime.js';
import { SystemdRuntime, systemdIsInit } from '../runtime/systemd-runtime.js';
import { Volumes } from '../runtime/volumes.js';
import { ServiceContainers } from '../runtime/backing-services.js';
import { BackupFiles } from '../store/backup-files.js';
import { backupBeforeRelease } from '../operations/backups.js';
import { openStore } from '../store/sqlite-store.js';
import { SecretBox } from '../store/secret-box.js';

export const VERSION = (JSON.parse(fs.readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version: string }).version;

/** The composition root: the only place that knows the concrete classes. */
export function compose(config: Config, log: Logger): Services {
  const engine = createEngine();
  const stackImages = new StackImages(engine, log);
  const box = SecretBox.load(config.secretKeyPath);
  const store = openStore(config.dbPath, box);
  const registry = config.registry && new Registry(engine, config.registry);
  const containers = new DockerRuntime(engine, { stopTimeoutSeconds: config.stopTimeoutSeconds }, log);
  const swarm = new SwarmRuntime(
    engine,
    {
      ...config.swarm,
      dir: path.join(config.home, 'swarm'),
      readyTimeoutMs: config.readyTimeoutMs,
      stopTimeoutSeconds: config.stopTimeoutSeconds,
      monitorSeconds: 5,
      registryAuth: registry?.authconfig(),
    },
    log,
  );
  const systemd = systemdIsInit()
    ? new SystemdRuntime(engine, { unitDir: config.systemdDir, envDir: path.join(config.home, 'units'), stopTimeoutSeconds: config.stopTimeoutSeconds }, log)
    : undefined;
  const runtime = new Runtimes({ docker: containers, swarm, systemd }, (app) => parseRuntimeName(store.apps.find(app)?.runtime ?? config.runtime));
  const services: Services = {
    config,
    log,
    version: VERSION,
    store,
    repos: new Repos(config.reposDir, config.home),
    images: new Images(engine),
    stackImages,
    registry,
    runtime,
    volumes: new Volumes(engine),
    backupFiles: new BackupFiles(path.join(config.home, 'backups'), box),
    serviceContainers: new ServiceContainers(engine, { memory: config.defaultMemory, cpus: null, pids: config.pidsLimit }, log),
    clock: realClock,
    router: new CaddyRouter(config.caddyAdmin, routerServe(config), config.caddyDir, config.ownCaddy, {
      slots: config.maxHolds,
      seconds: longestHoldSeconds(config),
    }),
    // In the order they are asked: the app's stackfile stack, its own Dockerfile, then the built-in stacks.
    builders: [
      new StackImageBuilder(engine, stackImages),
      new DockerfileBuilder(engine),
      new BuiltinStackBuilder(engine, { images: config.stackImages, caFile: config.buildCaFile }),
    ],
    // Needs the services it is part of: set below.
    releaseBackups: { beforeReleasePhase: () => Promise.reject(new Error('not composed yet')) },
  };
  services.releaseBackups = { beforeReleasePhase: (rel, progress) => backupBeforeRelease(services, rel, progress) };
  return services;
}

/** Where the router serves apps: plain HTTP on SKIFF_ROUTER_PORT, and HTTPS on SKIFF_ROUTER_TLS_PORT when SKIFF_ACME_EMAIL is set. */
export function routerServe(config: Config): Omit<CaddyOptions, 'admin'> {
  const listen = `${config.bind}:${config.routerPort}`;
  // The git door listens on SKIFF_BIND; Caddy reaches it on loopback when that is every address.
  const door = `${config.bind === '0.0.0.0' ? '127.0.0.1' : config.bind === '::' ? '[::1]' : config.bind}:${config.httpPort}`;
  const git = config.gitHost ? { git: { host: config.gitHost, upstream: door } } : {};
  if (!config.tls) return { listen, ...git };
  const { port, ...acme } = config.tls;
  return {
    listen,
    ...git,
    tls: {
      listen: `${config.bind}:${port}`,
      email: acme.email,
      ca: acme.ca,
      ...(acme.caRoot ? { caRoot: acme.caRoot } : {}),
      ask: certificateAskUrl(config.caddyDir),
    },
  };
}

/** Hooks and host commands log to a file: their stderr belongs to the user. */
export function fileLogger(config: Config): Logger {
  const dest = pino.destination({ dest: path.join(config.home, 'logs', 'skiff.log'), mkdir: true, append: true, sync: true });
  return createLogger(config.logLevel, dest);
}
