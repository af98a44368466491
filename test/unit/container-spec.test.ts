import { describe, expect, it } from 'vitest';
import { containerSpec } from '../../src/runtime/container-spec.js';
import { dockerRunArgs } from '../../src/runtime/systemd-unit.js';

describe('containerSpec', () => {
  it('labels, names, publishes and restarts the instance', () => {
    const spec = containerSpec(
      {
        app: 'shop',
        release: 4,
        process: 'web',
        index: 2,
        image: 'skiff/shop:v4',
        command: null,
        env: { A: 'b=c' },
        port: 5000,
        memory: null,
        cpus: null,
        pids: 256,
      },
      '127.0.0.1',
      40001,
      'ab12',
    );
    expect(spec.Cmd).toBeUndefined();
    expect(spec.HostConfig).not.toHaveProperty('Memory');
    expect(spec).toMatchObject({
      name: 'skiff-shop-web.2-v4-ab12',
      Image: 'skiff/shop:v4',
      Labels: { 'skiff.app': 'shop', 'skiff.release': '4', 'skiff.process': 'web', 'skiff.instance': '2' },
      ExposedPorts: { '5000/tcp': {} },
      HostConfig: {
        PortBindings: { '5000/tcp': [{ HostIp: '127.0.0.1', HostPort: '40001' }] },
        RestartPolicy: { Name: 'unless-stopped' },
      },
    });
    // The init sends the stop signal to the command's whole process group.
    expect(spec.Env).toEqual(['A=b=c', 'PORT=5000', 'TINI_KILL_PROCESS_GROUP=1']);
  });

  it("runs a Procfile command with sh -c (exec'd, so the stop signal reaches it), publishes nothing without a port, and applies limits", () => {
    const spec = containerSpec(
      {
        app: 'shop',
        release: 4,
        process: 'worker',
        index: 1,
        image: 'i',
        command: 'node worker.js',
        env: {},
        port: null,
        memory: 512 * 1024 ** 2,
        cpus: 0.5,
        pids: 256,
      },
      '127.0.0.1',
      null,
      'x',
    );
    expect(spec.Cmd).toEqual(['sh', '-c', 'exec node worker.js']);
    expect(spec.Env).toEqual(['TINI_KILL_PROCESS_GROUP=1']);
    expect(spec.ExposedPorts).toBeUndefined();
    expect(spec.HostConfig).toMatchObject({ Memory: 512 * 1024 ** 2, NanoCpus: 500_000_000, PidsLimit: 256 });
    // On the apps' network, where no container reaches another.
    expect(spec.HostConfig?.NetworkMode).toBe('skiff-apps');
    expect(spec.HostConfig?.PortBindings).toBeUndefined();
  });

  it("mounts the app's volumes, in a container and in a systemd unit's docker run alike", () => {
    const process = {
      app: 'shop',
      release: 4,
      process: 'web',
      index: 1,
      image: 'i',
      command: null,
      env: {},
      port: 5000,
      memory: null,
      cpus: null,
      pids: 256,
      mounts: [{ volume: 'skiff-shop_data', path: '/data' }],
    };
    expect(containerSpec(process, '127.0.0.1', 40000, 'x').HostConfig?.Mounts).toEqual([{ Type: 'volume', Source: 'skiff-shop_data', Target: '/data' }]);
    const args = dockerRunArgs(process, { name: 'n', hostPort: 40000, envFile: '/e', docker: 'docker', stopTimeoutSeconds: 1 });
    expect(args.slice(args.indexOf('--mount'), args.indexOf('--mount') + 2)).toEqual(['--mount', 'type=volume,source=skiff-shop_data,target=/data']);
  });
});
