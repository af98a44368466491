import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The waits of the pipeline and its operations (a handover's drain, a
 * hold's release, a health check's interval, a destroy's wait for scheduled
 * runs): real ones in the server, instant ones in the unit tests, so that a
 * test of what happens after a wait does not spend it.
 */
export interface Clock {
  /** Resolves after ms, or at once when signal is aborted (then without error). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  sleep: (ms, signal) => sleep(ms, undefined, { signal }).catch(() => undefined),
};
