import { LABEL_PROCESS, LABEL_RELEASE, appLabels } from '../domain/names.js';
import { processEnv, volumeMounts } from './container-spec.js';
import { shellCommand } from '../domain/procfile.js';
import type { FormationSpec } from './runtime.js';

export function serviceName(app: string, process: string): string {
  return `skiff-${app}-${process}`;
}

/**
 * The check a web task must pass before swarm counts it as started (and,
 * start-first, stops an old one): an HTTP GET on its PORT, with curl, wget or
 * busybox, whichever the image has (an image with none of them is not
 * checked). With a healthcheck path the answer must be 2xx; otherwise any
 * HTTP answer will do.
 */
export function webHealthcheck(path: string | null | undefined, startPeriodSeconds: number): Record<string, unknown> {
  const strict = path ? '1' : '';
  const script = [
    `u="http://127.0.0.1:$PORT${path ?? '/'}"; strict="${strict}"`,
    'if command -v curl >/dev/null 2>&1; then curl -s -o /dev/null ${strict:+-f} "$u"; exit $?; fi',
    'if command -v wget >/dev/null 2>&1; then w="wget"; elif command -v busybox >/dev/null 2>&1; then w="busybox wget"; else exit 0; fi',
    'o=$($w -q -O /dev/null "$u" 2>&1) && exit 0',
    '[ -z "$strict" ] && echo "$o" | grep -q "server returned error" && exit 0',
    'exit 1',
  ].join('\n');
  return {
    Test: ['CMD-SHELL', script],
    Interval: 1e9,
    Timeout: 2e9,
    Retries: 3,
    StartPeriod: startPeriodSeconds * 1e9,
  };
}

export interface ServiceOptions {
  network: string;
  /** Bumped to replace tasks whose spec did not change (a restart). */
  forceUpdate: number;
  /** Seconds swarm watches new tasks for a failure before an update counts as done. */
  monitorSeconds: number;
  stopGraceSeconds: number;
  readyTimeoutSeconds: number;
}

/**
 * The swarm service for one process type of a release: a pure value.
 * Replicas are the formation's count; updates start all new tasks first
 * (parallelism 0: one round, not one per replica), stop the old ones once the
 * new are healthy, and roll back by themselves when they fail; tasks are reached by DNS round robin on
 * the overlay network (dnsrr: no virtual IP).
 */
export function serviceSpec(f: FormationSpec, options: ServiceOptions): Record<string, unknown> {
  const env = processEnv(f);
  const labels = { ...appLabels(f.app, f.appId), [LABEL_PROCESS]: f.process, [LABEL_RELEASE]: String(f.release) };
  const update = { Parallelism: 0, Delay: 0, FailureAction: 'rollback', Monitor: options.monitorSeconds * 1e9, MaxFailureRatio: 0, Order: 'start-first' };
  return {
    Name: serviceName(f.app, f.process),
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: f.image,
        ...(f.command === null ? {} : { Command: shellCommand(f.command) }),
        Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
        Labels: labels,
        Init: true,
        ...volumeMounts(f),
        StopGracePeriod: options.stopGraceSeconds * 1e9,
        ...(f.port !== null ? { Healthcheck: webHealthcheck(f.healthcheck, options.readyTimeoutSeconds) } : {}),
      },
      Resources: {
        Limits: {
          ...(f.memory !== null ? { MemoryBytes: f.memory } : {}),
          ...(f.cpus !== null ? { NanoCPUs: Math.round(f.cpus * 1e9) } : {}),
          Pids: f.pids,
        },
      },
      RestartPolicy: { Condition: 'any', Delay: 1e9, MaxAttempts: 0 },
      ...(f.node ? { Placement: { Constraints: [`node.hostname==${f.node}`] } } : {}),
      Networks: [{ Target: options.network }],
      ForceUpdate: options.forceUpdate,
    },
    Mode: { Replicated: { Replicas: f.quantity } },
    UpdateConfig: update,
    RollbackConfig: { ...update, FailureAction: 'pause' },
    EndpointSpec: { Mode: 'dnsrr' },
  };
}
