import v8 from 'node:v8';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { giveMemoryBackWhenQuiet } from '../../src/server/memory.js';

const used = (): number => v8.getHeapStatistics().used_heap_size;

describe('giving memory back when quiet', () => {
  it('collects once after a busy spell, when quiet, and what the spell left behind is freed', async () => {
    // A busy spell that leaves garbage in old space: objects kept across collections, then let go.
    let retained: { i: number; s: string }[] | undefined = [];
    for (let round = 0; round < 30; round++) {
      for (let i = 0; i < 10_000; i++) retained.push({ i, s: `x${round}.${i}` });
      await new Promise((resolve) => setImmediate(resolve));
    }
    const count = retained.length;
    const before = used();
    retained = undefined;
    expect(count).toBe(300_000);
    const given: string[] = [];
    const log = createLogger('debug', { write: (line: string) => void (line.includes('heap given back') && given.push(line)) });
    const stop = giveMemoryBackWhenQuiet(log, 500);
    try {
      // Bounds, not timings: the first quiet round collects. (How far V8 then shrinks its spaces is its own call.)
      for (let i = 0; i < 60 && given.length === 0; i++) await sleep(500);
      expect(given).toHaveLength(1);
      // V8 sweeps what it freed in the background: the heap's used part falls soon after.
      for (let i = 0; i < 20 && used() >= before - (4 << 20); i++) await sleep(250);
      expect(used()).toBeLessThan(before - (4 << 20));
      // A server that stays quiet is not collected again and again.
      await sleep(2000);
      expect(given).toHaveLength(1);
    } finally {
      stop();
    }
  }, 60_000);
});
