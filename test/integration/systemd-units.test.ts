import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { containerSpec } from '../../src/runtime/container-spec.js';
import type { ProcessSpec } from '../../src/runtime/runtime.js';
import { dockerRunArgs, envFileText, renderUnit, systemdWord } from '../../src/runtime/systemd-unit.js';
import { BASE_IMAGE } from '../helpers/base-image.js';
import { ROOT, freePort, tempDir, uniqueApp } from '../helpers/skiff.js';
import { createDocker } from '../../src/docker/client.js';
import { createEngine } from '../../src/docker/engine.js';
import { DockerRuntime } from '../../src/runtime/docker-runtime.js';
import { silentLogger } from '../../src/log.js';

const DOCKER = '/usr/bin/docker';

/** systemd's reading of a command line: words, double quotes with \\ escapes, then $$ and %% as themselves. */
function systemdArgv(line: string): string[] {
  const words: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (const m of line.matchAll(re)) words.push((m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]).replace(/\$\$/g, '$').replace(/%%/g, '%'));
  return words;
}

function execStart(unit: string): string[] {
  const line = unit.split('\n').find((l) => l.startsWith('ExecStart='));
  return systemdArgv(line!.slice('ExecStart='.length));
}

function spec(app: string, overrides: Partial<ProcessSpec> = {}): ProcessSpec {
  return {
    app,
    release: 7,
    process: 'web',
    index: 2,
    image: BASE_IMAGE,
    command: `echo "it's $PORT % 100" && exec busybox httpd -f -p "$PORT" -h /`,
    env: { GREETING: 'hello "world" $HOME #not-a-comment', EMPTY: '', URL: 'postgres://u:p@db/x?a=1&b=2' },
    port: 5000,
    memory: 64 * 1024 * 1024,
    cpus: 0.5,
    pids: 256,
    healthcheck: null,
    ...overrides,
  };
}

