import { describe, expect, it } from 'vitest';
import { imageIsApps, withAppLabels } from '../../src/builder/image-labels.js';

const labels = { 'skiff.app': 'shop', 'skiff.app-id': 'a1b2' };
const LINE = 'LABEL "skiff.app"="shop" "skiff.app-id"="a1b2"';

describe('withAppLabels', () => {
  it("sets the labels right after the final stage's FROM, where the cache keeps them", () => {
    const dockerfile = 'FROM node:20 AS deps\nRUN npm ci\nFROM node:20-slim\nCOPY --from=deps /app /app\nCMD ["node", "app"]\n';
    expect(withAppLabels(dockerfile, labels)).toBe(
      `FROM node:20 AS deps\nRUN npm ci\nFROM node:20-slim\n${LINE}\nCOPY --from=deps /app /app\nCMD ["node", "app"]\n`,
    );
  });

  it('puts them after a FROM continued over several lines, and keeps CRLF lines as they are', () => {
    expect(withAppLabels('# syntax\r\nFROM \\\r\n  base:1\r\nRUN true\r\n', labels)).toBe(`# syntax\r\nFROM \\\r\n  base:1\r\n${LINE}\nRUN true\r\n`);
  });

  it('adds a line at the end of a Dockerfile that is only a FROM without a newline', () => {
    expect(withAppLabels('FROM base', labels)).toBe(`FROM base\n${LINE}`);
  });

  it('leaves a Dockerfile without FROM alone, for the engine to refuse', () => {
    expect(withAppLabels('RUN true\n', labels)).toBe('RUN true\n');
  });

  it.each([
    ['plain', 'LABEL skiff.app=victim'],
    ['quoted', 'LABEL "skiff.app-id"="x"'],
    ['in an earlier stage', 'LABEL version=1 Skiff.Process=web'],
    ['in the old form', 'LABEL skiff.app victim'],
    ['escaped', 'LABEL sk\\iff.app=victim'],
  ])('refuses a skiff.* label written %s, naming its line', (_how, label) => {
    expect(() => withAppLabels(`FROM base\n${label}\n`, labels)).toThrow(
      /^the Dockerfile sets the label skiff\.[a-z-]+ \(line 2\); skiff\.\* labels are Skiff's own: remove it$/i,
    );
  });

  it('lets other labels through', () => {
    expect(withAppLabels('FROM base\nLABEL org.opencontainers.image.source=x skiffy=1\n', labels)).toContain('skiffy=1');
  });
});

describe('imageIsApps', () => {
  it("holds only for the app's own name and identity", () => {
    expect(imageIsApps({ 'skiff.app': 'shop', 'skiff.app-id': 'a1b2', other: 'x' }, 'shop', 'a1b2')).toBe(true);
    expect(imageIsApps({ 'skiff.app': 'victim', 'skiff.app-id': 'a1b2' }, 'shop', 'a1b2')).toBe(false);
    expect(imageIsApps({ 'skiff.app': 'shop', 'skiff.app-id': 'v1' }, 'shop', 'a1b2')).toBe(false);
    expect(imageIsApps({ 'skiff.app': 'shop', 'skiff.app-id': 'v1' }, 'shop', undefined)).toBe(false);
    expect(imageIsApps({ 'skiff.app': 'shop' }, 'shop', undefined)).toBe(true);
    expect(imageIsApps(null, 'shop', undefined)).toBe(false);
  });
});
