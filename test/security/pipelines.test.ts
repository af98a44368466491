import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureRepo } from '../helpers/skiff.js';
import { Tenants } from '../helpers/tenants.js';

/**
 * Attack: use pipelines to move an image across tenants — put a victim's
 * app in one's own pipeline and promote into it, promote a victim's image
 * into one's own app, or join or read a victim's pipeline.
 */
describe('pipelines keep to their tenants', () => {
  let t: Tenants;
  let victimStaging: string;
  let victimProduction: string;
  let mine: string;

  beforeAll(async () => {
    t = await Tenants.start();
    victimStaging = t.app('vstg');
    victimProduction = t.app('vprd');
    mine = t.app('evil');
    const repo = await fixtureRepo('dockerfile-hello');
    for (const [user, app] of [
      ['victim', victimStaging],
      ['victim', victimProduction],
      ['mallory', mine],
    ] as const) {
      const pushed = await t.push(user, repo, app);
      expect(pushed.exitCode, pushed.stderr).toBe(0);
    }
    for (const args of [
      ['pipelines:create', 'vline'],
      ['pipelines:add', 'vline', victimStaging, '--stage', 'staging'],
      ['pipelines:add', 'vline', victimProduction, '--stage', 'production'],
    ]) {
      expect((await t.ssh('victim', args)).exitCode, args.join(' ')).toBe(0);
    }
    expect((await t.ssh('mallory', ['pipelines:create', 'mline'])).exitCode).toBe(0);
  });
  afterAll(async () => t?.cleanup());

  it('a victim’s app cannot join an attacker’s pipeline, nor an attacker’s app a victim’s', async () => {
    const theirs = await t.ssh('mallory', ['pipelines:add', 'mline', victimProduction, '--stage', 'production']);
    expect(theirs.exitCode).toBe(1);
    expect(theirs.stderr).toContain('access denied');
    const join = await t.ssh('mallory', ['pipelines:add', 'vline', mine, '--stage', 'production']);
    expect(join.exitCode).toBe(1);
    expect(join.stderr).toContain('no pipeline vline');
    expect((await t.ssh('victim', ['pipelines', 'vline', '--json'])).stdout).not.toContain(mine);
  });

  it('a victim’s pipeline is invisible, and its apps cannot be promoted from or into', async () => {
    const list = await t.ssh('mallory', ['pipelines', '--json']);
    expect(JSON.parse(list.stdout).map((p: { name: string }) => p.name)).toEqual(['mline']);
    expect((await t.ssh('mallory', ['pipelines', 'vline'])).stderr).toContain('no pipeline vline');
    const from = await t.ssh('mallory', ['pipelines:promote', victimStaging, '--to', mine]);
    expect(from.exitCode).toBe(1);
    expect(from.stderr).toContain('access denied');
    expect((await t.ssh('mallory', ['pipelines:add', 'mline', mine, '--stage', 'staging'])).exitCode).toBe(0);
    const into = await t.ssh('mallory', ['pipelines:promote', mine, '--to', victimProduction]);
    expect(into.exitCode).toBe(1);
    expect(into.stderr).toContain(`${victimProduction} is not in pipeline mline`);
    const releases = JSON.parse((await t.ssh('victim', ['releases', victimProduction, '--json'])).stdout) as unknown[];
    expect(releases).toHaveLength(1);
  });

  it('sharing an app does not let its guest promote into it', async () => {
    expect((await t.ssh('victim', ['access:add', victimProduction, 'mallory'])).exitCode).toBe(0);
    expect((await t.ssh('victim', ['access:add', victimStaging, 'mallory'])).exitCode).toBe(0);
    const into = await t.ssh('mallory', ['pipelines:promote', victimStaging]);
    expect(into.exitCode).toBe(1);
    expect(into.stderr).toContain(`only the owner of ${victimProduction} (victim) or an admin may do that`);
    expect(JSON.parse((await t.ssh('victim', ['releases', victimProduction, '--json'])).stdout)).toHaveLength(1);
  });

  it('a branch cannot take over, or delete, another tenant’s app whose name its review app would have', async () => {
    // The victim's app had the name before the attacker's app made review apps (after, PARENT-… names are kept).
    const target = `${mine}-admin`;
    t.apps.push(target);
    const repo = await fixtureRepo('dockerfile-hello');
    expect((await t.push('victim', repo, target)).exitCode).toBe(0);
    expect((await t.ssh('mallory', ['apps:set', mine, 'review-apps', 'on'])).exitCode).toBe(0);
    expect((await t.ssh('victim', ['apps:create', `${mine}-later`])).stderr).toBe(
      ` !     names starting ${mine}- are kept for the review apps of ${mine}; choose another name`,
    );
    await execa('git', ['branch', 'admin'], { cwd: repo });
    const takeover = await t.push('mallory', repo, mine, 'admin');
    expect(takeover.exitCode).not.toBe(0);
    expect(takeover.stderr).toContain(`admin's review app would be ${target}, which is another app; rename the branch`);
    const removal = await t.push('mallory', repo, mine, ':admin');
    expect(removal.stderr).not.toContain('Destroyed');
    const victims = JSON.parse((await t.ssh('victim', ['apps:info', target, '--json'])).stdout);
    expect(victims).toMatchObject({ name: target, createdBy: 'victim', reviewOf: null });
    expect(JSON.parse((await t.ssh('victim', ['releases', target, '--json'])).stdout)).toHaveLength(1);
  });

  it('config groups: an attacker cannot pull a victim’s app into a group, change a victim’s group, or read its values', async () => {
    expect((await t.ssh('mallory', ['config:groups:create', 'evil-values'])).exitCode).toBe(0);
    for (const app of [victimStaging, victimProduction]) expect((await t.ssh('victim', ['access:remove', app, 'mallory'])).exitCode).toBe(0);
    const denied = await t.ssh('mallory', ['config:groups:add', 'evil-values', victimStaging]);
    expect(denied.exitCode).toBe(1);
    expect(denied.stderr).toContain('access denied');
    expect((await t.ssh('victim', ['access:add', victimProduction, 'mallory'])).exitCode).toBe(0);
    expect((await t.ssh('victim', ['config:groups:create', 'vvalues'])).exitCode).toBe(0);
    expect((await t.ssh('victim', ['config:set', '--group', 'vvalues', 'SECRET=hunter2'])).exitCode).toBe(0);
    expect((await t.ssh('victim', ['config:groups:add', 'vvalues', victimProduction])).exitCode).toBe(0);
    const set = await t.ssh('mallory', ['config:set', '--group', 'vvalues', 'SECRET=owned']);
    expect(set.exitCode).toBe(1);
    expect(set.stderr).toContain('access denied: only the owner of config group vvalues (victim)');
    // A guest of an app in the group sees the group's keys, never its values.
    const shown = await t.ssh('mallory', ['config:groups', 'vvalues', '--json']);
    expect(JSON.parse(shown.stdout).vars).toEqual({ SECRET: null });
    expect((await t.ssh('victim', ['config:get', victimProduction, 'SECRET'])).stdout).toBe('hunter2');
  });
});
