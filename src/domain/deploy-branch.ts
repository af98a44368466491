/** Pushes to these branches deploy; any other branch is stored only. */
export const DEPLOY_BRANCHES: readonly string[] = ['refs/heads/main', 'refs/heads/master'];

export const ZERO_SHA = '0000000000000000000000000000000000000000';

export interface RefUpdate {
  oldSha: string;
  newSha: string;
  ref: string;
}

/** Parse the lines git gives a pre-receive hook on stdin: `<old> <new> <ref>`. */
export function parseRefUpdates(input: string): RefUpdate[] {
  return input
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const [oldSha, newSha, ref] = line.split(' ');
      if (!oldSha || !newSha || !ref || !/^[0-9a-f]{40}$/.test(oldSha) || !/^[0-9a-f]{40}$/.test(newSha)) {
        throw new Error(`unexpected pre-receive line: ${line}`);
      }
      return { oldSha, newSha, ref };
    });
}

/** The update that deploys: a non-deleting push to a deploy branch (main wins over master). */
export function findDeployUpdate(updates: readonly RefUpdate[]): RefUpdate | undefined {
  for (const branch of DEPLOY_BRANCHES) {
    const update = updates.find((u) => u.ref === branch && u.newSha !== ZERO_SHA);
    if (update) return update;
  }
  return undefined;
}
