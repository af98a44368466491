import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureRepo, makeKey, tempDir } from '../helpers/skiff.js';
import { Tenants } from '../helpers/tenants.js';
import fs from 'node:fs';

/** Attack: a user whose keys an admin removed keeps pushing (and creating apps) with the tokens made before. */
describe('a removed user keeps nothing', () => {
  let t: Tenants;
  let leaver: string;

  beforeAll(async () => {
    t = await Tenants.start();
    leaver = await makeKey(tempDir('leaver'), 'leaver');
    expect((await t.server.cli(['keys:add', 'leaver'], fs.readFileSync(`${leaver}.pub`, 'utf8'))).exitCode).toBe(0);
  });
  afterAll(async () => t?.cleanup());

  it('revokes every token with the last key, and a token never works for a user who is gone', async () => {
    const made = await t.server.ssh(leaver, ['tokens:create', '--name', 'ci']);
    const token = made.stdout.split('\n').find((l) => l.startsWith('skf_'))!;
    expect(token).toBeTruthy();
    const app = t.app('leaver');
    const remote = `http://leaver:${token}@127.0.0.1:${t.server.httpPort}/${app}.git`;
    const repo = await fixtureRepo('dockerfile-hello');
    const before = await execa('git', ['ls-remote', remote], { cwd: repo, reject: false, env: { GIT_TERMINAL_PROMPT: '0' } });
    expect(before.exitCode, before.stderr).not.toBe(0); // no such app yet: refused, but the token is good
    expect(before.stderr).not.toMatch(/Authentication failed/);

    expect((await t.ssh('admin', ['keys:remove', 'leaver'])).exitCode).toBe(0);
    const push = await execa('git', ['push', remote, 'main:feature'], { cwd: repo, reject: false, env: { GIT_TERMINAL_PROMPT: '0' } });
    expect(push.exitCode).not.toBe(0);
    expect(push.stderr).toMatch(/Authentication failed|401/);
    expect((await t.ssh('admin', ['apps:info', app])).exitCode).toBe(1);
    const tokens = JSON.parse((await t.ssh('admin', ['tokens', '--json'])).stdout) as { user: string; revokedAt: string | null }[];
    expect(tokens.filter((x) => x.user === 'leaver').every((x) => x.revokedAt !== null)).toBe(true);

    // A new key for the same name is a new start: the old token stays dead.
    expect((await t.server.cli(['keys:add', 'leaver'], fs.readFileSync(`${leaver}.pub`, 'utf8'))).exitCode).toBe(0);
    const again = await execa('git', ['push', remote, 'main:feature'], { cwd: repo, reject: false, env: { GIT_TERMINAL_PROMPT: '0' } });
    expect(again.exitCode).not.toBe(0);
    expect(again.stderr).toMatch(/Authentication failed|401/);
  });
});
