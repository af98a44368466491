import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pebble } from '../helpers/pebble.js';
import { Tenants } from '../helpers/tenants.js';

/**
 * Attack: take a name another tenant's customers trust: add a host whose
 * DNS you do not control (its certificate follows), reuse the proof another
 * app was given, or order certificates on the server's one ACME account
 * faster than its rate limits allow everyone else.
 */
describe('a custom domain proves it is the app’s, and certificate orders are bounded per owner', () => {
  let t: Tenants;
  let pebble: Pebble;
  let shop: string;
  let evil: string;

  beforeAll(async () => {
    let env: Record<string, string>;
    ({ pebble, env } = await Pebble.forSkiff());
    t = await Tenants.start({ ...env, SKIFF_DOMAIN_VERIFY: '1', SKIFF_DNS_SERVER: pebble.dnsServer, SKIFF_MAX_CERTS_PER_HOUR: '2' });
    shop = t.app('vshop');
    evil = t.app('vevil');
    expect((await t.ssh('victim', ['apps:create', shop])).exitCode).toBe(0);
    expect((await t.ssh('mallory', ['apps:create', evil])).exitCode).toBe(0);
  });
  afterAll(async () => {
    await t?.cleanup();
    pebble?.stop();
  });

  it('refuses a domain until its DNS has the TXT record made for that app, and names the record', async () => {
    const first = await t.ssh('victim', ['domains:add', shop, 'www.verified.example']);
    expect(first.exitCode).toBe(1);
    const record =
      / !     www\.verified\.example is not verified for \S+: add a DNS TXT record (_skiff-challenge\.www\.verified\.example) with the value (skiff-verify=[0-9a-f]{32}), then run domains:add/.exec(
        first.stderr,
      );
    expect(record, first.stderr).not.toBeNull();
    expect((await t.ssh('victim', ['domains', shop, '--json'])).stdout).not.toContain('www.verified.example');
    await pebble.setTxt(record![1], record![2]);
    const second = await t.ssh('victim', ['domains:add', shop, 'www.verified.example']);
    expect(second.exitCode, second.stderr).toBe(0);

    // The proof is the app's: the same record does not verify the name for another app, nor a name under it.
    await pebble.setTxt('_skiff-challenge.api.verified.example', record![2]);
    const copied = await t.ssh('mallory', ['domains:add', evil, 'api.verified.example']);
    expect(copied.exitCode).toBe(1);
    expect(copied.stderr).toContain('is not verified for');
    const under = await t.ssh('mallory', ['domains:add', evil, 'login.www.verified.example']);
    expect(under.exitCode).toBe(1);
  });

  it("bounds the domains an owner's apps get in an hour with HTTPS on, one line naming the limit", async () => {
    const hosts = ['a.orders.example', 'b.orders.example', 'c.orders.example'];
    const said: string[] = [];
    for (const host of hosts) {
      const r = await t.ssh('mallory', ['domains:add', evil, host]);
      if (r.exitCode !== 0) {
        const rec = /add a DNS TXT record (\S+) with the value (\S+),/.exec(r.stderr);
        expect(rec, r.stderr).not.toBeNull();
        await pebble.setTxt(rec![1], rec![2]);
      }
      said.push((await t.ssh('mallory', ['domains:add', evil, host])).stderr);
    }
    expect(said[0]).toBe('');
    expect(said[1]).toBe('');
    expect(said[2]).toBe(
      " !     mallory's apps were given 2 domains in the last hour, the most SKIFF_MAX_CERTS_PER_HOUR allows with HTTPS on; try again later",
    );
    expect(JSON.parse((await t.ssh('mallory', ['domains', evil, '--json'])).stdout)).not.toContain('c.orders.example');
    // Another owner is not held back by mallory's orders.
    const other = await t.ssh('victim', ['domains:add', shop, 'c.orders.example']);
    expect(other.stderr).toContain('is not verified for');
  });
});
