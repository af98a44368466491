import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureRepo } from '../helpers/skiff.js';
import { Tenants } from '../helpers/tenants.js';

/**
 * Attack: reach another tenant's stored data: by its storage commands, by
 * mounting its volume as a shared one (OTHER/NAME), by an
 * app name that makes the same engine volume name, by a mount path that adds
 * options to the engine's mount (a bind of the engine socket), or by a volume
 * made beforehand under the name Skiff would use.
 */
describe('storage belongs to its app', () => {
  let t: Tenants;
  let shop: string;

  beforeAll(async () => {
    t = await Tenants.start();
    shop = t.app('shop');
    const repo = await fixtureRepo('dockerfile-hello');
    expect((await t.push('victim', repo, shop)).exitCode).toBe(0);
    expect((await t.ssh('victim', ['storage:mount', shop, 'data-db:/db'])).exitCode).toBe(0);
    expect((await t.ssh('victim', ['run', shop, 'sh', '-c', "'echo victim-secret > /db/secret'"])).exitCode).toBe(0);
  });
  afterAll(async () => {
    await t?.cleanup();
    const names = (await execa('docker', ['volume', 'ls', '-q', '--filter', 'label=skiff.volume'])).stdout
      .split('\n')
      .filter((n) => t.apps.some((a) => n.startsWith(`skiff-${a}`)));
    if (names.length) await execa('docker', ['volume', 'rm', '-f', ...names], { reject: false });
  });

  it("refuses another tenant's storage commands with access denied", async () => {
    for (const args of [
      ['storage', shop],
      ['storage:mount', shop, 'x:/x'],
      ['storage:unmount', shop, 'data-db'],
      ['storage:destroy', shop, 'data-db', '--confirm', 'data-db'],
    ]) {
      const r = await t.ssh('mallory', args);
      expect(r.exitCode, args.join(' ')).toBe(1);
      expect(r.stderr).toBe(' !     access denied');
    }
    expect((await t.ssh('victim', ['run', shop, 'cat', '/db/secret'])).stdout).toBe('victim-secret');
  });

  it("cannot mount another tenant's volume into an app of its own, and a share keeps to its apps", async () => {
    const mine = t.app('mine');
    expect((await t.push('mallory', await fixtureRepo('dockerfile-hello'), mine)).exitCode).toBe(0);
    const r = await t.ssh('mallory', ['storage:mount', mine, `${shop}/data-db:/stolen`]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe(' !     access denied');
    expect((await t.ssh('mallory', ['storage', mine, '--json'])).stdout).toBe('[]');
    // The victim shares between two apps of its own; the attacker still cannot read it, and cannot unmount it.
    const second = t.app('shop2');
    expect((await t.push('victim', await fixtureRepo('dockerfile-hello'), second)).exitCode).toBe(0);
    expect((await t.ssh('victim', ['storage:mount', second, `${shop}/data-db:/shared`])).exitCode).toBe(0);
    expect((await t.ssh('victim', ['run', second, 'cat', '/shared/secret'])).stdout).toBe('victim-secret');
    for (const args of [
      ['storage:mount', mine, `${second}/data-db:/x`],
      ['storage:unmount', second, `${shop}/data-db`],
    ]) {
      const denied = await t.ssh('mallory', args);
      expect(denied.exitCode, args.join(' ')).toBe(1);
      expect(denied.stderr).toBe(' !     access denied');
    }
  });

  it('gives an app whose name and storage name spell the same engine name a volume of its own', async () => {
    // shop + data-db and shop-data + db would both be skiff-shop-data-db with a dash between them.
    const lookalike = `${shop}-data`;
    t.apps.push(lookalike);
    expect((await t.push('mallory', await fixtureRepo('dockerfile-hello'), lookalike)).exitCode).toBe(0);
    expect((await t.ssh('mallory', ['storage:mount', lookalike, 'db:/db'])).exitCode).toBe(0);
    const read = await t.ssh('mallory', ['run', lookalike, 'sh', '-c', "'cat /db/secret || echo nothing'"]);
    expect(read.stdout).toBe('nothing');
  });

  it('refuses mount paths that would add options to the engine mount, and system paths', async () => {
    const own = t.app('mine');
    expect(
      (
        await t.push(
          'mallory',
          await fixtureRepo('dockerfile-hello', (d) => fs.writeFileSync(path.join(d, 'Procfile'), 'web: exec busybox httpd -f -p "$PORT" -h /www\n')),
          own,
        )
      ).exitCode,
    ).toBe(0);
    for (const spec of ['x:/data,source=/var/run/docker.sock,type=bind', 'x:/data=/etc', 'x:/', 'x:/data/../etc', 'x:/sys/fs', 'x:/dev', 'x:/da ta']) {
      const r = await t.ssh('mallory', ['storage:mount', own, `'${spec}'`]);
      expect(r.exitCode, spec).toBe(1);
      expect(r.stderr).toMatch(/invalid mount path|is the kernel's/);
    }
    expect((await t.ssh('mallory', ['storage', own, '--json'])).stdout).toBe('[]');
    const sock = await t.ssh('mallory', ['run', own, 'sh', '-c', "'[ -e /var/run/docker.sock ] && echo SOCKET || echo none'"]);
    expect(sock.stdout).toBe('none');
  });

  it('refuses a volume made beforehand under the name it would use', async () => {
    const own = t.app('trap');
    expect((await t.ssh('mallory', ['apps:create', own])).exitCode).toBe(0);
    await execa('docker', ['volume', 'create', `skiff-${own}_data`]);
    const r = await t.ssh('mallory', ['storage:mount', own, 'data:/data']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`a volume named skiff-${own}_data exists and is not ${own}'s`);
    await execa('docker', ['volume', 'rm', `skiff-${own}_data`]);
  });
});
