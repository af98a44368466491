import fs from 'node:fs';
import net from 'node:net';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tenants } from '../helpers/tenants.js';

/** Opens an idle TCP connection from a loopback address; says whether the server greeted it (kept it) or closed it. */
function idle(port: number, from: string, sockets: net.Socket[]): Promise<'greeted' | 'closed'> {
  const s = net.connect({ port, host: '127.0.0.1', localAddress: from });
  s.on('error', () => {});
  sockets.push(s);
  return new Promise((resolve) => {
    s.once('data', () => resolve('greeted'));
    s.once('close', () => resolve('closed'));
  });
}

/**
 * Attack: a stranger (no key at all) fills the SSH door's slots for
 * connections that have not authenticated yet, from a few addresses, and
 * keeps them full, so that no user can push or run a command.
 */
describe('a flood of unauthenticated SSH connections', () => {
  let t: Tenants;
  const sockets: net.Socket[] = [];
  let inside: ssh2.Client;

  beforeAll(async () => {
    t = await Tenants.start();
    // A user who was in before the flood.
    inside = new ssh2.Client();
    await new Promise<void>((resolve, reject) => {
      inside.once('ready', resolve).once('error', reject);
      inside.connect({ host: '127.0.0.1', port: t.server.port, username: 'git', privateKey: fs.readFileSync(t.keys.victim) });
    });
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    inside?.end();
    await t?.cleanup();
  });

  const exec = (client: ssh2.Client, command: string): Promise<{ code: number | undefined; out: string }> =>
    new Promise((resolve, reject) =>
      client.exec(command, (err, channel) => {
        if (err) return reject(err);
        let out = '';
        channel.on('data', (d: Buffer) => (out += d.toString()));
        channel.on('close', (code: number | undefined) => resolve({ code, out }));
      }),
    );

  it('caps each network, and lets users from elsewhere and users already in carry on', async () => {
    // 4 networks × 20 idle connections: 80 in all, more than the door holds.
    const kept: Record<string, number> = {};
    for (const net24 of [1, 2, 3, 4]) {
      for (let i = 0; i < 20; i++) {
        const from = `127.0.${net24}.${1 + (i % 4)}`;
        if ((await idle(t.server.port, from, sockets)) === 'greeted') kept[net24] = (kept[net24] ?? 0) + 1;
      }
    }
    for (const n of Object.values(kept)) expect(n).toBeLessThanOrEqual(16);

    // A user from another network gets in at the first try, several times over.
    for (let i = 0; i < 3; i++) {
      const r = await t.ssh('victim', ['whoami']);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^victim \(user/);
    }
    // The one who was in already is untouched.
    expect(await exec(inside, 'whoami')).toMatchObject({ code: 0, out: expect.stringMatching(/^victim \(user/) });

    // Newcomers from a crowded network are turned away: the flood cannot grow past its share
    // (one may take the place a user's connection pushed out, at a small chance).
    let crowdedKept = 0;
    for (let i = 0; i < 10; i++) if ((await idle(t.server.port, '127.0.1.9', sockets)) === 'greeted') crowdedKept++;
    expect(crowdedKept).toBeLessThanOrEqual(1);
  });
});
