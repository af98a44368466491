import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { DockerfileBuilder } from './builder/dockerfile-builder.js';
import { Images } from './builder/images.js';
import { BuiltinStackBuilder } from './builder/stack-builder.js';
import { StackImageBuilder } from './builder/stack-image-builder.js';
import { StackImages } from './builder/stack-image.js';
import { Registry } from './registry/registry.js';
import type { Caller, Services } from './operations/operation.js';
import { loadConfig, type Config } from './config.js';
import { assertDockerAnswers, createDocker } from './docker/client.js';
import { userMessage } from './errors.js';
import { Repos } from './git/repos.js';
import { createLogger, type Logger } from './log.js';
import { longestHoldSeconds } from './pipeline/hold.js';
import { appUrl, applyRoutes, currentRoutes } from './pipeline/route.js';
import { caddyConfig, type CaddyOptions } from './router/caddy-config.js';
import { CaddyRouter } from './router/caddy-router.js';
import { certificateAskUrl, serveCertificateAsk } from './router/certificate-ask.js';
import { DockerRuntime } from './runtime/docker-runtime.js';
import { Runtimes, parseRuntimeName } from './runtime/runtimes.js';
import { SwarmRuntime } from './runtime/swarm-runtime.js';
import { SystemdRuntime, systemdIsInit } from './runtime/systemd-runtime.js';
import { Volumes } from './runtime/volumes.js';
import { openStore } from './store/sqlite-store.js';
import { SecretBox } from './store/secret-box.js';

