import net from 'node:net';
import path from 'node:path';
import os from 'node:os';

/** One setting: read from the environment, with a default that `skiff --help` shows. */
export interface SettingSpec {
  env: string;
  default: string;
  summary: string;
}

export const SETTINGS: readonly SettingSpec[] = [
  { env: 'SKIFF_HOME', default: '/var/lib/skiff', summary: 'state: database, repos, keys, build logs, Caddy (~/.skiff when not root)' },
  { env: 'SKIFF_SSH_PORT', default: '2222', summary: 'port of the SSH server (git push and commands)' },
  { env: 'SKIFF_BIND', default: '0.0.0.0', summary: 'address the SSH server, git over HTTP and the router listen on' },
  { env: 'SKIFF_DOMAIN', default: 'localhost', summary: 'apps answer at APP.SKIFF_DOMAIN; also the host in git remotes' },
  { env: 'SKIFF_HTTP_PORT', default: '8022', summary: 'port for git over HTTP(S) with a token (put TLS in front); 0 turns it off' },
  { env: 'SKIFF_ROUTER_PORT', default: '80', summary: 'port the router (Caddy) serves apps on, at http://APP.SKIFF_DOMAIN' },
  {
    env: 'SKIFF_ACME_EMAIL',
    default: '',
    summary: 'your email for the ACME account; set, every app host is served over HTTPS with automatic certificates, and HTTP redirects to it',
  },
  {
    env: 'SKIFF_ACME_CA',
    default: 'https://acme-v02.api.letsencrypt.org/directory',
    summary: "the ACME CA's directory URL (Let's Encrypt's production one by default)",
  },
  { env: 'SKIFF_ACME_CA_ROOT', default: '', summary: "a PEM file of the root the ACME CA's own HTTPS is signed by, when it is a private CA" },
  { env: 'SKIFF_ROUTER_TLS_PORT', default: '443', summary: 'port the router serves apps over HTTPS on, with SKIFF_ACME_EMAIL set' },
  {
    env: 'SKIFF_GIT_HOST',
    default: '',
    summary: 'a host name the router serves git over HTTP on too (https://HOST/APP.git with HTTPS on), in front of SKIFF_HTTP_PORT',
  },
  {
    env: 'SKIFF_CADDY_ADMIN',
    default: '',
    summary: 'admin API of an existing Caddy (host:port or unix//path), where Skiff sets only its own server; empty: Skiff runs its own',
  },
  { env: 'SKIFF_DRAIN_SECONDS', default: '10', summary: 'seconds old web instances keep finishing requests after a switch' },
  { env: 'SKIFF_APP_PORT', default: '5000', summary: 'PORT given to web processes' },
  { env: 'SKIFF_READY_TIMEOUT', default: '60', summary: 'seconds each new web instance has to answer HTTP' },
  { env: 'SKIFF_STOP_TIMEOUT', default: '10', summary: 'seconds an old container has to stop before it is killed' },
  { env: 'SKIFF_BUILD_TIMEOUT', default: '1200', summary: 'seconds a build may take (its image build, or a stack build image) before the push is refused' },
  { env: 'SKIFF_VERIFY_TIMEOUT', default: '600', summary: "seconds skiff.yml's verify command, or a stack's verify image, may take" },
  { env: 'SKIFF_RELEASE_TIMEOUT', default: '1800', summary: "seconds the Procfile's release command may take before it is killed and the release refused" },
  {
    env: 'SKIFF_HOLD_SECONDS',
    default: '30',
    summary: 'seconds a single-writer handover may hold requests while the old instance stops and the new one starts; past it the old one starts again',
  },
  { env: 'SKIFF_CRON_TIMEOUT', default: '3600', summary: "seconds a scheduled job's run may take when its cron entry sets no timeout" },
  { env: 'SKIFF_CRON_MAX_RUNNING', default: '3', summary: 'runs of scheduled jobs one app may have at once (concurrency: allow stops there)' },
  { env: 'SKIFF_CRON_SECONDS', default: '0', summary: 'whether cron schedules may have a seconds field (six fields) — for tests; 1 or 0' },
  { env: 'SKIFF_REVIEW_APPS_TTL_DAYS', default: '7', summary: 'days a review app may go without a push before the server destroys it (fractions allowed)' },
  { env: 'SKIFF_DEFAULT_MEMORY', default: '1024', summary: 'MiB of memory each app container gets unless resources:set says otherwise' },
  { env: 'SKIFF_PIDS_LIMIT', default: '1024', summary: 'processes each app container may have at once' },
  { env: 'SKIFF_BUILD_MEMORY', default: '2048', summary: 'MiB of memory each step of a build (a RUN, a stack build) may use' },
  { env: 'SKIFF_BUILD_CPUS', default: '1', summary: 'CPUs each step of a build may use' },
  {
    env: 'SKIFF_MAX_APPS_PER_USER',
    default: '50',
    summary: 'apps a user who is not an admin may create (review apps count toward their parent, not here); 0: no limit',
  },
  { env: 'SKIFF_MAX_DOMAINS_PER_APP', default: '20', summary: 'custom domains one app may have; 0: no limit' },
  {
    env: 'SKIFF_MAX_HOLDS',
    default: '32',
    summary:
      'requests of how many apps the router may hold at once (pauses, single-writer handovers), all in one process; pauses may take all but 8 (from 9 to 1024)',
  },
  { env: 'SKIFF_MAX_HOLDS_PER_USER', default: '3', summary: 'paused apps (ps:pause) a user who is not an admin may have at once; 0: no limit' },
  { env: 'SKIFF_MAX_CONNECTIONS_PER_USER', default: '10', summary: 'SSH connections one user may have open at once; 0: no limit' },
  {
    env: 'SKIFF_MAX_CERTS_PER_HOUR',
    default: '20',
    summary:
      "custom domains one owner's apps may be given in an hour with HTTPS on (each starts a certificate order on the server's one ACME account); 0: no limit",
  },
  {
    env: 'SKIFF_DOMAIN_VERIFY',
    default: '0',
    summary: "whether a custom domain must prove it is the app's: a DNS TXT record _skiff-challenge.HOST that domains:add names (1 or 0)",
  },
  { env: 'SKIFF_DNS_SERVER', default: '', summary: 'host:port of the DNS server domain verification asks; empty: the system resolvers' },
  { env: 'SKIFF_MAX_PUSH_SIZE', default: '1024', summary: 'MiB a single push may send' },
  { env: 'SKIFF_KEEP_RELEASES', default: '10', summary: 'release images kept for rollback (older ones are pruned)' },
  { env: 'SKIFF_USERS_CAN_CREATE', default: '1', summary: 'whether users who are not admins may create apps (1 or 0)' },
  { env: 'SKIFF_STACK_NODE_IMAGE', default: 'node:20-bookworm-slim', summary: 'base image of the built-in node stack' },
  { env: 'SKIFF_STACK_PYTHON_IMAGE', default: 'python:3.12-slim-bookworm', summary: 'base image of the built-in python stack' },
  { env: 'SKIFF_STACK_STATIC_IMAGE', default: 'busybox:1.36', summary: 'base image of the built-in static stack' },
  {
    env: 'SKIFF_SERVICE_POSTGRES_IMAGE',
    default: 'postgres:16-bookworm',
    summary: 'image of postgres services (services:create postgres); --version V takes its repository with tag V',
  },
  {
    env: 'SKIFF_SERVICE_REDIS_IMAGE',
    default: 'redis:7-bookworm',
    summary: 'image of redis services (services:create redis); --version V takes its repository with tag V',
  },
  { env: 'SKIFF_MAX_SERVICES_PER_USER', default: '10', summary: 'services (databases) a user who is not an admin may create; 0: no limit' },
  { env: 'SKIFF_BUILD_CA_FILE', default: '', summary: 'a CA bundle that builds trust for package installs (behind an intercepting proxy)' },
  {
    env: 'SKIFF_REGISTRY',
    default: '',
    summary: 'registry and path release images are pushed to and pulled from, e.g. registry.internal:5000/team; empty: images stay on this host',
  },
  { env: 'SKIFF_REGISTRY_USER', default: '', summary: "user for the registry's basic auth" },
  { env: 'SKIFF_REGISTRY_PASSWORD', default: '', summary: 'password for the registry' },
  {
    env: 'SKIFF_RUNTIME',
    default: 'docker',
    summary: 'how apps run: docker (containers), systemd (a unit per instance) or swarm (a service per process type); apps:set APP runtime NAME overrides it',
  },
  { env: 'SKIFF_SYSTEMD_DIR', default: '/etc/systemd/system', summary: 'where the systemd runtime writes its units' },
  { env: 'SKIFF_SWARM_NETWORK', default: 'skiff', summary: "the swarm gateway's attachable overlay network; each app's services get SKIFF_SWARM_NETWORK-APP" },
  { env: 'SKIFF_SWARM_GATEWAY_PORT', default: '8091', summary: "loopback port of the swarm runtime's gateway, through which the router reaches tasks" },
  { env: 'SKIFF_SWARM_GATEWAY_IMAGE', default: 'debian:bookworm-slim', summary: "image the swarm gateway runs this host's caddy in (any glibc image)" },
  {
    env: 'SKIFF_HOOKS_ALLOW',
    default: '',
    summary: 'CIDR ranges webhooks may reach although they are loopback, private or link-local (comma-separated, e.g. 10.1.0.0/16)',
  },
  { env: 'SKIFF_LOG_LEVEL', default: 'info', summary: 'server log level (pino: debug, info, warn, error)' },
];

