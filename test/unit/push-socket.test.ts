import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listenForPushes, parseHeader } from '../../src/server/push-socket.js';
import type { Services } from '../../src/operations/operation.js';

/** What a hook hands the server is checked before git or the pipeline sees it. */
describe('parseHeader', () => {
  const repos = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-repos-'));
  const repo = path.join(repos, 'shop.git');
  fs.mkdirSync(path.join(repo, 'objects', 'incoming-x'), { recursive: true });
  afterAll(() => fs.rmSync(repos, { recursive: true, force: true }));
  const quarantine = path.join(repo, 'objects', 'incoming-x');
  const header = (over: Record<string, unknown> = {}): string =>
    JSON.stringify({
      refLines: 'a b refs/heads/main\n',
      repoDir: repo,
      user: 'alice',
      source: 'ssh',
      created: false,
      lockPid: 4242,
      startedMs: 90,
      gitEnv: { GIT_OBJECT_DIRECTORY: quarantine, GIT_QUARANTINE_PATH: quarantine, GIT_ALTERNATE_OBJECT_DIRECTORIES: `${repo}/./objects` },
      ...over,
    });

  it("takes a hook's header in an app repo with git's quarantine inside it", () => {
    const h = parseHeader(header(), repos);
    expect(h.repoDir).toBe(repo);
    expect(h.gitEnv.GIT_OBJECT_DIRECTORY).toBe(quarantine);
    expect(h.lockPid).toBe(4242);
  });

  it('refuses a repo outside the apps’ repos, and a quarantine outside the repo', () => {
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-other-')) + '.git';
    fs.mkdirSync(elsewhere, { recursive: true });
    expect(() => parseHeader(header({ repoDir: elsewhere }), repos)).toThrow('no app repository');
    expect(() => parseHeader(header({ repoDir: path.join(repos, 'shop.git', '..', '..', path.basename(elsewhere)) }), repos)).toThrow('no app repository');
    expect(() => parseHeader(header({ gitEnv: { GIT_OBJECT_DIRECTORY: '/etc' } }), repos)).toThrow('outside its repository');
    expect(() => parseHeader(header({ gitEnv: { GIT_ALTERNATE_OBJECT_DIRECTORIES: `${repo}/objects:${repos}/other.git/objects` } }), repos)).toThrow(
      'outside its repository',
    );
    fs.rmSync(elsewhere, { recursive: true, force: true });
  });

  it('forwards no variable but the quarantine’s, and needs a receive-pack to tie the lock to', () => {
    expect(() => parseHeader(header({ gitEnv: { GIT_CONFIG_PARAMETERS: "'core.fsmonitor=touch /tmp/x'" } }), repos)).toThrow('no quarantine variable');
    expect(() => parseHeader(header({ gitEnv: { LD_PRELOAD: '/tmp/x.so' } }), repos)).toThrow('no quarantine variable');
    expect(() => parseHeader(header({ lockPid: 1 }), repos)).toThrow('no receive-pack');
    expect(() => parseHeader(header({ lockPid: '12' }), repos)).toThrow('no receive-pack');
    expect(() => parseHeader(header({ user: 7 }), repos)).toThrow('malformed');
  });
});

describe('listenForPushes', () => {
  it('leaves the pushes to the hooks when the socket cannot be made (a home too long for a socket path), rather than failing the start', async () => {
    const home = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-home-')), 'h'.repeat(120));
    fs.mkdirSync(home, { recursive: true });
    const warnings: unknown[] = [];
    const services = { config: { home, reposDir: path.join(home, 'repos') }, log: { warn: (o: unknown) => warnings.push(o) } } as unknown as Services;
    const socket = await listenForPushes(services);
    expect(warnings).toHaveLength(1);
    expect(fs.existsSync(path.join(home, 'push.sock'))).toBe(false);
    await socket.close(1000);
    fs.rmSync(path.dirname(home), { recursive: true, force: true });
  });
});
