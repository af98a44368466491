import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { Logger } from '../log.js';

/*
 * V8 grows its heap for a busy spell (a push, a burst of commands): its young
 * generation from 1 up to 16 MB, and more old space. It gives that back only
 * at a collection made while allocation is slow, and a server gone quiet
 * allocates too little to start one, so the growth stayed resident for good
 * (some 13 MB after 60 pushes). Once the server has been quiet for a round
 * and its heap grew since the last time, one full collection lets V8 shrink
 * it: a few milliseconds, when nothing else is asked of the server.
 */

/** How busy a round may have been and still count as quiet (an idle server's rounds stay below it: its debug log shows the collection). */
const QUIET = 0.02;
/** How much the heap must have grown since the last give-back (or the start) to collect again. */
const GROWN_BYTES = 1 << 20;

/** Watches the event loop every `roundMs` and collects once after each busy spell; the timer keeps no process alive. Returns what stops it. */
export function giveMemoryBackWhenQuiet(log: Logger, roundMs = 10_000): () => void {
  const collect = fullCollection();
  let last = performance.eventLoopUtilization();
  let after = 0;
  const timer = setInterval(() => {
    const round = performance.eventLoopUtilization(last);
    last = performance.eventLoopUtilization();
    if (round.utilization > QUIET || v8.getHeapStatistics().total_heap_size < after + GROWN_BYTES) return;
    const before = process.memoryUsage.rss();
    collect();
    after = v8.getHeapStatistics().total_heap_size;
    log.debug({ rssBefore: before, rssAfter: process.memoryUsage.rss(), heapAfter: after }, 'quiet: collected, heap given back');
  }, roundMs).unref();
  return () => clearInterval(timer);
}

/** V8's full collection, which only --expose-gc hands out: taken from a context made while the flag is on. */
function fullCollection(): () => void {
  v8.setFlagsFromString('--expose-gc');
  try {
    // Called without options: on Node 20, gc({ type: 'major', … }) freed almost nothing of 26 MB of garbage that gc() freed.
    return vm.runInNewContext('gc') as () => void;
  } finally {
    // Later contexts (none today) get no gc of their own.
    v8.setFlagsFromString('--no-expose-gc');
  }
}