export interface Config {
  home: string;
  sshPort: number;
  bind: string;
  domain: string;
  appPort: number;
  routerPort: number;
  httpPort: number;
  /** The host name the router serves the git door on (SKIFF_GIT_HOST), else none. */
  gitHost: string | undefined;
  /** HTTPS with automatic certificates (SKIFF_ACME_EMAIL set), else none. */
  tls: { port: number; email: string; ca: string; caRoot: string | undefined } | undefined;
  /** Caddy's admin API; when Skiff runs its own, a socket in SKIFF_HOME. */
  caddyAdmin: string;
  ownCaddy: boolean;
  caddyDir: string;
  drainSeconds: number;
  readyTimeoutMs: number;
  stopTimeoutSeconds: number;
  keepReleases: number;
  buildTimeoutMs: number;
  verifyTimeoutMs: number;
  releaseTimeoutMs: number;
  holdSeconds: number;
  /** Holds the router may have at once: the slots of its holds' process. */
  maxHolds: number;
  cron: { timeoutSeconds: number; maxRunning: number; seconds: boolean };
  reviewAppsTtlDays: number;
  /** Bytes of memory an app container gets when its process type has no limit of its own. */
  defaultMemory: number;
  pidsLimit: number;
  /** Bounds of every step of a build (memory in bytes); processes: pidsLimit. */
  build: { memoryBytes: number; cpus: number };
  /** Per-tenant quotas; 0 is no limit. */
  quotas: { appsPerUser: number; domainsPerApp: number; holdsPerUser: number; connectionsPerUser: number; certsPerHour: number; servicesPerUser: number };
  /** Custom domains need a TXT record that proves them (SKIFF_DOMAIN_VERIFY); asked of dnsServer, else the system's resolvers. */
  domainVerify: { required: boolean; dnsServer: string | undefined };
  /** Bytes one push may send (git's receive.maxInputSize). */
  maxPushBytes: number;
  usersCanCreate: boolean;
  /** Loopback, private and link-local ranges webhooks may reach anyway (SKIFF_HOOKS_ALLOW). */
  hooksAllow: CidrRange[];
  stackImages: { node: string; python: string; static: string };
  /** Images of services (services:create), by kind. */
  serviceImages: { postgres: string; redis: string };
  buildCaFile: string | undefined;
  /** Where release images go: host[:port]/path, with credentials when the registry wants them. */
  registry: { prefix: string; username: string | undefined; password: string | undefined } | undefined;
  runtime: string;
  systemdDir: string;
  swarm: { network: string; gatewayPort: number; gatewayImage: string };
  logLevel: string;
  /** Derived paths under home. */
  dbPath: string;
  reposDir: string;
  buildsDir: string;
  hostKeyPath: string;
  /** Encrypts config values in the database. */
  secretKeyPath: string;
}

