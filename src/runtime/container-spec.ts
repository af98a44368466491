import type { ContainerCreateOptions } from '../docker/client.js';
import { shellCommand } from '../domain/procfile.js';
import { APPS_NETWORK, LABEL_INSTANCE, appLabels, LABEL_PROCESS, LABEL_RELEASE, containerName } from '../domain/names.js';
import type { ProcessSpec, VolumeMount } from './runtime.js';

/** A container's limits: memory, CPUs, processes. */
export function limits(spec: { memory: number | null; cpus: number | null; pids: number }): Record<string, number> {
  return {
    ...(spec.memory !== null ? { Memory: spec.memory } : {}),
    ...(spec.cpus !== null ? { NanoCpus: Math.round(spec.cpus * 1e9) } : {}),
    PidsLimit: spec.pids,
  };
}

/** The app's named volumes, as the engine mounts them. */
export function volumeMounts(spec: { mounts?: readonly VolumeMount[] }): { Mounts?: { Type: 'volume'; Source: string; Target: string }[] } {
  return spec.mounts?.length ? { Mounts: spec.mounts.map((m) => ({ Type: 'volume', Source: m.volume, Target: m.path })) } : {};
}

/**
 * The environment of a process: the release's config, PORT for web, and
 * the init's setting that sends a stop signal to the command's whole process
 * group (a command the shell runs as a child gets it too).
 */
export function processEnv(spec: { env: Record<string, string>; port?: number | null }): Record<string, string> {
  return { ...spec.env, ...(spec.port === null || spec.port === undefined ? {} : { PORT: String(spec.port) }), TINI_KILL_PROCESS_GROUP: '1' };
}

/**
 * The dockerode create options for one process instance: a pure value,
 * applied by the docker runtime. A web process gets PORT and publishes it on
 * hostPort at bind; the name carries a suffix so that a restart of the same
 * release can run beside the instance it replaces.
 */
export function containerSpec(spec: ProcessSpec, bind: string, hostPort: number | null, suffix: string): ContainerCreateOptions {
  const env = processEnv(spec);
  const portKey = spec.port === null ? undefined : `${spec.port}/tcp`;
  return {
    name: `${containerName(spec.app, spec.process, spec.index, spec.release)}-${suffix}`,
    Image: spec.image,
    ...(spec.command === null ? {} : { Cmd: shellCommand(spec.command) }),
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    Labels: {
      ...appLabels(spec.app, spec.appId),
      [LABEL_RELEASE]: String(spec.release),
      [LABEL_PROCESS]: spec.process,
      [LABEL_INSTANCE]: String(spec.index),
    },
    ...(portKey ? { ExposedPorts: { [portKey]: {} } } : {}),
    HostConfig: {
      ...(portKey && hostPort !== null ? { PortBindings: { [portKey]: [{ HostIp: bind, HostPort: String(hostPort) }] } } : {}),
      RestartPolicy: { Name: 'unless-stopped' },
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
      Init: true,
      // The apps' network, where no container reaches another.
      NetworkMode: APPS_NETWORK,
      ...volumeMounts(spec),
      ...limits(spec),
    },
  };
}

/** A container a caller's io is attached to (run, services:connect): its stdin open once, all three streams attached. */
export const ATTACHED = { OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true, AttachStderr: true } as const;
