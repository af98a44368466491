import path from 'node:path';

/** The variables git sets that point at a push's quarantined objects (the hook client loads this: node's own modules only). */
export const QUARANTINE_VARIABLES = ['GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES', 'GIT_QUARANTINE_PATH'] as const;

/**
 * git's quarantine variables as a hook passed them, checked: only those,
 * each pointing inside the repo, since they are handed to git as they are.
 */
export function quarantineEnv(passed: Record<string, unknown>, repoDir: string): Record<string, string> {
  const gitEnv: Record<string, string> = {};
  for (const [name, value] of Object.entries(passed)) {
    if (!(QUARANTINE_VARIABLES as readonly string[]).includes(name) || typeof value !== 'string')
      throw new Error(`the hook passed ${name}, which is no quarantine variable`);
    for (const dir of value.split(':'))
      if (!path.resolve(repoDir, dir).startsWith(`${repoDir}${path.sep}`)) throw new Error(`the hook's ${name} points outside its repository`);
    gitEnv[name] = value;
  }
  return gitEnv;
}
