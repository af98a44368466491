import v8 from 'node:v8';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { giveMemoryBackWhenQuiet } from '../../src/server/memory.js';

const youngGeneration = (): number => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;

describe('giving memory back when quiet', () => {
  it('collects once after a busy spell, when quiet, and the heap the spell grew shrinks', async () => {
    // A busy spell: enough short-lived objects that V8 grows its young generation.
    const kept: number[] = [];
    for (let round = 0; round < 300 && youngGeneration() < 8 << 20; round++) {
      const objects = Array.from({ length: 20_000 }, (_, i) => ({ i, s: `x${i}` }));
      kept.push(objects.length);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const grown = youngGeneration();
    expect(grown).toBeGreaterThanOrEqual(8 << 20);
    const given: string[] = [];
    const log = createLogger('debug', { write: (line: string) => void (line.includes('heap given back') && given.push(line)) });
    const stop = giveMemoryBackWhenQuiet(log, 500);
    try {
      // Bounds, not timings: the first quiet round collects.
      for (let i = 0; i < 60 && given.length === 0; i++) await sleep(500);
      expect(given).toHaveLength(1);
      for (let i = 0; i < 20 && youngGeneration() >= grown; i++) await sleep(500);
      expect(youngGeneration()).toBeLessThan(grown / 2);
      // A server that stays quiet is not collected again and again.
      await sleep(2000);
      expect(given).toHaveLength(1);
    } finally {
      stop();
    }
  }, 60_000);
});
