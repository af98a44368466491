import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { isProcessAlive } from '../../src/processes.js';
import { allExited, containerInit } from '../../src/runtime/container-process.js';

/** When a handover may start the new instance: the old container's processes are gone, as /proc says. */
describe('container processes seen from /proc', () => {
  it('takes a pid as the container’s only when its cgroup names the container', () => {
    expect(containerInit(0, 'a'.repeat(64))).toBe(0);
    // This test's own process is in no container of that id (another host's engine, or a reused pid).
    expect(containerInit(process.pid, 'f'.repeat(64))).toBeNull();
    expect(containerInit(-1, 'f'.repeat(64))).toBeNull();
    expect(containerInit(4_194_305, 'f'.repeat(64))).toBeNull();
    // A short id would match too much.
    expect(containerInit(process.pid, '0')).toBeNull();
  });

  it('sees a running process as running, and a reaped or zombie one as exited', async () => {
    const child = spawn('sleep', ['30']);
    expect(isProcessAlive(child.pid!)).toBe(true);
    child.kill('SIGKILL');
    await once(child, 'exit');
    expect(isProcessAlive(child.pid!)).toBe(false);

    // sh starts a short sleep, then becomes a long sleep that never reaps it: a zombie.
    const parent = spawn('sh', ['-c', 'sleep 0.05 & echo $!; exec sleep 30']);
    try {
      const [line] = (await once(parent.stdout, 'data')) as [Buffer];
      const zombie = Number(line.toString().trim());
      await sleep(300);
      expect(isProcessAlive(zombie)).toBe(false);
      expect(isProcessAlive(parent.pid!)).toBe(true);
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('waits until every process has exited', async () => {
    const a = spawn('sleep', ['30']);
    const b = spawn('sleep', ['30']);
    let done = false;
    const waiting = allExited([a.pid!, b.pid!, 0]).then(() => (done = true));
    a.kill('SIGKILL');
    await once(a, 'exit');
    await sleep(50);
    expect(done).toBe(false);
    b.kill('SIGKILL');
    await once(b, 'exit');
    await waiting;
    expect(done).toBe(true);
  });
});