const VERSION: string = JSON.parse(
  fs.readFileSync(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8'),
).version;

/*
 * Each door loads only what it uses: a push starts a fresh process for its
 * hook, and every module it loads is time the pusher waits.
 */

/** The composition root: the only place that knows the concrete classes. */
function compose(config: Config, log: Logger): Services {
  const docker = createDocker();
  const stackImages = new StackImages(docker, log);
  const store = openStore(config.dbPath, SecretBox.load(config.secretKeyPath));
  const registry = config.registry && new Registry(docker, config.registry);
  const containers = new DockerRuntime(docker, { stopTimeoutSeconds: config.stopTimeoutSeconds }, log);
  const swarm = new SwarmRuntime(
    docker,
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
  const systemd = systemdIsInit() ? new SystemdRuntime(docker, { unitDir: config.systemdDir, envDir: path.join(config.home, 'units'), stopTimeoutSeconds: config.stopTimeoutSeconds }, log) : undefined;
  const runtime = new Runtimes({ docker: containers, swarm, systemd }, (app) => parseRuntimeName(store.apps.find(app)?.runtime ?? config.runtime));
  return {
    config,
    log,
    version: VERSION,
    store,
    repos: new Repos(config.reposDir, config.home),
    images: new Images(docker),
    stackImages,
    registry,
    runtime,
    volumes: new Volumes(docker),
    router: new CaddyRouter(config.caddyAdmin, routerServe(config), config.caddyDir, config.ownCaddy, { slots: config.maxHolds, seconds: longestHoldSeconds(config) }),
    // In the order they are asked: the app's stackfile stack, its own Dockerfile, then the built-in stacks.
    builders: [
      new StackImageBuilder(docker, stackImages),
      new DockerfileBuilder(docker),
      new BuiltinStackBuilder(docker, { images: config.stackImages, caFile: config.buildCaFile }),
    ],
  };
}

/** Where the router serves apps: plain HTTP on SKIFF_ROUTER_PORT, and HTTPS on SKIFF_ROUTER_TLS_PORT when SKIFF_ACME_EMAIL is set. */
function routerServe(config: Config): Omit<CaddyOptions, 'admin'> {
  const listen = `${config.bind}:${config.routerPort}`;
  // The git door listens on SKIFF_BIND; Caddy reaches it on loopback when that is every address.
  const door = `${config.bind === '0.0.0.0' ? '127.0.0.1' : config.bind === '::' ? '[::1]' : config.bind}:${config.httpPort}`;
  const git = config.gitHost ? { git: { host: config.gitHost, upstream: door } } : {};
  if (!config.tls) return { listen, ...git };
  const { port, ...acme } = config.tls;
  return { listen, ...git, tls: { listen: `${config.bind}:${port}`, email: acme.email, ca: acme.ca, ...(acme.caRoot ? { caRoot: acme.caRoot } : {}), ask: certificateAskUrl(config.caddyDir) } };
}

/** Hooks and host commands log to a file: their stderr belongs to the user. */
function fileLogger(config: Config): Logger {
  const dest = pino.destination({ dest: path.join(config.home, 'logs', 'skiff.log'), mkdir: true, append: true, sync: true });
  return createLogger(config.logLevel, dest);
}

async function runServer(config: Config): Promise<void> {
  const [{ reconcile }, { CronScheduler }, { createSshServer }, { ensureHostKey }, { createGitHttpServer }] = await Promise.all([
    import('./pipeline/reconcile.js'),
    import('./pipeline/cron.js'),
    import('./ssh/server.js'),
    import('./ssh/host-key.js'),
    import('./http/git-http.js'),
  ]);
  const log = createLogger(config.logLevel);
  const services = compose(config, log);
  await assertDockerAnswers(createDocker());
  services.repos.sweep();
  // The router's config names the URL that answers its certificate asks: answered before the router is up.
  if (config.tls) await watchCertificates(services);
  await superviseRouter(services);
  await reconcile(services);
  const scheduler = new CronScheduler(services);
  await scheduler.start();
  expireReviewAppsNowAndThen(services);
  resumePausesWhenDue(services);
  const server = createSshServer({ services, hostKey: ensureHostKey(config.hostKeyPath) });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.sshPort, config.bind, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.sshPort;
  log.info({ bind: config.bind, port, home: config.home }, 'listening');
  if (config.httpPort !== 0) {
    const gitHttp = createGitHttpServer(services);
    await new Promise<void>((resolve, reject) => {
      gitHttp.once('error', reject);
      gitHttp.listen(config.httpPort, config.bind, () => resolve());
    });
    log.info({ bind: config.bind, port: config.httpPort }, 'git over http listening');
  }
  const http = config.httpPort !== 0 ? `, git over HTTP on ${config.httpPort}` : '';
  if (!services.store.keys.list().some((k) => k.admin)) {
    process.stdout.write(`-----> No admin yet: add the first admin's SSH key on this host with\n       skiff keys:add NAME --admin < ~/.ssh/id_ed25519.pub   (from the checkout: node bin/skiff.js keys:add …)\n`);
  }
  process.stdout.write(
    `-----> Skiff ${VERSION} listening for SSH on ${config.bind}:${port}${http}, apps at ${appUrl(services, 'APP')} (home ${config.home})\n`,
  );
  const stop = (signal: string): void => {
    log.info({ signal }, 'stopping');
    server.close();
    scheduler.stop();
    services.store.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/**
 * Runs a server chore every `ms` (and once now, when asked), never two at
 * once; a failure is logged as `failed`, and the next round tries again.
 */
function everyNow(services: Services, ms: number, failed: string, chore: () => Promise<void>, options: { now?: boolean } = {}): void {
  let running = false;
  const round = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      await chore();
    } catch (err) {
      services.log.error({ err }, failed);
    } finally {
      running = false;
    }
  };
  if (options.now) void round();
  setInterval(() => void round(), ms).unref();
}

/**
 * Automatic certificates: the server answers the router's asks and begins
 * the attempts due, and failures to get one reach the app's events and
 * webhooks, checked every few seconds.
 */
async function watchCertificates(services: Services): Promise<void> {
  const { IssuanceWatch, CertificateDemand } = await import('./operations/certs.js');
  const watch = new IssuanceWatch(services);
  everyNow(services, 3000, 'could not check the router for failed certificates', async () => void (await watch.check()));
  if (!services.config.tls || !services.config.ownCaddy) return;
  const demand = new CertificateDemand(services);
  await serveCertificateAsk(services.config.caddyDir, (host) => demand.ask(host));
  everyNow(services, 3000, 'could not begin the certificates due', async () => demand.request(), { now: true });
}

/** A pause ends at its --max, whoever is there to resume it. */
function resumePausesWhenDue(services: Services): void {
  everyNow(services, 250, 'could not resume the pauses that reached their end', async () => {
    const { resumeDuePauses } = await import('./operations/pause.js');
    for (const app of await resumeDuePauses(services)) services.log.info({ app }, 'pause reached its end; resumed');
  });
}

/** Review apps idle past SKIFF_REVIEW_APPS_TTL_DAYS go: checked at start, then a quarter of the TTL apart (at most hourly). */
function expireReviewAppsNowAndThen(services: Services): void {
  const every = Math.min(3_600_000, Math.max(1000, (services.config.reviewAppsTtlDays * 86_400_000) / 4));
  everyNow(
    services,
    every,
    'review app expiry failed',
    async () => {
      const { expireReviewApps } = await import('./operations/apps.js');
      await expireReviewApps(services);
    },
    { now: true },
  );
}

/**
 * The router: Skiff's own Caddy (started, or adopted when one from an earlier
 * run still answers) unless SKIFF_CADDY_ADMIN names another. A watchdog
 * restarts ours if it dies, and reloads the whole routing from the database
 * into whichever Caddy comes back empty.
 */
async function superviseRouter(services: Services): Promise<void> {
  const { CaddyProcess } = await import('./router/caddy-process.js');
  const { config, log } = services;
  const caddy = new CaddyProcess({
    dir: config.caddyDir,
    admin: config.caddyAdmin,
    log,
    config: () => caddyConfig(currentRoutes(services), { admin: config.caddyAdmin, ...routerServe(config) }),
  });
  caddy.ensureMigrateReq();
  if (config.ownCaddy) await caddy.ensure();
  let checking = false;
  const check = async (): Promise<void> => {
    if (checking) return;
    checking = true;
    try {
      if (config.ownCaddy) await caddy.ensure();
      if (!(await services.router.isConfigured())) {
        log.warn('router came back without routes; reloading them');
        await applyRoutes(services);
      }
    } catch (err) {
      log.error({ err }, 'router check failed');
    } finally {
      checking = false;
    }
  };
  setInterval(() => void check(), 2000).unref();
}

/** Run by git inside a push: the deploy. Its output is the pusher's `remote:` lines. */
async function runPreReceiveHook(config: Config): Promise<number> {
  const [{ receivePush }, { PushRejected }, { Progress }] = await Promise.all([
    import('./operations/receive.js'),
    import('./pipeline/push.js'),
    import('./output/progress.js'),
  ]);
  const services = compose(config, fileLogger(config));
  const controller = new AbortController();
  const abort = (): void => {
    controller.abort();
    // Cleanup gets a bounded time; then the process goes regardless.
    setTimeout(() => process.exit(1), 60_000).unref();
  };
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, abort);
  const progress = new Progress([process.stdout], abort);
  const refLines = fs.readFileSync(0, 'utf8');
  const repoDir = process.cwd();
  if (process.env.SKIFF_APP_CREATED === '1') progress.step(`Created app ${path.basename(repoDir, '.git')}`);
  try {
    const source = process.env.SKIFF_SOURCE || 'host';
    await receivePush(services, { refLines, repoDir, pusher: process.env.SKIFF_USER || 'admin (host)', source }, progress, controller.signal);
    return 0;
  } catch (err) {
    if (err instanceof PushRejected) return 1;
    if (!(err instanceof Error && err.name === 'SkiffError')) services.log.error({ err }, 'pre-receive failed');
    progress.warn(`Push rejected: ${userMessage(err)}`);
    return 1;
  } finally {
    services.store.close();
  }
}

async function runHostCommand(config: Config, words: string[]): Promise<number> {
  const { dispatch } = await import('./commands/dispatch.js');
  const services = compose(config, fileLogger(config));
  const caller: Caller = { user: 'admin (host)', admin: true, via: 'host' };
  const controller = new AbortController();
  process.on('SIGINT', () => controller.abort());
  try {
    return await dispatch(words, {
      caller,
      services,
      io: {
        stdin: process.stdin,
        stdout: process.stdout,
        stderr: process.stderr,
        signal: controller.signal,
        tty: process.stdin.isTTY && process.stdout.isTTY ? { rows: process.stdout.rows, cols: process.stdout.columns } : undefined,
        onResize: (listener) => process.stdout.on('resize', () => listener({ rows: process.stdout.rows, cols: process.stdout.columns })),
      },
    });
  } finally {
    services.store.close();
    // A command that read stdin (keys:add, run) must not keep the process waiting on it.
    process.stdin.destroy();
  }
}

async function main(argv: string[]): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    process.stderr.write(` !     ${(err as Error).message}\n`);
    process.exitCode = 1;
    return;
  }
  // State holds keys and build logs: only its owner may read it.
  fs.mkdirSync(config.home, { recursive: true, mode: 0o700 });
  if (argv[0] === 'server') {
    if (argv.length > 1) {
      process.stderr.write(' !     usage: skiff server (settings come from the environment; skiff --help lists them)\n');
      process.exitCode = 1;
      return;
    }
    return runServer(config);
  }
  if (argv[0] === 'hook' && argv[1] === 'pre-receive') {
    process.exitCode = await runPreReceiveHook(config);
    return;
  }
  process.exitCode = await runHostCommand(config, argv);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(` !     ${userMessage(err)}\n`);
  if (!(err instanceof Error && err.name === 'SkiffError')) console.error(err);
  process.exitCode = 1;
  process.exit(1);
});
