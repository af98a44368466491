import type { ContainerCreateOptions } from '../docker/client.js';
import { LABEL_SERVICE, LABEL_SERVICE_ID, SERVICE_PORTS, databaseName, serviceResourceName, type BackingService } from '../domain/backing-service.js';
import { ATTACHED, limits } from './container-spec.js';

/** Where each kind keeps its data in its container. */
export const DATA_PATHS = { postgres: '/var/lib/postgresql/data', redis: '/data' } as const;

/** Labels of everything a service has in the engine: its name, and its identity, which every check asks for. */
export function serviceLabels(service: Pick<BackingService, 'name' | 'id' | 'kind'>): Record<string, string> {
  return { [LABEL_SERVICE]: service.name, [LABEL_SERVICE_ID]: service.id, 'skiff.service-kind': service.kind };
}

/** The process the kind runs: the image's own for postgres (its entrypoint makes the cluster); redis with its password and snapshots on. */
function kindProcess(service: Pick<BackingService, 'name' | 'kind'>, password: string): Pick<ContainerCreateOptions, 'Env' | 'Cmd'> {
  if (service.kind === 'postgres') return { Env: [`POSTGRES_PASSWORD=${password}`, `POSTGRES_DB=${databaseName(service)}`] };
  return { Cmd: ['redis-server', '--requirepass', password, '--dir', DATA_PATHS.redis, '--save', '60 1', '--appendonly', 'no'] };
}

/**
 * The service's container, a pure value: on its own network (only it and
 * its linked apps' containers), its data in its volume, no port published,
 * limited like an app's instance, restarted by the engine.
 */
export function serviceContainerSpec(
  service: BackingService,
  password: string,
  bounds: { memory: number | null; cpus: number | null; pids: number },
): ContainerCreateOptions {
  const name = serviceResourceName(service);
  return {
    name,
    Hostname: name,
    Image: service.image,
    ...kindProcess(service, password),
    Labels: serviceLabels(service),
    ExposedPorts: { [`${SERVICE_PORTS[service.kind]}/tcp`]: {} },
    HostConfig: {
      NetworkMode: name,
      RestartPolicy: { Name: 'unless-stopped' },
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
      Mounts: [{ Type: 'volume', Source: name, Target: DATA_PATHS[service.kind] }],
      ...limits(bounds),
    },
    NetworkingConfig: { EndpointsConfig: { [name]: { Aliases: [name] } } },
  };
}

/**
 * A scratch copy to check a backup in: the same image, no network at all,
 * a throwaway password; nothing of the service's.
 */
export function scratchContainerSpec(
  service: BackingService,
  password: string,
  bounds: { memory: number | null; cpus: number | null; pids: number },
  suffix: string,
): ContainerCreateOptions {
  return {
    name: `${serviceResourceName(service)}-check-${suffix}`,
    Image: service.image,
    ...(service.kind === 'postgres'
      ? kindProcess(service, password)
      : { Cmd: ['redis-server', '--requirepass', password, '--dir', DATA_PATHS.redis, '--save', '', '--appendonly', 'no'] }),
    Labels: { ...serviceLabels(service), 'skiff.service-check': 'true' },
    HostConfig: {
      NetworkMode: 'none',
      // Postgres makes its cluster at start, in memory; redis reads the file put in its (unmounted) data dir before it starts.
      ...(service.kind === 'postgres' ? { Tmpfs: { [DATA_PATHS.postgres]: 'rw' } } : {}),
      ...limits(bounds),
    },
  };
}

/**
 * A client of the service for a person (services:connect): psql or
 * redis-cli in a throwaway container of the service's image, on the
 * service's network, with the password in its environment, limited.
 */
export function clientContainerSpec(
  service: BackingService,
  password: string,
  bounds: { memory: number | null; cpus: number | null; pids: number },
  tty: boolean,
  suffix: string,
): ContainerCreateOptions {
  const host = serviceResourceName(service);
  return {
    name: `${host}-connect-${suffix}`,
    Image: service.image,
    Entrypoint: [],
    Cmd: service.kind === 'postgres' ? ['psql', '-h', host, '-U', 'postgres', databaseName(service)] : ['redis-cli', '-h', host],
    Env: [service.kind === 'postgres' ? `PGPASSWORD=${password}` : `REDISCLI_AUTH=${password}`],
    Labels: { ...serviceLabels(service), 'skiff.service-connect': 'true' },
    Tty: tty,
    ...ATTACHED,
    HostConfig: { NetworkMode: host, Init: true, ...limits(bounds) },
  };
}