describe('systemd units', () => {
  const dir = tempDir('units');
  const app = uniqueApp('unit');
  const containers: string[] = [];

  afterAll(async () => {
    if (containers.length) await execa('docker', ['rm', '-f', ...containers], { reject: false });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes units that systemd-analyze verify accepts, for web and worker instances', async () => {
    for (const s of [
      spec(app),
      spec(app, { process: 'worker', index: 1, port: null, memory: null, cpus: null, command: 'sleep infinity' }),
      spec(app, { command: null }),
    ]) {
      const name = `skiff-${s.app}-${s.process}.${s.index}-v${s.release}-abcd`;
      const envFile = path.join(dir, `${name}.env`);
      fs.writeFileSync(envFile, envFileText(s), { mode: 0o600 });
      const file = path.join(dir, `${name}.service`);
      fs.writeFileSync(file, renderUnit(s, { name, hostPort: s.port === null ? null : 40123, envFile, docker: DOCKER, stopTimeoutSeconds: 10 }));
      const verify = await execa('systemd-analyze', ['verify', '--man=no', file], { reject: false });
      expect(verify.exitCode, verify.stderr).toBe(0);
      expect(verify.stderr).toBe('');
    }
    expect(fs.readFileSync(path.join(dir, `skiff-${app}-web.2-v7-abcd.service`), 'utf8')).toContain('Restart=always');
  });

  it("joins a linked service's network before the process starts: created, connected, then started", async () => {
    const network = `skiff-test-unitnet-${Math.random().toString(36).slice(2, 8)}`;
    await execa('docker', ['network', 'create', '--internal', network]);
    const s = spec(app, { port: null, process: 'worker', index: 1, command: 'sleep infinity', networks: [network] });
    const name = `skiff-${app}-worker.1-v7-net`;
    const envFile = path.join(dir, `${name}.env`);
    fs.writeFileSync(envFile, envFileText(s), { mode: 0o600 });
    const options = { name, hostPort: null, envFile, docker: DOCKER, stopTimeoutSeconds: 10 };
    const unit = renderUnit(s, options);
    const file = path.join(dir, `${name}.service`);
    fs.writeFileSync(file, unit);
    const verify = await execa('systemd-analyze', ['verify', '--man=no', file], { reject: false });
    expect(verify.exitCode, verify.stderr).toBe(0);
    const pre = unit
      .split('\n')
      .filter((l) => l.startsWith('ExecStartPre='))
      .map((l) => systemdArgv(l.slice('ExecStartPre='.length)));
    expect(pre).toEqual([
      ['-' + DOCKER, 'rm', '-f', name],
      [DOCKER, 'create', ...dockerRunArgs(s, options).slice(1)],
      [DOCKER, 'network', 'connect', network, name],
    ]);
    expect(execStart(unit)).toEqual([DOCKER, 'start', '-a', name]);
    // What the unit runs, in its order (the start detached here).
    containers.push(name);
    try {
      await new DockerRuntime(createEngine(), { stopTimeoutSeconds: 1 }, silentLogger).ensureNetwork();
      for (const argv of pre.slice(1)) await execa(argv[0], argv.slice(1));
      await execa(DOCKER, ['start', name]);
      const inspected = JSON.parse((await execa('docker', ['inspect', name])).stdout)[0];
      expect(Object.keys(inspected.NetworkSettings.Networks).sort()).toEqual(['skiff-apps', network].sort());
      expect(inspected.State.Running).toBe(true);
    } finally {
      await execa('docker', ['rm', '-f', name], { reject: false });
      await execa('docker', ['network', 'rm', network], { reject: false });
    }
  });

  it("checks Skiff's own unit too", async () => {
    const verify = await execa('systemd-analyze', ['verify', '--man=no', path.join(ROOT, 'systemd', 'skiff.service')], { reject: false });
    expect(verify.exitCode, verify.stderr).toBe(0);
    const unit = fs.readFileSync(path.join(ROOT, 'systemd', 'skiff.service'), 'utf8');
    expect(unit).toMatch(/^After=.*docker\.service.*caddy\.service/m);
    expect(unit).toContain('NoNewPrivileges=yes');
  });

  it('quotes words the way systemd reads them back', () => {
    for (const word of ['plain', 'two words', 'say "hi"', 'back\\slash', '$PORT and ${X}', '100%', '']) {
      expect(systemdArgv(systemdWord(word))).toEqual([word]);
    }
  });

  it('runs the same container the docker runtime runs: image, command, env, labels, port, limits', async () => {
    const s = spec(app);
    const name = `skiff-${app}-web.2-v7-unit`;
    const envFile = path.join(dir, `${name}.env`);
    fs.writeFileSync(envFile, envFileText(s), { mode: 0o600 });
    const unitPort = await freePort();
    const argv = execStart(renderUnit(s, { name, hostPort: unitPort, envFile, docker: DOCKER, stopTimeoutSeconds: 10 }));
    expect(argv.slice(0, 2)).toEqual([DOCKER, 'run']);
    expect(argv.slice(1)).toEqual(dockerRunArgs(s, { name, hostPort: unitPort, envFile, docker: DOCKER, stopTimeoutSeconds: 10 }));
    // The apps' network, which the runtime makes before a unit starts (shared: it may be there already)…
    await new DockerRuntime(createEngine(), { stopTimeoutSeconds: 1 }, silentLogger).ensureNetwork();
    // …what the unit runs, started detached here (systemd would keep it in the foreground)…
    await execa(argv[0], [argv[1], '-d', ...argv.slice(2)]);
    containers.push(name);
    // …and what the docker runtime creates for the same instance.
    const docker = createDocker();
    const runtimePort = await freePort();
    const created = await docker.createContainer(containerSpec(s, '127.0.0.1', runtimePort, 'rt'));
    containers.push(created.id);

    const [fromUnit, fromRuntime] = await Promise.all([docker.getContainer(name).inspect(), created.inspect()]);
    const essentials = (c: typeof fromUnit) => ({
      image: c.Config.Image,
      cmd: c.Config.Cmd,
      env: [...c.Config.Env].filter((e) => !e.startsWith('PATH=')).sort(),
      labels: c.Config.Labels,
      ports: Object.fromEntries(Object.entries(c.HostConfig.PortBindings ?? {}).map(([k, v]) => [k, (v as { HostIp: string }[]).map((b) => b.HostIp)])),
      memory: c.HostConfig.Memory,
      nanoCpus: c.HostConfig.NanoCpus,
      pids: c.HostConfig.PidsLimit,
      network: c.HostConfig.NetworkMode,
      init: c.HostConfig.Init,
      log: c.HostConfig.LogConfig,
    });
    // The same but for the label that tells whose a container is: a unit's says systemd.
    expect(essentials(fromUnit)).toEqual({ ...essentials(fromRuntime), labels: { ...essentials(fromRuntime).labels, 'skiff.runtime': 'systemd' } });
    expect(essentials(fromUnit).env).toContain('GREETING=hello "world" $HOME #not-a-comment');
    expect(essentials(fromUnit).env).toContain('PORT=5000');
    // Who restarts differs by design: the docker runtime asks the engine, a unit asks systemd (and removes its container on exit).
    expect(fromRuntime.HostConfig.RestartPolicy?.Name).toBe('unless-stopped');
    expect(fromUnit.HostConfig.AutoRemove).toBe(true);
    // And it serves.
    await new Promise((r) => setTimeout(r, 1000));
    const logs = await execa('docker', ['logs', name]);
    expect(logs.stdout).toContain("it's 5000 % 100");
  });

  it('refuses config values docker env files cannot hold, with a way out', () => {
    expect(() => envFileText(spec(app, { env: { CERT: 'line1\nline2' } }))).toThrow(/config var CERT has a newline.*use the docker runtime/);
  });
});
