import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { withAppLock } from '../../src/pipeline/lock.js';
import { isProcessAlive } from '../../src/processes.js';
import { openStore } from '../../src/store/sqlite-store.js';
import { SecretBox } from '../../src/store/secret-box.js';

describe('withAppLock', () => {
  it('waits for a live holder, says so once, and always releases', async () => {
    const store = openStore(':memory:', SecretBox.ephemeral());
    // A holder in another live process: this test runner's parent.
    store.locks.tryAcquire({ app: 'a', pid: process.ppid, holder: 'alice', purpose: 'deploy' }, () => true);
    const messages: string[] = [];
    setTimeout(() => store.locks.release('a', process.ppid), 600);
    const order: string[] = [];
    await withAppLock(
      store,
      'a',
      { holder: 'bob', purpose: 'deploy' },
      (m) => messages.push(m),
      new AbortController().signal,
      async () => {
        order.push('ran');
      },
    );
    expect(order).toEqual(['ran']);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/^Waiting for the deploy of a by alice \(since .*\) to finish$/);
    await expect(
      withAppLock(
        store,
        'a',
        { holder: 'bob', purpose: 'deploy' },
        () => {},
        new AbortController().signal,
        async () => {
          throw new Error('boom');
        },
      ),
    ).rejects.toThrow('boom');
    // Released after the failure: a third holder gets it at once.
    expect(store.locks.tryAcquire({ app: 'a', pid: process.ppid, holder: 'carol', purpose: 'deploy' }, () => true)).toBeUndefined();
  });

  it('gives up waiting when cancelled', async () => {
    const store = openStore(':memory:', SecretBox.ephemeral());
    store.locks.tryAcquire({ app: 'a', pid: process.ppid, holder: 'alice', purpose: 'deploy' }, () => true);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    await expect(
      withAppLock(
        store,
        'a',
        { holder: 'bob', purpose: 'deploy' },
        () => {},
        controller.signal,
        async () => 1,
      ),
    ).rejects.toThrow(/gave up waiting for the deploy of a/);
  });

  it('takes a zombie holder for dead: a receive-pack left by a killed server holds no lock', async () => {
    // sh starts a short sleep and becomes a long one, which never reaps it: a zombie whose pid answers kill(0).
    // The short one outlives sh's exec (a child that ended before it, sh itself may have reaped).
    const parent = spawn('sh', ['-c', 'sleep 0.3 & echo $!; exec sleep 5'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const pid = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(d.toString()))));
      for (let i = 0; i < 150 && isProcessAlive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(() => process.kill(pid, 0)).not.toThrow();
      expect(isProcessAlive(pid)).toBe(false);
      expect(isProcessAlive(process.pid)).toBe(true);
    } finally {
      parent.kill();
    }
  });
});
