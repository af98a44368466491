import { stringify } from 'yaml';
import { databaseName, SERVICE_PORTS, type ServiceKind } from './backing-service.js';

/** What a compose file for local work is made of: an app's current release, and its linked services. */
export interface ComposeInput {
  app: string;
  version: number;
  /** The release image by its content (sha256:… or a registry digest). */
  image: string;
  /** Process types that run (the formation's, with a count above 0), with their Procfile command (null: the image's CMD). */
  processes: { process: string; command: string | null }[];
  /** The release phase's command, run once as a one-shot service. */
  releaseCommand: string | null;
  port: number;
  /** Config keys with their values (null: taken from the environment docker-compose runs in). */
  config: Record<string, string | null>;
  /** The app's volumes and where they are mounted. */
  mounts: { name: string; path: string }[];
  links: { service: string; kind: ServiceKind; image: string; variable: string; seed: { backup: number } | null }[];
}

const DATA_PATHS: Record<ServiceKind, string> = { postgres: '/var/lib/postgresql/data', redis: '/data' };

/** The password of the local copies: they hold a copy for local work, and never the service's own password. */
export const LOCAL_PASSWORD = 'local';

/** The file a seeded service reads its backup from, beside the compose file. */
export function seedFile(service: string): string {
  return `${service}.dump`;
}

/** The linked var as the local copy answers it. */
function localUrl(link: ComposeInput['links'][number]): string {
  const port = SERVICE_PORTS[link.kind];
  return link.kind === 'postgres'
    ? `postgres://postgres:${LOCAL_PASSWORD}@${link.service}:${port}/${databaseName({ name: link.service })}`
    : `redis://:${LOCAL_PASSWORD}@${link.service}:${port}`;
}

/**
 * A docker-compose.yaml that runs the app's current release image with its
 * process types, port, volumes and config keys, beside local copies of its
 * linked services (same images and versions, a local password) and, for a
 * seeded one, a one-shot service that loads a backup downloaded beside the
 * file. A pure value: the yaml library quotes whatever the names hold.
 */
export function composeFile(input: ComposeInput): string {
  const names = new Set(input.processes.map((p) => p.process));
  for (const link of input.links) {
    if (names.has(link.service) || names.has(`${link.service}-seed`))
      throw new Error(`the service ${link.service} has the name of a process type of ${input.app}`);
  }
  // docker-compose reads $NAME in values as its own variables: a value's $ is written $$.
  const environment: Record<string, string | null> = Object.fromEntries(
    Object.entries(input.config).map(([k, v]) => [k, v === null ? null : v.replace(/\$/g, '$$$$')]),
  );
  for (const link of input.links) environment[link.variable] = localUrl(link);
  const dependsOn = input.links.map((l) => l.service);
  const volumes: Record<string, Record<string, never>> = {};
  const appVolumes = input.mounts.map((m) => {
    volumes[m.name] = {};
    return `${m.name}:${m.path}`;
  });
  const services: Record<string, unknown> = {};
  const appService = (command: string | null, extra: Record<string, unknown>): Record<string, unknown> => ({
    image: input.image,
    ...(command === null ? {} : { command: ['sh', '-c', command] }),
    environment,
    ...(appVolumes.length ? { volumes: appVolumes } : {}),
    ...(dependsOn.length ? { depends_on: dependsOn } : {}),
    ...extra,
  });
  for (const { process, command } of input.processes) {
    services[process] = appService(
      command,
      process === 'web'
        ? {
            environment: { ...environment, PORT: String(input.port) },
            ports: [`127.0.0.1:\${WEB_PORT:-${input.port}}:${input.port}`],
            // Until the databases answer, and the release command has run.
            restart: 'on-failure',
          }
        : { restart: 'on-failure' },
    );
  }
  if (input.releaseCommand !== null) services.release = appService(input.releaseCommand, { restart: 'on-failure' });
  for (const link of input.links) {
    const data = `${link.service}-data`;
    volumes[data] = {};
    services[link.service] = {
      image: link.image,
      ...(link.kind === 'postgres'
        ? { environment: { POSTGRES_PASSWORD: LOCAL_PASSWORD, POSTGRES_DB: databaseName({ name: link.service }) } }
        : { command: ['redis-server', '--requirepass', LOCAL_PASSWORD] }),
      volumes: [`${data}:${DATA_PATHS[link.kind]}`],
    };
    if (link.seed && link.kind === 'postgres') {
      services[`${link.service}-seed`] = {
        image: link.image,
        entrypoint: [
          'sh',
          '-c',
          `until pg_isready -q -h ${link.service} -U postgres; do sleep 1; done; pg_restore --no-owner --clean --if-exists -h ${link.service} -U postgres -d ${databaseName({ name: link.service })} /seed.dump`,
        ],
        environment: { PGPASSWORD: LOCAL_PASSWORD },
        volumes: [`./${seedFile(link.service)}:/seed.dump:ro`],
        depends_on: [link.service],
        restart: 'on-failure',
      };
    }
  }
  const header = [
    `# ${input.app} v${input.version} from Skiff, for local work: docker-compose up`,
    ...(Object.values(input.config).some((v) => v === null)
      ? ['# Config values are left out: docker-compose takes them from its environment (apps:compose --with-values puts them in).']
      : []),
    ...input.links.flatMap((l) =>
      l.seed
        ? [
            `# ${l.service} is seeded from its backup ${l.seed.backup}: first run  ssh … services:backups:download ${l.service} ${l.seed.backup} > ${seedFile(l.service)}`,
          ]
        : [],
    ),
  ];
  return `${header.join('\n')}\n${stringify({ version: '3.8', services, ...(Object.keys(volumes).length ? { volumes } : {}) })}`;
}
