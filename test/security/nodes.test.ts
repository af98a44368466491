import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tenants } from '../helpers/tenants.js';

/**
 * Attack: a registered user of another tenant reads the swarm's join token
 * (with it, any engine joins and gets every app's tasks and secrets), drains
 * or removes a node under everyone's apps, or pins her app to a node of her
 * choosing. The global set-up makes this engine a swarm manager.
 */
describe('the fleet keeps to admins', () => {
  let t: Tenants;
  let mine: string;
  let self: string;

  beforeAll(async () => {
    t = await Tenants.start();
    mine = t.app('pinned');
    expect((await t.ssh('mallory', ['apps:create', mine])).exitCode).toBe(0);
    self = (await execa('docker', ['info', '--format', '{{.Name}}'])).stdout.trim();
  });
  afterAll(async () => t?.cleanup());

  it('refuses every nodes command to a user, and shows no token', async () => {
    for (const args of [['nodes'], ['nodes:add'], ['nodes:drain', self], ['nodes:activate', self], ['nodes:remove', self]]) {
      const r = await t.ssh('mallory', args);
      expect(r.exitCode, args.join(' ')).toBe(1);
      expect(r.stderr.trim()).toBe(`!     access denied: ${args[0]} is for admins`);
      expect(r.stdout + r.stderr).not.toContain('SWMTKN');
    }
    const node = JSON.parse((await execa('docker', ['node', 'inspect', self])).stdout)[0] as { Spec: { Availability: string } };
    expect(node.Spec.Availability).toBe('active');
    const trail = JSON.parse((await t.ssh('admin', ['events', '--json'])).stdout) as { action: string; user: string; outcome: string }[];
    expect(trail.filter((e) => e.user === 'mallory' && e.action.startsWith('nodes:')).map((e) => e.outcome)).toEqual(['denied', 'denied', 'denied', 'denied']);
  });

  it('refuses a user placing even her own app on a node', async () => {
    const r = await t.ssh('mallory', ['apps:set', mine, 'node', self]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim()).toBe('!     access denied: apps:set APP node is for admins');
    expect(JSON.parse((await t.ssh('admin', ['apps:info', mine, '--json'])).stdout).node).toBeNull();
  });

  it('gives the admin the join line, and refuses to drain the node the server runs on', async () => {
    const add = await t.ssh('admin', ['nodes:add']);
    expect(add.exitCode, add.stderr).toBe(0);
    expect(add.stdout).toMatch(/^docker swarm join --token SWMTKN-\S+ \S+:2377$/m);
    const drain = await t.ssh('admin', ['nodes:drain', self]);
    expect(drain.exitCode).toBe(1);
    expect(drain.stderr).toContain(`${self} is this server's own node`);
  });
});
