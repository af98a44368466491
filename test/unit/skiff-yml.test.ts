import { describe, expect, it } from 'vitest';
import { parseAppManifest } from '../../src/domain/skiff-yml.js';

describe('skiff.yml', () => {
  it('reads verify and healthcheck, and nothing when absent', () => {
    expect(parseAppManifest('verify: npm test\nhealthcheck: /health\n')).toEqual({ verify: 'npm test', healthcheck: '/health' });
    expect(parseAppManifest(undefined)).toEqual({});
    expect(parseAppManifest('')).toEqual({});
  });

  it('refuses what it does not know, with the field', () => {
    expect(() => parseAppManifest('verify: [1, 2]')).toThrow('skiff.yml: verify must be a command');
    expect(() => parseAppManifest('healthcheck: health')).toThrow('healthcheck must be a path starting with /');
    expect(() => parseAppManifest('deploy: now')).toThrow('unknown field deploy');
    expect(() => parseAppManifest('- a\n- b')).toThrow('must be a mapping');
    expect(() => parseAppManifest('verify: "open')).toThrow(/not valid YAML/);
  });
});
