import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as errors from '../../src/errors.js';

const README = fs.readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** As fastify keeps its error catalogue and its docs in step: every code has its class and its line in the README. */
describe('the error catalogue', () => {
  it('has a class for every code a user can be shown, and each class its own code', () => {
    const classes = (Object.values(errors) as unknown[]).filter(
      (v): v is new (message: string) => errors.SkiffError => typeof v === 'function' && v.prototype instanceof errors.SkiffError,
    );
    const codes = classes.map((C) => new C('x').code);
    expect(new Set(codes).size).toBe(codes.length);
    expect([...codes].sort()).toEqual(
      Object.keys(errors.ERROR_CODES)
        .filter((c) => c !== 'INTERNAL')
        .sort(),
    );
  });

  it('documents every code, with the meaning the code says, in the README', () => {
    for (const [code, meaning] of Object.entries(errors.ERROR_CODES)) expect(README).toContain(`| \`${code}\` | ${meaning} |`);
  });
});
