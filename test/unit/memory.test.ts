import { PerformanceObserver, constants } from 'node:perf_hooks';
import v8 from 'node:v8';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { giveMemoryBackWhenQuiet } from '../../src/server/memory.js';

const youngGeneration = (): number => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;

describe('giving memory back when quiet', () => {
  it('shrinks the heap a busy spell grew once the server is quiet, without being asked', async () => {
    // A busy spell: enough short-lived objects that V8 grows its young generation.
    const kept: number[] = [];
    for (let round = 0; round < 300 && youngGeneration() < 8 << 20; round++) {
      const objects = Array.from({ length: 20_000 }, (_, i) => ({ i, s: `x${i}` }));
      kept.push(objects.length);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const grown = youngGeneration();
    expect(grown).toBeGreaterThanOrEqual(8 << 20);
    // A quiet heap is seldom collected at all, least of all fully: the full collections from here on are the give-back's.
    let full = 0;
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) if ((entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) full++;
    });
    observer.observe({ entryTypes: ['gc'] });
    const lines: string[] = [];
    const stop = giveMemoryBackWhenQuiet(createLogger('debug', { write: (line: string) => void lines.push(line) }), 500);
    try {
      // V8 shrinks only once allocation has been slow for some seconds: a bound, not a timing.
      for (let i = 0; i < 60 && (full === 0 || youngGeneration() >= grown); i++) await sleep(500);
      expect(full).toBeGreaterThan(0);
      expect(youngGeneration()).toBeLessThan(grown / 2);
      // Once given back, a quiet server is not collected again and again (V8's own reducer may follow up, a few times).
      await sleep(2000);
      expect(lines.filter((l) => l.includes('heap given back'))).toHaveLength(1);
    } finally {
      stop();
      observer.disconnect();
    }
  }, 60_000);
});
