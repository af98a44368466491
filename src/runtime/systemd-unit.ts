import fs from 'node:fs';
import { processEnv } from './container-spec.js';
import { shellCommand } from '../domain/procfile.js';
import { fileURLToPath } from 'node:url';
import { APPS_NETWORK, LABEL_INSTANCE, appLabels, LABEL_PROCESS, LABEL_RELEASE, LABEL_RUNTIME } from '../domain/names.js';
import { InvalidError } from '../errors.js';
import type { ProcessSpec } from './runtime.js';

/** The unit template in the repo's systemd/ folder. */
export const UNIT_TEMPLATE = fileURLToPath(new URL('../../systemd/app-instance.service', import.meta.url));

export interface UnitOptions {
  /** The container's name, also the unit's: skiff-APP-web.1-vN-xxxx. */
  name: string;
  /** Where a web instance is published on loopback; null for other types. */
  hostPort: number | null;
  envFile: string;
  docker: string;
  stopTimeoutSeconds: number;
}

/**
 * The `docker run` a unit runs, as an argument list: the same container the
 * docker runtime creates (name, labels, env, port on loopback, limits, init,
 * log rotation), but in the foreground and removed on exit, because systemd
 * restarts it.
 */
export function dockerRunArgs(spec: ProcessSpec, options: UnitOptions): string[] {
  const args = ['run', '--rm', '--name', options.name, '--init', '--env-file', options.envFile];
  const labels: Record<string, string> = {
    ...appLabels(spec.app, spec.appId),
    [LABEL_RELEASE]: String(spec.release),
    [LABEL_PROCESS]: spec.process,
    [LABEL_INSTANCE]: String(spec.index),
    [LABEL_RUNTIME]: 'systemd',
  };
  for (const [k, v] of Object.entries(labels)) args.push('--label', `${k}=${v}`);
  if (spec.port !== null && options.hostPort !== null) args.push('--publish', `127.0.0.1:${options.hostPort}:${spec.port}`);
  args.push('--network', APPS_NETWORK);
  // Names and paths are checked plain (domain/storage.ts): nothing in them adds a mount option.
  for (const m of spec.mounts ?? []) args.push('--mount', `type=volume,source=${m.volume},target=${m.path}`);
  if (spec.memory !== null) args.push('--memory', String(spec.memory));
  if (spec.cpus !== null) args.push('--cpus', String(spec.cpus));
  args.push('--pids-limit', String(spec.pids));
  args.push('--log-driver', 'json-file', '--log-opt', 'max-size=10m', '--log-opt', 'max-file=3');
  args.push(spec.image);
  if (spec.command !== null) args.push(...shellCommand(spec.command));
  return args;
}

/** The env file docker reads: KEY=VALUE lines, PORT added for a web process. Docker's format has no way to write a newline in a value. */
export function envFileText(spec: ProcessSpec): string {
  return Object.entries(processEnv(spec))
    .map(([k, v]) => {
      if (/[\r\n]/.test(v))
        throw new InvalidError(
          `config var ${k} has a newline, which the systemd runtime cannot pass (docker's env files are one line per var); use the docker runtime for ${spec.app}`,
        );
      return `${k}=${v}\n`;
    })
    .join('');
}

/** One word of a systemd command line: quoted when needed; $ and % are escaped so systemd takes them literally. */
export function systemdWord(word: string): string {
  const escaped = word.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(escaped) && escaped !== '') return escaped;
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * How the unit starts its container: `docker run` in the foreground; with
 * linked services' networks (the engine takes one network at creation),
 * `docker create`, a `docker network connect` for each, then `docker start
 * -a`, so that the process starts with every network there.
 */
function execLines(spec: ProcessSpec, options: UnitOptions): { EXEC_START: string; JOIN_NETWORKS: string } {
  const line = (args: string[]): string => [options.docker, ...args].map(systemdWord).join(' ');
  const run = dockerRunArgs(spec, options);
  const networks = spec.networks ?? [];
  if (networks.length === 0) return { EXEC_START: line(run), JOIN_NETWORKS: '' };
  return {
    JOIN_NETWORKS: [line(['create', ...run.slice(1)]), ...networks.map((n) => line(['network', 'connect', n, options.name]))]
      .map((l) => `ExecStartPre=${l}`)
      .join('\n'),
    EXEC_START: line(['start', '-a', options.name]),
  };
}

/** The unit for one instance, from the template. */
export function renderUnit(spec: ProcessSpec, options: UnitOptions, template: string = fs.readFileSync(UNIT_TEMPLATE, 'utf8')): string {
  const values: Record<string, string> = {
    APP: spec.app,
    PROCESS: spec.process,
    INDEX: String(spec.index),
    RELEASE: String(spec.release),
    NAME: options.name,
    DOCKER: options.docker,
    STOP_TIMEOUT: String(options.stopTimeoutSeconds),
    STOP_TIMEOUT_SEC: String(options.stopTimeoutSeconds + 5),
    ...execLines(spec, options),
  };
  return template.replace(/@([A-Z_]+)@/g, (whole, key: string) => values[key] ?? whole);
}
