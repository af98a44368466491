import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tenants } from '../helpers/tenants.js';

/**
 * Attack: put newlines and terminal escape sequences into values Skiff
 * stores and lists (the audit trail above all), so that an admin reading it
 * sees forged entries of other users, or has their terminal driven.
 */
describe('stored values print as text', () => {
  let t: Tenants;
  let app: string;
  const forged = '2026-01-01T00:00:00.000Z  victim  apps:destroy shop  ok  (host)';
  const clear = '\u001b[2J\u001b]0;pwned\u0007';
  // Quoted for the exec line: each is one word with its control characters.
  const words = [
    ['domains:add', () => app, `'evil.example.test\n${forged}'`],
    ['hooks:remove', () => app, `'1\r${forged}'`],
    ['run', () => app, `'${clear}sh'`],
    ['stacks:publish', () => `'x\n${forged}${clear}'`],
    ['apps:set', () => app, 'runtime', `'docker\n${forged}'`],
  ] as const;

  beforeAll(async () => {
    t = await Tenants.start();
    app = t.app('forger');
    expect((await t.ssh('mallory', ['apps:create', app])).exitCode).toBe(0);
    for (const [command, ...rest] of words) {
      const r = await t.ssh('mallory', [command, ...rest.map((w) => (typeof w === 'function' ? w() : w))]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).not.toContain('\u001b');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
  afterAll(async () => t?.cleanup());

  it('shows the trail one event a line, with no control character, to the admin and to the user', async () => {
    for (const reader of [
      ['admin', ['events']],
      ['mallory', ['events', app]],
    ] as const) {
      const r = await t.ssh(reader[0], [...reader[1]]);
      expect(r.exitCode).toBe(0);
      const lines = r.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^=====> /);
      for (const line of lines.slice(1)) expect(line).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z {2}/);
      expect(lines.filter((l) => l.startsWith(forged))).toEqual([]);
      expect(r.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
      expect(r.stdout).toContain('\\u001b[2J');
    }
  });

  it('keeps --json exact: the values parse back to what was typed', async () => {
    const r = await t.ssh('admin', ['events', '--json']);
    expect(r.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    const events = JSON.parse(r.stdout) as { action: string; detail: Record<string, unknown> }[];
    expect(events.find((e) => e.action === 'domains:add')?.detail.host).toBe(`evil.example.test\n${forged}`);
    expect(events.find((e) => e.action === 'run')?.detail.command).toBe(`${clear}sh`);
  });
});
