import { describe, expect, it } from 'vitest';
import { parseOverlays } from '../../src/domain/pipeline.js';
import { parseAppManifest } from '../../src/domain/skiff-yml.js';

describe('skiff.yml', () => {
  it('reads verify and healthcheck, and nothing when absent', () => {
    expect(parseAppManifest('verify: npm test\nhealthcheck: /health\n')).toEqual({ verify: 'npm test', healthcheck: '/health' });
    expect(parseAppManifest(undefined)).toEqual({});
    expect(parseAppManifest('')).toEqual({});
  });

  it('refuses what it does not know, with the field', () => {
    expect(() => parseAppManifest('verify: [1, 2]')).toThrow('skiff.yml: verify must be a command');
    expect(() => parseAppManifest('healthcheck: health')).toThrow('healthcheck must be a path starting with /');
    expect(() => parseAppManifest('deploy: now')).toThrow('unknown field deploy');
    expect(() => parseAppManifest('- a\n- b')).toThrow('must be a mapping');
    expect(() => parseAppManifest('verify: "open')).toThrow(/not valid YAML/);
  });

  it('reads cron jobs, with forbid as the default concurrency and durations for timeouts', () => {
    const m = parseAppManifest(
      'cron:\n  - {name: nightly, schedule: "0 3 * * *", command: ./backup, timeout: 15m}\n  - {name: often, schedule: "@hourly", command: x, concurrency: replace}\n',
    );
    expect(m.cron).toEqual([
      { name: 'nightly', schedule: '0 3 * * *', command: './backup', concurrency: 'forbid', timeoutSeconds: 900 },
      { name: 'often', schedule: '@hourly', command: 'x', concurrency: 'replace', timeoutSeconds: null },
    ]);
    expect(parseAppManifest('cron:\n  - {name: s, schedule: "*/5 * * * * *", command: x}\n', { seconds: true }).cron?.[0].schedule).toBe('*/5 * * * * *');
  });

  it('refuses a bad job with the field and the reason', () => {
    const job = (fields: string): string => `cron:\n  - {${fields}}\n`;
    expect(() => parseAppManifest(job('name: a, schedule: "0 25 * * *", command: x'))).toThrow(
      'skiff.yml: cron job a: schedule "0 25 * * *" is not valid: Invalid value for hour: 25',
    );
    expect(() => parseAppManifest(job('name: a, schedule: "* * * *", command: x'))).toThrow(
      /cron job a: schedule "\* \* \* \*" is not valid: .*five, six, or seven/,
    );
    expect(() => parseAppManifest(job('name: a, schedule: "* * * * * *", command: x'))).toThrow('six fields (seconds) are not allowed on this server');
    expect(() => parseAppManifest(job('name: A!, schedule: "@daily", command: x'))).toThrow('cron[0]: name must be lower-case letters');
    expect(() => parseAppManifest(job('name: a, schedule: "@daily", command: x, concurrency: sometimes'))).toThrow(
      'cron job a: concurrency must be forbid, replace or allow',
    );
    expect(() => parseAppManifest(job('name: a, schedule: "@daily", command: x, timeout: 2d'))).toThrow(
      'cron job a: timeout must be a duration from 1s to 24h',
    );
    expect(() => parseAppManifest(job('name: a, schedule: "@daily", command: "x\\ny"'))).toThrow('cron job a: command has a control character');
    expect(() => parseAppManifest(job('name: a, schedule: "@daily", command: x, user: root'))).toThrow('cron[0]: unknown field user');
    expect(() => parseAppManifest('cron:\n  - {name: a, schedule: "@daily", command: x}\n  - {name: a, schedule: "@daily", command: y}\n')).toThrow(
      'cron job a is defined twice',
    );
    expect(() => parseAppManifest('cron: {a: b}')).toThrow('cron must be a list of jobs');
  });
});

describe("skiff.yml's environments", () => {
  it('take sizes and numbers, written bare or quoted, and refuse a mapping where one belongs, naming the field', () => {
    expect(parseOverlays({ production: { resources: { web: { memory: '512m', cpus: 0.5 } } } })).toMatchObject({
      production: { resources: { web: { memory: 512 * 1024 * 1024, cpus: 0.5 } } },
    });
    expect(() => parseOverlays({ production: { resources: { web: { memory: { a: 1 } } } } })).toThrow(
      'environments.production.resources.web: memory must be a size such as 512m',
    );
    expect(() => parseOverlays({ production: { resources: { web: { cpus: [1] } } } })).toThrow('cpus must be a number such as 0.5');
  });
});
