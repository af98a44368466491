import { InvalidError } from '../errors.js';
import { APP_NAME_PATTERN, printable } from './app-name.js';
import { CONFIG_KEY_PATTERN } from './config-vars.js';

/*
 * A backing service (services:*): a database an app links to. Called a
 * backing service in the code (twelve-factor's word) so that it is never
 * confused with the `services` an operation is given.
 */

export const SERVICE_KINDS = ['postgres', 'redis'] as const;
export type ServiceKind = (typeof SERVICE_KINDS)[number];

export interface BackingService {
  /** Fixed at creation; what owns its container, network, volume and backups (a name can be taken again once destroyed). */
  id: string;
  name: string;
  kind: ServiceKind;
  /** The image's tag: the version the service runs. */
  version: string;
  image: string;
  owner: string;
  createdAt: string;
  /** services:backups:schedule: when backups are taken (cron, UTC), how many of them are kept, since when. */
  schedule: BackupSchedule | null;
}

export interface BackupSchedule {
  cron: string;
  keep: number;
  since: string;
}

/** Scheduled backups a service may keep. */
export const MAX_KEEP = 100;

/** A link: the service's URL is the app's config var `variable`. */
export interface ServiceLink {
  service: string;
  serviceId: string;
  app: string;
  variable: string;
  linkedBy: string;
  createdAt: string;
}

export const LABEL_SERVICE = 'skiff.service';
export const LABEL_SERVICE_ID = 'skiff.service-id';

export function parseServiceKind(input: string | undefined): ServiceKind {
  const kind = SERVICE_KINDS.find((k) => k === input);
  if (!kind) throw new InvalidError(`'${printable(input ?? '')}' is not a kind of service: use ${SERVICE_KINDS.join(' or ')}`);
  return kind;
}

export function parseServiceName(input: string | undefined): string {
  if (input === undefined || !APP_NAME_PATTERN.test(input))
    throw new InvalidError(`'${printable(input ?? '')}' is not a service name (1 to 30 lower-case letters, digits and dashes, starting with a letter)`);
  return input;
}

/** An image tag: it names the version, and goes into an image reference. */
export function parseServiceVersion(input: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(input))
    throw new InvalidError(`'${printable(input)}' is not a version (an image tag: letters, digits, dots, dashes, underscores)`);
  return input;
}

/** The image of a kind at a version: the setting's repository with the version as its tag. */
export function serviceImage(setting: string, version: string | undefined): { image: string; version: string } {
  const slash = setting.lastIndexOf('/');
  const colon = setting.lastIndexOf(':');
  const [repo, tag] = colon > slash ? [setting.slice(0, colon), setting.slice(colon + 1)] : [setting, 'latest'];
  const v = version === undefined ? tag : parseServiceVersion(version);
  return { image: `${repo}:${v}`, version: v };
}

/** The container's, the network's and the volume's name (also the host name linked apps reach it at): name and identity, so no later service of the name meets them. */
export function serviceResourceName(service: Pick<BackingService, 'name' | 'id'>): string {
  return `skiff-service-${service.name}-${service.id}`;
}

/** The one database of a postgres service: its name, as SQL allows it unquoted. */
export function databaseName(service: Pick<BackingService, 'name'>): string {
  return service.name.replace(/-/g, '_');
}

export const SERVICE_PORTS: Record<ServiceKind, number> = { postgres: 5432, redis: 6379 };

/** What a linked app is given: the URL with the password, the host being the service's name on its network. */
export function serviceUrl(service: Pick<BackingService, 'name' | 'id' | 'kind'>, password: string): string {
  const host = serviceResourceName(service);
  const port = SERVICE_PORTS[service.kind];
  return service.kind === 'postgres' ? `postgres://postgres:${password}@${host}:${port}/${databaseName(service)}` : `redis://:${password}@${host}:${port}`;
}

/** Whether a config value is a service's URL as a link gives it (a release made while a link lasted has one). */
export function isServiceUrl(value: string): boolean {
  return /^(postgres|redis):\/\/[^@/]*@skiff-service-[a-z][a-z0-9-]*-[0-9a-f]{16}:\d+(\/|$)/.test(value);
}

/** The URL with its password hidden, for listings. */
export function maskedUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]*:)[^@]*@/, '$1****@');
}

/**
 * The config var a link sets: --as VAR, else DATABASE_URL (postgres) or
 * REDIS_URL, else (the app has that one from another link) KIND_NAME_URL.
 */
export function linkVariable(service: Pick<BackingService, 'name' | 'kind'>, taken: readonly string[], as: string | undefined): string {
  if (as !== undefined) {
    if (!CONFIG_KEY_PATTERN.test(as)) throw new InvalidError(`invalid config var name '${printable(as)}': use letters, digits and underscores`);
    return as;
  }
  const plain = service.kind === 'postgres' ? 'DATABASE_URL' : 'REDIS_URL';
  if (!taken.includes(plain)) return plain;
  return `${service.kind.toUpperCase()}_${service.name.toUpperCase().replace(/-/g, '_')}_URL`;
}

export type BackupStatus = 'running' | 'good' | 'bad';

/** A backup of a service: good only once it was restored into a scratch copy and checked. */
export interface Backup {
  id: number;
  serviceId: string;
  service: string;
  status: BackupStatus;
  /** What took it: services:backup, the schedule, a restore (the state it replaced), a release phase. */
  trigger: string;
  startedAt: string;
  finishedAt: string | null;
  /** Bytes of the sealed file. */
  bytes: number | null;
  /** What the check compared: each table's rows (postgres), or the keys (redis), as the source had them. */
  counts: Record<string, number> | null;
  /** Why it is bad. */
  error: string | null;
}
