import { describe, expect, it } from 'vitest';
import { grammarOf, parseCommandArgs } from '../../src/commands/args.js';
import { COMMANDS, closestCommand, findCommand, renderHelp } from '../../src/commands/dispatch.js';
import { SETTINGS } from '../../src/config.js';

/** Commands that only read; every other command changes something and must leave an event. */
const READ_ONLY = new Set([
  'apps:list',
  'apps:info',
  'apps:compose',
  'services',
  'services:info',
  'services:logs',
  'services:backups',
  'services:access',
  'builds',
  'builds:info',
  'builds:output',
  'releases',
  'releases:info',
  'releases:output',
  'config',
  'config:get',
  'ps',
  'domains',
  'logs',
  'storage',
  'access',
  'whoami',
  'events',
  'hooks',
  'keys:list',
  'help',
  'version',
  'doctor',
  'tokens',
  'stacks',
  'stacks:dockerfile',
  'stacks:info',
  'nodes',
  'cron',
  'cron:runs',
  'pipelines',
  'config:groups',
  'certs',
]);

describe('the command dispatcher', () => {
  it('names the command a mistyped one most likely meant, and none for a word far from all', () => {
    expect(closestCommand('apps:craete')).toBe('apps:create');
    expect(closestCommand('confg:set')).toBe('config:set');
    expect(closestCommand('PS')).toBe('ps');
    expect(closestCommand('frobnicate')).toBeUndefined();
    expect(closestCommand('x'.repeat(10_000))).toBeUndefined();
  });

  it('keeps the fleet to admins: every nodes command', () => {
    const fleet = COMMANDS.filter((c) => c.name === 'nodes' || c.name.startsWith('nodes:'));
    expect(fleet.map((c) => c.name).sort()).toEqual(['nodes', 'nodes:activate', 'nodes:add', 'nodes:drain', 'nodes:remove']);
    expect(fleet.filter((c) => !c.adminOnly)).toEqual([]);
  });

  it('audits every command that changes something', () => {
    const unaudited = COMMANDS.filter((c) => !READ_ONLY.has(c.name) && !c.audit).map((c) => c.name);
    expect(unaudited).toEqual([]);
    expect(COMMANDS.filter((c) => READ_ONLY.has(c.name) && c.audit).map((c) => c.name)).toEqual([]);
  });

  it('never keeps config values in an event', () => {
    const note = (name: string, args: string[]): unknown => {
      const spec = findCommand(name)!;
      return spec.audit!(spec.raw ? { positionals: args, values: {} } : parseCommandArgs(name, spec.usage, args));
    };
    expect(note('config:set', ['shop', 'TOKEN=s3cret', 'B=x=y', '--no-restart'])).toEqual({ app: 'shop', detail: { keys: ['TOKEN', 'B'], restart: false } });
    expect(JSON.stringify(note('run', ['shop', '--', 'psql', 'postgres://u:pw@db']))).not.toContain('pw@db');
  });

  it("reads each command's arguments from its usage line, the one place they are declared", () => {
    expect(grammarOf('APP KEY=VALUE... [--no-restart]')).toEqual({ options: { 'no-restart': { type: 'boolean' } }, min: 2, max: Infinity });
    expect(grammarOf('NAME --confirm NAME')).toEqual({ options: { confirm: { type: 'string' } }, min: 1, max: 1 });
    expect(grammarOf('APP [-n LINES] [-p TYPE] [-t]')).toEqual({
      options: { n: { type: 'string', short: 'n' }, p: { type: 'string', short: 'p' }, t: { type: 'boolean', short: 't' } },
      min: 1,
      max: 1,
    });
    expect(grammarOf('NAME [--admin] < KEY.pub')).toEqual({ options: { admin: { type: 'boolean' } }, min: 1, max: 1 });
    expect(grammarOf('APP [TYPE]')).toEqual({ options: {}, min: 1, max: 2 });
    expect(parseCommandArgs('logs', 'APP [-n LINES] [-t]', ['web', '-n', '5', '-t'])).toEqual({ positionals: ['web'], values: { n: '5', t: true } });
    expect(() => parseCommandArgs('ps:restart', 'APP [TYPE]', ['a', 'b', 'c'])).toThrow('usage: ps:restart APP [TYPE]');
    expect(() => parseCommandArgs('apps:list', '[--json]', ['--bogus'])).toThrow(/Unknown option '--bogus'.*usage: apps:list \[--json\]/);
    // Node's parser's words never reach a user: a negative value goes to the command to judge, a missing one is named.
    expect(parseCommandArgs('ps:pause', 'APP [--max SECONDS]', ['web', '--max', '-3'])).toEqual({ positionals: ['web'], values: { max: '-3' } });
    expect(() => parseCommandArgs('pipelines:add', 'NAME APP [--stage STAGE]', ['p', 'a', '--stage'])).toThrow(/^--stage takes a value; usage: pipelines:add/);
    expect(() => parseCommandArgs('pipelines:add', 'NAME APP [--stage STAGE]', ['p', 'a', '--stage', '--x'])).toThrow(
      "--stage takes a value; one that starts with '-' goes as --stage=VALUE",
    );
    // Every command's usage line parses (a typo there would break the command).
    for (const c of COMMANDS.filter((c) => !c.raw)) expect(() => grammarOf(c.usage)).not.toThrow();
  });

  it('lists every command and setting in help', () => {
    const help = renderHelp('host');
    for (const c of COMMANDS) expect(help).toContain(c.name);
    for (const s of SETTINGS) expect(help).toContain(s.env);
    expect(renderHelp('ssh')).not.toContain('SKIFF_HOME');
  });
});
