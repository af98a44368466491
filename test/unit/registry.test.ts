import { describe, expect, it } from 'vitest';
import { AUDITED } from '../../src/commands/audit.js';
import { COMMANDS, renderHelp } from '../../src/commands/registry.js';
import { SETTINGS } from '../../src/config.js';

/** Commands that only read; every other command changes something and must leave an event. */
const READ_ONLY = new Set([
  'apps:list', 'apps:info', 'builds', 'builds:output', 'releases', 'releases:info', 'config', 'config:get', 'ps', 'domains',
  'logs', 'access', 'whoami', 'events', 'hooks', 'keys:list', 'help', 'version', 'doctor', 'tokens', 'stacks', 'stacks:dockerfile', 'stacks:info', 'nodes',
]);

describe('the command registry', () => {
  it('audits every command that changes something', () => {
    const unaudited = COMMANDS.map((c) => c.name).filter((n) => !READ_ONLY.has(n) && !(n in AUDITED));
    expect(unaudited).toEqual([]);
    expect(Object.keys(AUDITED).filter((n) => !COMMANDS.some((c) => c.name === n))).toEqual([]);
  });

  it('never keeps config values in an event', () => {
    const note = AUDITED['config:set'](['shop', 'TOKEN=s3cret', 'B=x=y', '--no-restart']);
    expect(note).toEqual({ app: 'shop', detail: { keys: ['TOKEN', 'B'], restart: false } });
    expect(JSON.stringify(AUDITED.run(['shop', '--', 'psql', 'postgres://u:pw@db']))).not.toContain('pw@db');
  });

  it('lists every command and setting in help', () => {
    const help = renderHelp('host');
    for (const c of COMMANDS) expect(help).toContain(c.name);
    for (const s of SETTINGS) expect(help).toContain(s.env);
    expect(renderHelp('ssh')).not.toContain('SKIFF_HOME');
  });
});
