import path from 'node:path';
import { Images } from '../../src/builder/images.js';
import { DockerfileBuilder } from '../../src/builder/dockerfile-builder.js';
import { StackImages } from '../../src/builder/stack-image.js';
import { CaddyRouter } from '../../src/router/caddy-router.js';
import type { Services } from '../../src/commands/command.js';
import { loadConfig } from '../../src/config.js';
import { createDocker } from '../../src/docker/client.js';
import { Repos } from '../../src/git/repos.js';
import { silentLogger } from '../../src/log.js';
import { DockerRuntime } from '../../src/runtime/docker-runtime.js';
import { Runtimes } from '../../src/runtime/runtimes.js';
import { Volumes } from '../../src/runtime/volumes.js';
import { openStore } from '../../src/store/sqlite-store.js';
import { SecretBox } from '../../src/store/secret-box.js';
import { tempDir } from './skiff.js';

/** The real services on a fresh temporary SKIFF_HOME, for in-process tests. */
export function realServices(home: string = tempDir('svc')): Services {
  const config = loadConfig({ SKIFF_HOME: home, SKIFF_BIND: '127.0.0.1', SKIFF_STOP_TIMEOUT: '1' });
  const docker = createDocker();
  return {
    config,
    log: silentLogger,
    version: '0.0.0-test',
    store: openStore(path.join(home, 'skiff.db'), SecretBox.load(config.secretKeyPath)),
    repos: new Repos(config.reposDir, home),
    images: new Images(docker),
    stackImages: new StackImages(docker, silentLogger),
    registry: undefined,
    runtime: new Runtimes({ docker: new DockerRuntime(docker, { stopTimeoutSeconds: 1 }, silentLogger) }, () => 'docker'),
    router: new CaddyRouter(config.caddyAdmin, { listen: `127.0.0.1:${config.routerPort}` }, config.caddyDir),
    volumes: new Volumes(docker),
    builders: [new DockerfileBuilder(docker)],
  };
}
