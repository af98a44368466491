import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tenants } from '../helpers/tenants.js';

interface Event {
  user: string;
  action: string;
  app: string | null;
  outcome: string;
  detail: Record<string, unknown>;
}

/** Attack: probe another tenant's app, read by read, and leave no trace; or read an earlier owner's trail by taking their app's name. */
describe('the audit trail keeps every refusal, and each app its own', () => {
  let t: Tenants;
  let app: string;
  const reads = (name: string): string[][] => [
    ['config', name],
    ['config:get', name, 'SECRET'],
    ['logs', name],
    ['builds', name],
    ['builds:output', name],
    ['ps', name],
    ['releases', name],
    ['domains', name],
    ['access', name],
    ['hooks', name],
    ['apps:info', name],
    ['events', name],
  ];

  beforeAll(async () => {
    t = await Tenants.start();
    app = t.app('probed');
    expect((await t.ssh('victim', ['apps:create', app])).exitCode).toBe(0);
  });
  afterAll(async () => t?.cleanup());

  it('records each refused read with who and what, where the owner sees it', async () => {
    for (const words of reads(app)) {
      const r = await t.ssh('mallory', words);
      expect(r.stderr.trim(), words.join(' ')).toBe('!     access denied');
    }
    const trail = JSON.parse((await t.ssh('victim', ['events', app, '--json'])).stdout) as Event[];
    const refused = trail.filter((e) => e.user === 'mallory');
    expect(refused.map((e) => e.action).sort()).toEqual(
      reads(app)
        .map((w) => w[0])
        .sort(),
    );
    expect(refused.every((e) => e.outcome === 'denied' && e.app === app)).toBe(true);
    // An admin's command refused: kept under no app, with what it named.
    expect((await t.ssh('mallory', ['keys:list'])).exitCode).toBe(1);
    const all = JSON.parse((await t.ssh('admin', ['events', '--json'])).stdout) as Event[];
    expect(all.find((e) => e.user === 'mallory' && e.action === 'keys:list')).toMatchObject({ app: null, outcome: 'denied' });
  });

  it("shows a new owner of a name only their app's trail, not the one destroyed before", async () => {
    const name = t.app('reborn');
    expect((await t.ssh('victim', ['apps:create', name])).exitCode).toBe(0);
    expect((await t.ssh('victim', ['config:set', name, 'A=1', '--no-restart'])).exitCode).toBe(0);
    expect((await t.ssh('victim', ['apps:destroy', name, '--confirm', name])).exitCode).toBe(0);
    expect((await t.ssh('mallory', ['apps:create', name])).exitCode).toBe(0);
    const trail = JSON.parse((await t.ssh('mallory', ['events', name, '--json'])).stdout) as Event[];
    expect(trail.map((e) => e.user)).toEqual(['mallory']);
    expect(trail.map((e) => e.action)).toEqual(['apps:create']);
    // The admin still has the whole story of the name.
    const story = JSON.parse((await t.ssh('admin', ['events', name, '--json'])).stdout) as Event[];
    expect(story.map((e) => e.user)).toEqual(['mallory', 'victim', 'victim', 'victim']);
  });
});
