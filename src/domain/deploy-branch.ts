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

/** What a pushed ref does. */
export type RefAction =
  | { kind: 'deploy'; update: RefUpdate }
  | { kind: 'review'; update: RefUpdate; branch: string }
  | { kind: 'review-delete'; update: RefUpdate; branch: string }
  | { kind: 'tag'; update: RefUpdate; tag: string }
  | { kind: 'store' | 'delete'; update: RefUpdate; name: string };

/**
 * Reads a push's ref updates: main (or else master) deploys the app; with
 * review apps on, another branch deploys (or, deleted, destroys) its review
 * app, and a deleted branch that has one destroys it even with them off; on
 * an app at the production stage of a pipeline, a tag deploys the commit it
 * names; anything else is only stored.
 */
export function planRefs(updates: readonly RefUpdate[], app: { reviewApps: boolean; reviewBranches?: ReadonlySet<string>; production: boolean }): RefAction[] {
  const deployed = findDeployUpdate(updates);
  return updates.map((update): RefAction => {
    if (update === deployed) return { kind: 'deploy', update };
    const deleted = update.newSha === ZERO_SHA;
    if (update.ref.startsWith('refs/heads/')) {
      const branch = update.ref.slice('refs/heads/'.length);
      if (app.reviewApps && branch !== 'main' && branch !== 'master') return { kind: deleted ? 'review-delete' : 'review', update, branch };
      if (deleted && app.reviewBranches?.has(branch)) return { kind: 'review-delete', update, branch };
      return { kind: deleted ? 'delete' : 'store', update, name: branch };
    }
    if (update.ref.startsWith('refs/tags/')) {
      const tag = update.ref.slice('refs/tags/'.length);
      if (app.production && !deleted) return { kind: 'tag', update, tag };
      return { kind: deleted ? 'delete' : 'store', update, name: tag };
    }
    return { kind: deleted ? 'delete' : 'store', update, name: update.ref };
  });
}
