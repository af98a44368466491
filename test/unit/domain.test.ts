import { describe, expect, it } from 'vitest';
import { parseAppName } from '../../src/domain/app-name.js';
import { findDeployUpdate, parseRefUpdates, ZERO_SHA } from '../../src/domain/deploy-branch.js';
import { MAX_EXEC_LENGTH, splitExecLine } from '../../src/domain/exec-line.js';
import { parseGitRequest } from '../../src/domain/git-request.js';
import { parseUserName } from '../../src/domain/user-name.js';

describe('parseAppName', () => {
  it.each(['a', 'myapp', 'my-app-2', 'a'.repeat(30)])('accepts %s', (name) => {
    expect(parseAppName(name)).toBe(name);
  });

  it.each(['', 'A', 'MyApp', '1app', '-app', 'a'.repeat(31), '../x', 'a/b', 'a b', 'a;b', '$(id)', 'a\nb', 'a.git', 'ä'])(
    'refuses %j with a message that says what to use',
    (name) => {
      expect(() => parseAppName(name)).toThrow(name === '' ? /app name is required/ : /lower-case letters, digits and dashes/);
    },
  );
});

describe('parseUserName', () => {
  it('accepts ordinary names and refuses paths and spaces', () => {
    expect(parseUserName('alice.smith@example')).toBe('alice.smith@example');
    for (const bad of ['', '../root', 'a b', '-x', 'x'.repeat(65)]) expect(() => parseUserName(bad)).toThrow();
  });
});

describe('splitExecLine', () => {
  it('splits on blanks and honours quotes and backslashes like sh', () => {
    expect(splitExecLine(`git-receive-pack 'my app.git'`)).toEqual(['git-receive-pack', 'my app.git']);
    expect(splitExecLine(`config:set a "x y" z\\ w`)).toEqual(['config:set', 'a', 'x y', 'z w']);
    expect(splitExecLine(`a "say \\"hi\\"" 'it''s'`)).toEqual(['a', 'say "hi"', 'its']);
    expect(splitExecLine(`a ""`)).toEqual(['a', '']);
    expect(splitExecLine(`  apps:list   `)).toEqual(['apps:list']);
  });

  it('treats shell syntax as plain data', () => {
    expect(splitExecLine('apps:create x;rm -rf /')).toEqual(['apps:create', 'x;rm', '-rf', '/']);
    expect(splitExecLine('apps:create $(id) `id` *')).toEqual(['apps:create', '$(id)', '`id`', '*']);
    expect(splitExecLine('a|b&&c>d')).toEqual(['a|b&&c>d']);
  });

  it('refuses unterminated quotes, NUL bytes and oversize input', () => {
    expect(() => splitExecLine(`a 'b`)).toThrow(/unterminated single quote/);
    expect(() => splitExecLine(`a "b`)).toThrow(/unterminated double quote/);
    expect(() => splitExecLine('a\0b')).toThrow(/NUL/);
    expect(() => splitExecLine('a'.repeat(MAX_EXEC_LENGTH + 1))).toThrow(/too long/);
  });
});

describe('parseGitRequest', () => {
  it.each([
    [`git-receive-pack '/myapp.git'`, 'git-receive-pack'],
    [`git-receive-pack 'myapp.git'`, 'git-receive-pack'],
    [`git-upload-pack 'myapp'`, 'git-upload-pack'],
    [`git-upload-pack '/myapp/'`, 'git-upload-pack'],
    [`git receive-pack 'myapp.git'`, 'git-receive-pack'],
  ])('reads %s', (line, service) => {
    expect(parseGitRequest(splitExecLine(line))).toEqual({ service, app: 'myapp' });
  });

  it('is not fooled by paths that leave the repos folder', () => {
    for (const line of [`git-receive-pack '../../etc.git'`, `git-upload-pack '/etc/passwd'`, `git-receive-pack 'a/b.git'`, 'git-receive-pack']) {
      expect(() => parseGitRequest(splitExecLine(line))).toThrow(/app name/);
    }
  });

  it('leaves other commands alone', () => {
    expect(parseGitRequest(['apps:list'])).toBeUndefined();
    expect(parseGitRequest(['git-lfs-authenticate', 'x'])).toBeUndefined();
  });
});

describe('ref updates', () => {
  const a = 'a'.repeat(40);
  const b = 'b'.repeat(40);

  it('parses what git gives pre-receive', () => {
    expect(parseRefUpdates(`${a} ${b} refs/heads/main\n${ZERO_SHA} ${a} refs/heads/x\n`)).toEqual([
      { oldSha: a, newSha: b, ref: 'refs/heads/main' },
      { oldSha: ZERO_SHA, newSha: a, ref: 'refs/heads/x' },
    ]);
    expect(() => parseRefUpdates('junk')).toThrow();
  });

  it('deploys main, else master, and never a deletion or another branch', () => {
    const up = (ref: string, newSha = b) => ({ oldSha: a, newSha, ref });
    expect(findDeployUpdate([up('refs/heads/master'), up('refs/heads/main')])?.ref).toBe('refs/heads/main');
    expect(findDeployUpdate([up('refs/heads/master')])?.ref).toBe('refs/heads/master');
    expect(findDeployUpdate([up('refs/heads/feature'), up('refs/tags/v1')])).toBeUndefined();
    expect(findDeployUpdate([up('refs/heads/main', ZERO_SHA)])).toBeUndefined();
  });
});

describe('shellCommand', () => {
  it("execs one simple command, so the stop signal reaches the program, and leaves the shell's own work to the shell", async () => {
    const { shellCommand } = await import('../../src/domain/procfile.js');
    expect(shellCommand('node server.js --port $PORT')).toEqual(['sh', '-c', 'exec node server.js --port $PORT']);
    expect(shellCommand('  bundle exec puma  ')).toEqual(['sh', '-c', 'exec bundle exec puma']);
    for (const compound of [
      'npm run migrate && node server.js',
      'cd app; node x',
      'FOO=1 node x',
      'exec node x',
      'while true; do sleep 1; done',
      'a | b',
      'echo $(date)',
      'node x > log',
      'if true; then x; fi',
    ]) {
      expect(shellCommand(compound), compound).toEqual(['sh', '-c', compound]);
    }
  });
});
