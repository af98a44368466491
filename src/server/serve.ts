import type { Config } from '../config.js';
import { createEngine } from '../docker/engine.js';
import { createLogger } from '../log.js';
import { appUrl } from '../pipeline/route.js';
import { backUpWhenDue, expireReviewAppsNowAndThen, resumePausesWhenDue, superviseRouter, watchCertificates } from './chores.js';
import { VERSION, compose } from './compose.js';
import { giveMemoryBackWhenQuiet } from './memory.js';

/** `skiff server`: the router, start-up reconcile, the cron scheduler and the chores, then the SSH and HTTP doors. */
export async function runServer(config: Config): Promise<void> {
  const [{ reconcile }, { startServices }, { CronScheduler }, { createSshServer }, { ensureHostKey }, { createGitHttpServer }, { listenForPushes }] =
    await Promise.all([
      import('./reconcile.js'),
      import('../operations/backing-services.js'),
      import('./scheduler.js'),
      import('../ssh/server.js'),
      import('../ssh/host-key.js'),
      import('../http/git-http.js'),
      import('./push-socket.js'),
    ]);
  const log = createLogger(config.logLevel);
  const services = compose(config, log);
  await createEngine().assertAnswers();
  services.repos.sweep();
  // The router's config names the URL that answers its certificate asks: answered before the router is up.
  if (config.tls) await watchCertificates(services);
  await superviseRouter(services);
  // Services first: the apps' containers join their networks.
  await startServices(services);
  await reconcile(services);
  // From here the hooks hand their pushes to this server (until then, each runs its own).
  const pushes = await listenForPushes(services);
  const scheduler = new CronScheduler(services);
  await scheduler.start();
  expireReviewAppsNowAndThen(services);
  resumePausesWhenDue(services);
  backUpWhenDue(services);
  giveMemoryBackWhenQuiet(log);
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
    process.stdout.write(
      `-----> No admin yet: add the first admin's SSH key on this host with\n       skiff keys:add NAME --admin < ~/.ssh/id_ed25519.pub   (from the checkout: node bin/skiff.js keys:add …)\n`,
    );
  }
  process.stdout.write(
    `-----> Skiff ${VERSION} listening for SSH on ${config.bind}:${port}${http}, apps at ${appUrl(services, 'APP')} (home ${config.home})\n`,
  );
  const stop = (signal: string): void => {
    log.info({ signal }, 'stopping');
    server.close();
    scheduler.stop();
    // Pushes under way are aborted (their previous releases keep serving) and get a while to clean up.
    void pushes.close(30_000).finally(() => {
      services.store.close();
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
