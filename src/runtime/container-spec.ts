import type { ContainerCreateOptions } from 'dockerode';
import { LABEL_APP, LABEL_PROCESS, LABEL_RELEASE, containerName } from '../domain/names.js';
import type { ProcessSpec } from './runtime.js';

/** The dockerode create options for one process instance: a pure value, applied by the docker runtime. */
export function containerSpec(spec: ProcessSpec, bind: string, hostPort: number): ContainerCreateOptions {
  const portKey = `${spec.port}/tcp`;
  return {
    name: containerName(spec.app, spec.process, spec.release),
    Image: spec.image,
    Env: Object.entries({ ...spec.env, PORT: String(spec.port) }).map(([k, v]) => `${k}=${v}`),
    Labels: {
      [LABEL_APP]: spec.app,
      [LABEL_RELEASE]: String(spec.release),
      [LABEL_PROCESS]: spec.process,
    },
    ExposedPorts: { [portKey]: {} },
    HostConfig: {
      PortBindings: { [portKey]: [{ HostIp: bind, HostPort: String(hostPort) }] },
      RestartPolicy: { Name: 'unless-stopped' },
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
      Init: true,
    },
  };
}
