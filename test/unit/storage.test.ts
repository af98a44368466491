import { describe, expect, it } from 'vitest';
import { parseMountSpec, volumeName } from '../../src/domain/storage.js';

describe('storage names and paths', () => {
  it('takes NAME:/path with a plain absolute path', () => {
    expect(parseMountSpec('data:/var/lib/app-data')).toEqual({ name: 'data', path: '/var/lib/app-data', from: null });
    expect(parseMountSpec('db-1:/db')).toEqual({ name: 'db-1', path: '/db', from: null });
  });

  it('takes OTHER/NAME:/path for another app’s volume, OTHER an app name', () => {
    expect(parseMountSpec('shop/files:/shared')).toEqual({ name: 'files', path: '/shared', from: 'shop' });
    for (const bad of ['../files:/x', 'Shop/files:/x', 'shop/../files:/x', '/files:/x', 'shop/files/x:/x'])
      expect(() => parseMountSpec(bad), bad).toThrow(/invalid|required/);
  });

  it('refuses what would add mount options, leave the path, or cover the kernel', () => {
    for (const bad of [
      'data',
      'data:',
      'data:/',
      'data:rel',
      'data:/a,type=bind',
      'data:/a=b',
      'data:/a/../b',
      'data:/a/./b',
      'data://a',
      'data:/a/',
      'data:/a b',
      'data:/proc',
      'data:/sys/x',
      'data:/dev/shm',
      `data:/${'x'.repeat(200)}`,
    ]) {
      expect(() => parseMountSpec(bad), bad).toThrow();
    }
    for (const bad of ['Data:/x', '1data:/x', 'da_ta:/x', ':/x']) expect(() => parseMountSpec(bad), bad).toThrow(/invalid storage name/);
  });

  it('names no two apps’ volumes alike', () => {
    expect(volumeName('shop', 'data-db')).not.toBe(volumeName('shop-data', 'db'));
    expect(volumeName('a-b', 'c')).not.toBe(volumeName('a', 'b-c'));
  });
});
