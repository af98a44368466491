import { describe, expect, it } from 'vitest';
import { parseAppJson } from '../../src/domain/app-json.js';
import { withTimeout } from '../../src/pipeline/timeout.js';

const rules = { seconds: false };

describe('app.json', () => {
  it('takes scripts, cron, formation and web’s startup or readiness path; lists the rest as ignored', () => {
    const json = parseAppJson(
      JSON.stringify({
        name: 'x',
        addons: ['heroku-postgresql'],
        scripts: { dokku: { predeploy: './p' }, test: 'npm test' },
        healthchecks: {
          web: [
            { type: 'liveness', path: '/live' },
            { type: 'readiness', path: '/ready' },
          ],
          worker: [{ path: '/w' }],
        },
        cron: [
          { command: './a', schedule: '@daily', concurrency_policy: 'forbid' },
          { command: './b', schedule: '@daily', maintenance: true },
        ],
        formation: { web: { quantity: 3, max_parallel: 1 }, worker: {} },
      }),
      rules,
    );
    expect(json).toEqual({
      scripts: { predeploy: './p', postdeploy: null, firstDeploy: null },
      healthcheck: '/ready',
      cron: [{ name: expect.stringMatching(/^cron-[0-9a-f]{8}$/), schedule: '@daily', command: './a', concurrency: 'forbid', timeoutSeconds: null }],
      formation: { web: 3 },
      honoured: ['scripts.dokku.predeploy', 'cron', 'formation', 'healthchecks'],
      ignored: ['name', 'addons', 'scripts.test'],
    });
    // The same entry keeps its name; another gets another.
    const again = parseAppJson(
      JSON.stringify({
        cron: [
          { command: './a', schedule: '@daily' },
          { command: './c', schedule: '@daily' },
        ],
      }),
      rules,
    );
    expect(again?.cron?.[0].name).toBe(json?.cron?.[0].name);
    expect(again?.cron?.[1].name).not.toBe(json?.cron?.[0].name);
    expect(parseAppJson(undefined, rules)).toBeUndefined();
  });

  it('refuses what it would use but cannot, naming the field', () => {
    const bad =
      (doc: unknown): (() => unknown) =>
      () =>
        parseAppJson(JSON.stringify(doc), rules);
    expect(bad([1])).toThrow('app.json must be a JSON object');
    expect(bad({ scripts: { dokku: { predeploy: 3 } } })).toThrow('app.json: scripts.dokku.predeploy must be a command');
    expect(bad({ scripts: { postdeploy: 'a\nb' } })).toThrow('app.json: scripts.postdeploy has a control character');
    expect(bad({ formation: { Web: { quantity: 1 } } })).toThrow("app.json: formation has an invalid process type 'Web'");
    expect(bad({ formation: { web: { quantity: -1 } } })).toThrow('formation.web.quantity must be a whole number from 0 to 100');
    expect(bad({ healthchecks: { web: [{ path: 'health' }] } })).toThrow('healthchecks.web[0].path must be a path starting with /');
    expect(bad({ cron: [{ command: 'x', schedule: '* * * * * *' }] })).toThrow(/six fields \(seconds\) are not allowed/);
    expect(bad({ cron: [{ command: 'x', schedule: '@daily', concurrency_policy: 'sometimes' }] })).toThrow('concurrency must be forbid, replace or allow');
    expect(() => parseAppJson('{', rules)).toThrow(/app.json is not valid JSON/);
  });
});

describe('withTimeout', () => {
  it('aborts at its limit and says so; the caller’s abort is not a timeout', async () => {
    const limited = withTimeout(new AbortController().signal, 20);
    await new Promise((resolve) => limited.signal.addEventListener('abort', resolve));
    expect(limited.timedOut()).toBe(true);
    const caller = new AbortController();
    const cancelled = withTimeout(caller.signal, 10_000);
    caller.abort();
    expect(cancelled.signal.aborted).toBe(true);
    expect(cancelled.timedOut()).toBe(false);
  });
});
