import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log.js';
import type { DeployOptions, FormationSpec, Instance, ProcessSpec, Rollout, StartOptions } from './runtime.js';

/** What a runtime that starts instances one by one on this host gives the shared rollout. */
export interface InstanceHost {
  status(app: string): Promise<Instance[]>;
  /** Starts one instance and returns once it is ready, or removes it and throws. */
  start(spec: ProcessSpec, options: StartOptions): Promise<Instance>;
  stop(instances: readonly Instance[]): Promise<void>;
  /**
   * Stops instances and resolves once none of their processes runs, which
   * may be before the host has removed them: `removed()` waits for that.
   */
  vacate(instances: readonly Instance[]): Promise<{ removed: () => Promise<void> }>;
}

/**
 * The rollout of the docker and systemd runtimes: each wanted instance
 * starts (one at a time: each picks its own free port, and a failure stops
 * the rest), the new ones are checked, and then the caller switches; the
 * instances they replace stop at retire, after a drain. Instances of the same
 * release that are not being replaced are kept as they run.
 */
export async function rollInstances(
  host: InstanceHost,
  app: string,
  formation: readonly FormationSpec[],
  options: DeployOptions,
  log: Logger,
): Promise<Rollout> {
  const current = await host.status(app);
  const replacing = (process: string): boolean => options.replace === 'all' || options.replace.includes(process);
  const keep: Instance[] = [];
  const wanted: ProcessSpec[] = [];
  for (const f of formation) {
    const { quantity, ...spec } = f;
    for (let index = 1; index <= quantity; index++) {
      const existing = replacing(f.process)
        ? undefined
        : current.find((i) => i.release === f.release && i.process === f.process && i.index === index && i.state === 'running');
      if (existing) keep.push(existing);
      else wanted.push({ ...spec, index });
    }
  }

  const started: Instance[] = [];
  // A handover's replaced instances, whose removal goes on while the new ones start.
  let removed = (): Promise<void> => Promise.resolve();
  const abort = async (): Promise<void> => {
    await host.stop(started).catch((err: unknown) => log.error({ err, app }, 'could not remove new instances'));
    await removed().catch((err: unknown) => log.error({ err, app }, 'could not remove the replaced instances'));
  };
  const retiring = current.filter((i) => !keep.some((k) => k.id === i.id));
  const handover = options.handover;
  try {
    if (wanted.length) await options.ensureImage(wanted[0].image);
    if (handover) {
      // Never two at once: what is replaced goes first; the caller holds its traffic meanwhile.
      options.progress.info(`Stopping ${retiring.map((i) => `${i.process}.${i.index}`).join(', ') || 'nothing'} first (single-writer storage)`);
      ({ removed } = await options.progress.time('stop old', () => host.vacate(retiring)));
      await handover.beforeStart?.(options.signal);
      const web = wanted.find((s) => s.process === 'web' && s.index === 1);
      if (web) web.hostPort = handover.port;
    }
    for (const spec of wanted) {
      const instance = await host.start(spec, options);
      options.progress.info(`${spec.process}.${spec.index} ${spec.process === 'web' ? 'answers HTTP' : 'is up'}`);
      started.push(instance);
    }
    await options.check?.(started);
  } catch (err) {
    await abort();
    throw err;
  }
  const instances = [...keep, ...started];
  return {
    instances,
    started,
    retiring,
    upstreams: instances.filter((i) => i.process === 'web' && i.hostPort !== undefined).map((i) => `127.0.0.1:${i.hostPort}`),
    async retire() {
      if (handover) return removed();
      // Requests already on their way to a retiring web instance get time to finish.
      if (retiring.some((i) => i.process === 'web' && i.state === 'running') && options.drainSeconds > 0) await sleep(options.drainSeconds * 1000);
      await host.stop(retiring);
    },
    abort,
  };
}
