import type { Processes } from './procfile.js';

/** What is recorded for one process type of an app; null quantity means "the default". */
export interface FormationEntry {
  process: string;
  quantity: number | null;
  memory: number | null;
  cpus: number | null;
}

/** One process type as it should run. */
export interface ProcessPlan {
  process: string;
  command: string | null;
  quantity: number;
  memory: number | null;
  cpus: number | null;
}

/** Heroku's defaults: one web instance, none of any other type until scaled. */
export function defaultQuantity(process: string): number {
  return process === 'web' ? 1 : 0;
}

/** The Procfile's release phase: a command run once per release, never a process that keeps running. */
export const RELEASE_PHASE = 'release';

/** The process types a release runs, each with its recorded (or default) scale and limits. */
export function planFormation(processes: Processes, entries: readonly FormationEntry[]): ProcessPlan[] {
  return Object.entries(processes)
    .filter(([process]) => process !== RELEASE_PHASE)
    .map(([process, command]) => {
      const e = entries.find((x) => x.process === process);
      return {
        process,
        command,
        quantity: e?.quantity ?? defaultQuantity(process),
        memory: e?.memory ?? null,
        cpus: e?.cpus ?? null,
      };
    })
    .sort((a, b) => (a.process === 'web' ? -1 : b.process === 'web' ? 1 : a.process.localeCompare(b.process)));
}
