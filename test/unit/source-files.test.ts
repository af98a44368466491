import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { escapingLinks, hasSourceFile, readSourceFile, resolveReal } from '../../src/builder/source-files.js';

describe('files of a checkout', () => {
  const dirs: string[] = [];
  const checkout = (): string => {
    const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-unit-src-')));
    dirs.push(dir);
    fs.writeFileSync(path.join(dir, 'Procfile'), 'web: ok\n');
    fs.mkdirSync(path.join(dir, 'sub'));
    return dir;
  };
  afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('resolves links as the kernel does, not as their text reads', () => {
    const dir = checkout();
    fs.symlinkSync('..', path.join(dir, 'sub', 'up'));
    fs.symlinkSync('sub/up/sub/up/../../etc', path.join(dir, 'lexically-inside'));
    expect(resolveReal(path.join(dir, 'lexically-inside'))).toBe(path.resolve(dir, '../../etc'));
    expect(escapingLinks(dir)).toEqual(['lexically-inside']);
  });

  it('finds absolute links, links to the root, dangling links that leave, and loops; keeps links that stay', () => {
    const dir = checkout();
    fs.symlinkSync('/etc/passwd', path.join(dir, 'abs'));
    fs.symlinkSync('../../..', path.join(dir, 'sub', 'climb'));
    fs.symlinkSync('../nowhere/at/all', path.join(dir, 'dangling-out'));
    fs.symlinkSync('loop-b', path.join(dir, 'loop-a'));
    fs.symlinkSync('loop-a', path.join(dir, 'loop-b'));
    fs.symlinkSync('Procfile', path.join(dir, 'stays'));
    fs.symlinkSync('../Procfile', path.join(dir, 'sub', 'stays-too'));
    fs.symlinkSync('missing-inside', path.join(dir, 'dangling-in'));
    expect(escapingLinks(dir).sort()).toEqual(['abs', 'dangling-out', 'loop-a', 'loop-b', 'sub/climb']);
  });

  it('reads a file inside, refuses one that leaves, and says undefined for one that is missing', () => {
    const dir = checkout();
    fs.symlinkSync('/etc/hostname', path.join(dir, 'Dockerfile'));
    fs.symlinkSync('sub', path.join(dir, 'alias'));
    fs.writeFileSync(path.join(dir, 'sub', 'skiff.yml'), 'verify: true\n');
    expect(readSourceFile(dir, 'Procfile')).toBe('web: ok\n');
    expect(readSourceFile(dir, 'alias/skiff.yml')).toBe('verify: true\n');
    expect(readSourceFile(dir, 'package.json')).toBeUndefined();
    expect(() => readSourceFile(dir, 'Dockerfile')).toThrow(/points outside the repository/);
    expect(() => readSourceFile(dir, 'sub')).toThrow(/not a regular file/);
    expect(hasSourceFile(dir, 'Dockerfile')).toBe(false);
    expect(hasSourceFile(dir, 'Procfile')).toBe(true);
  });
});
