import { describe, expect, it } from 'vitest';
import { APP_NAME_PATTERN } from '../../src/domain/app-name.js';
import { ZERO_SHA } from '../../src/domain/deploy-branch.js';
import { reviewAppName } from '../../src/domain/pipeline.js';
import { planRefs } from '../../src/domain/deploy-branch.js';

const A = 'a'.repeat(40);
const update = (ref: string, newSha = A): { oldSha: string; newSha: string; ref: string } => ({ oldSha: ZERO_SHA, newSha, ref });

describe('a push’s refs', () => {
  it('deploy main, review branches when review apps are on, tags on a production app; the rest is stored', () => {
    const refs = [
      update('refs/heads/main'),
      update('refs/heads/feat-x'),
      update('refs/heads/gone', ZERO_SHA),
      update('refs/tags/v1.2.0'),
      update('refs/notes/x'),
    ];
    expect(planRefs(refs, { reviewApps: false, production: false }).map((a) => a.kind)).toEqual(['deploy', 'store', 'delete', 'store', 'store']);
    expect(planRefs(refs, { reviewApps: true, production: true }).map((a) => a.kind)).toEqual(['deploy', 'review', 'review-delete', 'tag', 'store']);
    // With review apps off, a deleted branch that still has one destroys it; others are only deleted.
    expect(
      planRefs([update('refs/heads/feat-x', ZERO_SHA), update('refs/heads/other', ZERO_SHA), update('refs/heads/feat-x')], {
        reviewApps: false,
        reviewBranches: new Set(['feat-x']),
        production: false,
      }).map((a) => a.kind),
    ).toEqual(['review-delete', 'delete', 'store']);
    // master next to main is only stored; a deleted tag deploys nothing.
    expect(
      planRefs([update('refs/heads/main'), update('refs/heads/master'), update('refs/tags/v1', ZERO_SHA)], { reviewApps: true, production: true }).map(
        (a) => a.kind,
      ),
    ).toEqual(['deploy', 'store', 'delete']);
  });
});

describe('a review app’s name', () => {
  it('is PARENT-BRANCH when that is a clean name that fits, else a cut name with the branch’s hash', () => {
    expect(reviewAppName('shop', 'feat-x')).toBe('shop-feat-x');
    expect(reviewAppName('shop', 'Feat_X')).toMatch(/^shop-feat-x-[0-9a-f]{5}$/);
    expect(reviewAppName('shop', 'Feat_X')).not.toBe(reviewAppName('shop', 'feat_x'));
    expect(reviewAppName('shop', 'feature/a-very-long-branch-name-indeed')).toMatch(/^shop-feature-a-very-long-[0-9a-f]{5}$/);
    expect(reviewAppName('a-rather-long-app-name-here-zz', 'x')).toMatch(/^a-rather-long-app-name-h-[0-9a-f]{5}$/);
    for (const [parent, branch] of [
      ['shop', '---'],
      ['s', '!!'],
      ['abcdefghijklmnopqrstuvwxyz0123', 'b'],
      ['shop', 'ü/ö'],
      ['shop', 'x-'.repeat(30)],
    ]) {
      const name = reviewAppName(parent, branch);
      expect(name, `${parent} ${branch}`).toMatch(APP_NAME_PATTERN);
      expect(name.endsWith('-'), name).toBe(false);
    }
  });
});
