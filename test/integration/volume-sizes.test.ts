import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/docker/engine.js';

/** The engine walks volumes for their sizes one walk at a time, and refuses a second meanwhile (500). */
describe("volumes' sizes", () => {
  it('reach every caller, from this process and another client at once', async () => {
    const [a, b] = [createEngine(), createEngine()];
    const results = await Promise.all([a.volumes.sizes(), b.volumes.sizes(), a.volumes.sizes(), b.volumes.sizes(), b.volumes.sizes()]);
    for (const r of results) expect(Array.isArray(r)).toBe(true);
  });
});