function intSetting(env: NodeJS.ProcessEnv, name: string, fallback: string, min: number, max: number): number {
  const raw = env[name] ?? fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${name} must be a whole number from ${min} to ${max}, not '${raw}'`);
  }
  return n;
}

/** A number that may have a fraction (a test makes days into seconds). */
function numberSetting(env: NodeJS.ProcessEnv, name: string, min: number, max: number): number {
  const raw = env[name] || defaultOf(name);
  const n = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || n < min || n > max) throw new Error(`${name} must be a number from ${min} to ${max}, not '${raw}'`);
  return n;
}

function oneOf(env: NodeJS.ProcessEnv, name: string, choices: readonly string[]): string {
  const value = env[name] || defaultOf(name);
  if (!choices.includes(value)) throw new Error(`${name} must be one of ${choices.join(', ')}, not '${value}'`);
  return value;
}

/** SKIFF_GIT_HOST: a plain host name, and a git door to put behind it. */
function gitHostSetting(env: NodeJS.ProcessEnv): string | undefined {
  const host = (env.SKIFF_GIT_HOST ?? '').toLowerCase();
  if (!host) return undefined;
  if (!/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/.test(host))
    throw new Error(`SKIFF_GIT_HOST must be a host name, not '${host}'`);
  if ((env.SKIFF_HTTP_PORT ?? defaultOf('SKIFF_HTTP_PORT')) === '0') throw new Error('SKIFF_GIT_HOST needs the git door: SKIFF_HTTP_PORT may not be 0');
  return host;
}

/** SKIFF_ACME_EMAIL turns HTTPS on; it needs Skiff's own Caddy, whose TLS settings are Skiff's to make. */
function tlsSetting(env: NodeJS.ProcessEnv): Config['tls'] {
  const email = env.SKIFF_ACME_EMAIL ?? '';
  if (!email) return undefined;
  if (!/^[^\s@'"{}]+@[^\s@'"{}]+\.[^\s@'"{}]+$/.test(email)) throw new Error(`SKIFF_ACME_EMAIL must be an email address, not '${email}'`);
  if (env.SKIFF_CADDY_ADMIN)
    throw new Error("SKIFF_ACME_EMAIL needs Skiff's own Caddy: with SKIFF_CADDY_ADMIN, your Caddy's own automatic HTTPS serves Skiff's hosts");
  const ca = env.SKIFF_ACME_CA || defaultOf('SKIFF_ACME_CA');
  if (!/^https:\/\/[^\s{}]+$/.test(ca)) throw new Error(`SKIFF_ACME_CA must be an https:// URL, not '${ca}'`);
  const port = intSetting(env, 'SKIFF_ROUTER_TLS_PORT', defaultOf('SKIFF_ROUTER_TLS_PORT'), 1, 65535);
  const routerPort = Number(env.SKIFF_ROUTER_PORT || defaultOf('SKIFF_ROUTER_PORT'));
  if (port === routerPort) throw new Error('SKIFF_ROUTER_TLS_PORT must differ from SKIFF_ROUTER_PORT, which redirects to it');
  return { port, email, ca, caRoot: env.SKIFF_ACME_CA_ROOT ? path.resolve(env.SKIFF_ACME_CA_ROOT) : undefined };
}

