import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureRepo, httpGet } from '../helpers/skiff.js';
import { Tenants } from '../helpers/tenants.js';

/**
 * Attack: take another tenant's traffic by claiming a host name that leads
 * to their app (its default host, a name its app will have, a custom domain
 * it holds, an IP literal), or forge lines with a name full of control
 * characters. Each host name must lead to exactly one app.
 */
describe('host names lead to one app each', () => {
  let t: Tenants;
  let victim: string;
  let mine: string;
  const via = (host: string) => httpGet(`http://${host}:${t.server.routerPort}/`);

  beforeAll(async () => {
    t = await Tenants.start();
    victim = t.app('shop');
    mine = t.app('evil');
    const push = await t.push('victim', await fixtureRepo('dockerfile-hello'), victim);
    expect(push.exitCode, push.stderr).toBe(0);
    expect((await t.ssh('victim', ['domains:add', victim, 'shop.example.test'])).exitCode).toBe(0);
    expect((await t.ssh('mallory', ['apps:create', mine])).exitCode).toBe(0);
  });
  afterAll(async () => t?.cleanup());

  it('refuses every claim on a host another app has or will have, or on an address, in one line, and routes nothing new', async () => {
    const claims: [string, RegExp][] = [
      [`${victim}.localhost`, /under localhost, where each name belongs to the app of that name/],
      ['future-app.localhost', /under localhost/],
      ['localhost', /not a host name/],
      ['shop.example.test', /belongs to another app/],
      ['SHOP.Example.TEST', /belongs to another app/],
      ['127.0.0.1', /is an IP address/],
      ['0x7f000001', /not a host name/],
      ['[::ffff:127.0.0.1]', /not a host name/],
      ['[::1]', /not a host name/],
      // Quoted, so the exec line keeps it one word with the newline in it.
      ["'evil.example.test\n-----> admin destroyed shop'", /not a host name/],
      ['evil\u001b[2J.example.test', /not a host name/],
      ['\u212aelvin.example.test', /not a host name/],
      ['trailing.example.test.', /not a host name/],
    ];
    for (const [host, why] of claims) {
      const r = await t.ssh('mallory', ['domains:add', mine, host]);
      expect(r.exitCode, host).toBe(1);
      expect(r.stderr, host).toMatch(why);
      expect(r.stderr.trim().split('\n'), host).toHaveLength(1);
      expect(r.stderr).not.toContain('\u001b');
    }
    expect(JSON.parse((await t.ssh('mallory', ['domains', mine, '--json'])).stdout)).toEqual([`${mine}.localhost`]);
    expect((await via(`${victim}.localhost`)).body).toBe('hello from v1\n');
    expect((await via('shop.example.test')).body).toBe('hello from v1\n');
    expect((await via('127.0.0.1')).status).toBe(404);
  });

  it('lets an app take names under its own host, and no other app those', async () => {
    expect((await t.ssh('mallory', ['domains:add', mine, `api.${mine}.localhost`])).exitCode).toBe(0);
    const r = await t.ssh('victim', ['domains:add', victim, `api.${mine}.localhost`]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/under localhost/);
  });

  it('refuses an app whose default host another app holds as a domain (recorded under an earlier SKIFF_DOMAIN)', async () => {
    // The admin moves Skiff to the domain the victim's custom domain is under.
    await t.server.stop();
    t.server.env.SKIFF_DOMAIN = 'example.test';
    await t.server.launch();
    try {
      const create = await t.ssh('mallory', ['apps:create', 'shop']);
      expect(create.exitCode).toBe(1);
      expect(create.stderr).toMatch(/shop\.example\.test is a domain of another app/);
      const push = await t.push('mallory', await fixtureRepo('dockerfile-hello'), 'shop');
      expect(push.exitCode).not.toBe(0);
      expect((await via('shop.example.test')).body).toBe('hello from v1\n');
    } finally {
      await t.server.stop();
      t.server.env.SKIFF_DOMAIN = 'localhost';
      await t.server.launch();
    }
  });
});
