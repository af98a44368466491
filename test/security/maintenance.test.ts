import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureRepo } from '../helpers/skiff.js';
import { Tenants } from '../helpers/tenants.js';

function page(port: number, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', headers: { host, accept: 'text/html' }, timeout: 5000 }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

/**
 * Attack: use maintenance mode or a pause to take another tenant's app
 * offline (or let its held requests go early), to read the server's
 * environment through the router's placeholders, or to put a script in the
 * page every visitor of an app gets.
 */
describe('maintenance mode and pauses keep to the app’s owner, and the page to text', () => {
  let t: Tenants;
  let theirs: string;
  let mine: string;

  beforeAll(async () => {
    t = await Tenants.start();
    theirs = t.app('shop');
    mine = t.app('evil');
    const repo = await fixtureRepo('dockerfile-hello');
    expect((await t.push('victim', repo, theirs)).exitCode).toBe(0);
    expect((await t.push('mallory', repo, mine)).exitCode).toBe(0);
  });
  afterAll(async () => t?.cleanup());

  it('another tenant’s app cannot be put in maintenance', async () => {
    const r = await t.ssh('mallory', ['maintenance:on', theirs]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('access denied');
    expect((await page(t.server.routerPort, `${theirs}.localhost`)).status).toBe(200);
  });

  it('a message cannot read the server’s environment through Caddy’s placeholders, and a script in it is only text', async () => {
    const leak = await t.ssh('mallory', ['maintenance:on', mine, '--message', "'{env.SKIFF_HOME}'"]);
    expect(leak.exitCode).toBe(1);
    expect(leak.stderr).toContain('--message may not contain { or }');
    const script = await t.ssh('mallory', ['maintenance:on', mine, '--message', `'<script>alert(document.cookie)</script>'`]);
    expect(script.exitCode, script.stderr).toBe(0);
    const shown = await page(t.server.routerPort, `${mine}.localhost`);
    expect(shown.status).toBe(503);
    expect(shown.body).not.toContain('<script>');
    expect(shown.body).toContain('&#60;script&#62;alert(document.cookie)&#60;/script&#62;');
  });

  it('another tenant’s app cannot be paused or resumed, and a pause is bounded', async () => {
    const pause = await t.ssh('mallory', ['ps:pause', theirs]);
    expect(pause.exitCode).toBe(1);
    expect(pause.stderr).toContain('access denied');
    expect((await page(t.server.routerPort, `${theirs}.localhost`)).status).toBe(200);
    for (const max of ['0', '3601', 'forever', '1.5']) {
      const r = await t.ssh('mallory', ['ps:pause', mine, '--max', max]);
      expect(r.exitCode, max).toBe(1);
      expect(r.stderr).toContain('--max must be whole seconds from 1 to 3600');
    }
    // The victim pauses; the attacker cannot let the requests go early.
    expect((await t.ssh('victim', ['ps:pause', theirs, '--max', '60'])).exitCode).toBe(0);
    const resume = await t.ssh('mallory', ['ps:resume', theirs]);
    expect(resume.exitCode).toBe(1);
    expect(resume.stderr).toContain('access denied');
    const held = page(t.server.routerPort, `${theirs}.localhost`);
    const first = await Promise.race([held.then(() => 'answered'), new Promise((r) => setTimeout(() => r('held'), 1500))]);
    expect(first).toBe('held');
    expect((await t.ssh('victim', ['ps:resume', theirs])).exitCode).toBe(0);
    expect((await held).status).toBe(200);
  });
});