function defaultOf(name: string): string {
  const spec = SETTINGS.find((s) => s.env === name);
  if (!spec) throw new Error(`no setting ${name}`);
  return spec.default;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const home = path.resolve(env.SKIFF_HOME || defaultHome());
  // The home is written into git hooks inside single quotes.
  if (/['\n\0]/.test(home)) throw new Error(`SKIFF_HOME must not contain quotes or newlines: ${JSON.stringify(home)}`);
  return {
    home,
    sshPort: intSetting(env, 'SKIFF_SSH_PORT', defaultOf('SKIFF_SSH_PORT'), 0, 65535),
    bind: env.SKIFF_BIND || defaultOf('SKIFF_BIND'),
    domain: env.SKIFF_DOMAIN || defaultOf('SKIFF_DOMAIN'),
    appPort: intSetting(env, 'SKIFF_APP_PORT', defaultOf('SKIFF_APP_PORT'), 1, 65535),
    httpPort: intSetting(env, 'SKIFF_HTTP_PORT', defaultOf('SKIFF_HTTP_PORT'), 0, 65535),
    routerPort: intSetting(env, 'SKIFF_ROUTER_PORT', defaultOf('SKIFF_ROUTER_PORT'), 1, 65535),
    tls: tlsSetting(env),
    gitHost: gitHostSetting(env),
    caddyAdmin: env.SKIFF_CADDY_ADMIN || `unix/${path.join(home, 'caddy', 'admin.sock')}`,
    ownCaddy: !env.SKIFF_CADDY_ADMIN,
    caddyDir: path.join(home, 'caddy'),
    drainSeconds: intSetting(env, 'SKIFF_DRAIN_SECONDS', defaultOf('SKIFF_DRAIN_SECONDS'), 0, 3600),
    readyTimeoutMs: intSetting(env, 'SKIFF_READY_TIMEOUT', defaultOf('SKIFF_READY_TIMEOUT'), 1, 3600) * 1000,
    stopTimeoutSeconds: intSetting(env, 'SKIFF_STOP_TIMEOUT', defaultOf('SKIFF_STOP_TIMEOUT'), 0, 600),
    keepReleases: intSetting(env, 'SKIFF_KEEP_RELEASES', defaultOf('SKIFF_KEEP_RELEASES'), 1, 1000),
    buildTimeoutMs: intSetting(env, 'SKIFF_BUILD_TIMEOUT', defaultOf('SKIFF_BUILD_TIMEOUT'), 1, 86_400) * 1000,
    verifyTimeoutMs: intSetting(env, 'SKIFF_VERIFY_TIMEOUT', defaultOf('SKIFF_VERIFY_TIMEOUT'), 1, 86_400) * 1000,
    releaseTimeoutMs: intSetting(env, 'SKIFF_RELEASE_TIMEOUT', defaultOf('SKIFF_RELEASE_TIMEOUT'), 1, 86_400) * 1000,
    holdSeconds: intSetting(env, 'SKIFF_HOLD_SECONDS', defaultOf('SKIFF_HOLD_SECONDS'), 1, 3600),
    maxHolds: intSetting(env, 'SKIFF_MAX_HOLDS', defaultOf('SKIFF_MAX_HOLDS'), 9, 1024),
    cron: {
      timeoutSeconds: intSetting(env, 'SKIFF_CRON_TIMEOUT', defaultOf('SKIFF_CRON_TIMEOUT'), 1, 86_400),
      maxRunning: intSetting(env, 'SKIFF_CRON_MAX_RUNNING', defaultOf('SKIFF_CRON_MAX_RUNNING'), 1, 100),
      seconds: (env.SKIFF_CRON_SECONDS ?? defaultOf('SKIFF_CRON_SECONDS')) === '1',
    },
    reviewAppsTtlDays: numberSetting(env, 'SKIFF_REVIEW_APPS_TTL_DAYS', 0.00001, 3650),
    defaultMemory: intSetting(env, 'SKIFF_DEFAULT_MEMORY', defaultOf('SKIFF_DEFAULT_MEMORY'), 6, 1024 * 1024) * 1024 * 1024,
    pidsLimit: intSetting(env, 'SKIFF_PIDS_LIMIT', defaultOf('SKIFF_PIDS_LIMIT'), 16, 1_000_000),
    build: {
      memoryBytes: intSetting(env, 'SKIFF_BUILD_MEMORY', defaultOf('SKIFF_BUILD_MEMORY'), 64, 1024 * 1024) * 1024 * 1024,
      cpus: numberSetting(env, 'SKIFF_BUILD_CPUS', 0.1, 1024),
    },
    quotas: {
      appsPerUser: intSetting(env, 'SKIFF_MAX_APPS_PER_USER', defaultOf('SKIFF_MAX_APPS_PER_USER'), 0, 1_000_000),
      domainsPerApp: intSetting(env, 'SKIFF_MAX_DOMAINS_PER_APP', defaultOf('SKIFF_MAX_DOMAINS_PER_APP'), 0, 1_000_000),
      holdsPerUser: intSetting(env, 'SKIFF_MAX_HOLDS_PER_USER', defaultOf('SKIFF_MAX_HOLDS_PER_USER'), 0, 1_000_000),
      connectionsPerUser: intSetting(env, 'SKIFF_MAX_CONNECTIONS_PER_USER', defaultOf('SKIFF_MAX_CONNECTIONS_PER_USER'), 0, 1_000_000),
      certsPerHour: intSetting(env, 'SKIFF_MAX_CERTS_PER_HOUR', defaultOf('SKIFF_MAX_CERTS_PER_HOUR'), 0, 1_000_000),
      servicesPerUser: intSetting(env, 'SKIFF_MAX_SERVICES_PER_USER', defaultOf('SKIFF_MAX_SERVICES_PER_USER'), 0, 1_000_000),
    },
    domainVerify: { required: oneOf(env, 'SKIFF_DOMAIN_VERIFY', ['0', '1']) === '1', dnsServer: env.SKIFF_DNS_SERVER || undefined },
    maxPushBytes: intSetting(env, 'SKIFF_MAX_PUSH_SIZE', defaultOf('SKIFF_MAX_PUSH_SIZE'), 1, 1024 * 1024) * 1024 * 1024,
    stackImages: {
      node: env.SKIFF_STACK_NODE_IMAGE || defaultOf('SKIFF_STACK_NODE_IMAGE'),
      python: env.SKIFF_STACK_PYTHON_IMAGE || defaultOf('SKIFF_STACK_PYTHON_IMAGE'),
      static: env.SKIFF_STACK_STATIC_IMAGE || defaultOf('SKIFF_STACK_STATIC_IMAGE'),
    },
    serviceImages: {
      postgres: env.SKIFF_SERVICE_POSTGRES_IMAGE || defaultOf('SKIFF_SERVICE_POSTGRES_IMAGE'),
      redis: env.SKIFF_SERVICE_REDIS_IMAGE || defaultOf('SKIFF_SERVICE_REDIS_IMAGE'),
    },
    buildCaFile: env.SKIFF_BUILD_CA_FILE || undefined,
    registry: registrySetting(env),
    runtime: oneOf(env, 'SKIFF_RUNTIME', ['docker', 'systemd', 'swarm']),
    systemdDir: env.SKIFF_SYSTEMD_DIR || defaultOf('SKIFF_SYSTEMD_DIR'),
    swarm: {
      network: env.SKIFF_SWARM_NETWORK || defaultOf('SKIFF_SWARM_NETWORK'),
      gatewayPort: intSetting(env, 'SKIFF_SWARM_GATEWAY_PORT', defaultOf('SKIFF_SWARM_GATEWAY_PORT'), 1, 65535),
      gatewayImage: env.SKIFF_SWARM_GATEWAY_IMAGE || defaultOf('SKIFF_SWARM_GATEWAY_IMAGE'),
    },
    hooksAllow: parseCidrList(env.SKIFF_HOOKS_ALLOW ?? '', 'SKIFF_HOOKS_ALLOW'),
    usersCanCreate: (env.SKIFF_USERS_CAN_CREATE ?? defaultOf('SKIFF_USERS_CAN_CREATE')) !== '0',
    logLevel: env.SKIFF_LOG_LEVEL || defaultOf('SKIFF_LOG_LEVEL'),
    dbPath: path.join(home, 'skiff.db'),
    reposDir: path.join(home, 'repos'),
    buildsDir: path.join(home, 'builds'),
    hostKeyPath: path.join(home, 'ssh_host_ed25519_key'),
    secretKeyPath: path.join(home, 'secret.key'),
  };
}

/** Root keeps state in /var/lib/skiff; anyone else in their home, so a developer's checkout just works. */
function defaultHome(): string {
  return process.getuid?.() === 0 ? defaultOf('SKIFF_HOME') : path.join(os.homedir(), '.skiff');
}

function registrySetting(env: NodeJS.ProcessEnv): Config['registry'] {
  const prefix = (env.SKIFF_REGISTRY || '').replace(/\/+$/, '');
  if (!prefix) return undefined;
  // A registry host, then an optional path: lower-case, as image names must be.
  if (!/^[a-z0-9.-]+(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/.test(prefix)) {
    throw new Error(`SKIFF_REGISTRY must be a registry host with an optional path, like registry.internal:5000/team, not '${prefix}'`);
  }
  return { prefix, username: env.SKIFF_REGISTRY_USER || undefined, password: env.SKIFF_REGISTRY_PASSWORD || undefined };
}

export interface CidrRange {
  address: string;
  prefix: number;
  type: 'ipv4' | 'ipv6';
}

/** CIDR ranges separated by commas: a.b.c.d/n or x::/n (a bare address is a range of one). */
export function parseCidrList(text: string, setting: string): CidrRange[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((item) => {
      const [address, bits] = item.split('/');
      const type = net.isIPv4(address) ? 'ipv4' : net.isIPv6(address) ? 'ipv6' : undefined;
      const max = type === 'ipv4' ? 32 : 128;
      const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
      if (!type || !(prefix >= 0 && prefix <= max)) throw new Error(`${setting} takes CIDR ranges separated by commas, like 10.1.0.0/16, not '${item}'`);
      return { address, prefix, type };
    });
}
