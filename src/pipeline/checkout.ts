import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { spawn } from 'node:child_process';
import type tarFs from 'tar-fs';
import { createRequire } from 'node:module';
import { assertContained } from '../builder/source-files.js';
import { ExternalError } from '../errors.js';

/**
 * Writes the tree of one commit into dir with `git archive`. During a push,
 * git's quarantine variables (in the hook's environment, or gitEnv when the
 * server runs the push) let it read the objects of a push not accepted yet.
 */
export async function checkout(repoDir: string, commit: string, dir: string, signal: AbortSignal, gitEnv?: Record<string, string>): Promise<number> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const env = gitEnv && { ...process.env, ...gitEnv };
  const git = spawn('git', ['archive', '--format=tar', commit], { cwd: repoDir, stdio: ['ignore', 'pipe', 'pipe'], signal, env });
  let stderr = '';
  git.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve, reject) => {
    git.on('error', reject);
    git.on('close', (code) => (code === 0 ? resolve() : reject(new Error(stderr.trim() || `git archive exited with ${code}`))));
  });
  let files = 0;
  const tar = createRequire(import.meta.url)('tar-fs') as typeof tarFs;
  const options: tarFs.ExtractOptions & { validateSymlinks: boolean } = {
    // Links are made as they are, then judged all together by assertContained (which
    // resolves them as the kernel does); tar-fs still writes nothing through a link.
    validateSymlinks: false,
    map: (header) => {
      files += header.type === 'file' ? 1 : 0;
      return header;
    },
  };
  const extract = tar.extract(dir, options);
  try {
    await Promise.all([pipeline(git.stdout, extract), exited]);
  } catch (err) {
    throw new ExternalError(`could not check out ${commit.slice(0, 7)}: ${(err as Error).message}`, err);
  }
  assertContained(dir);
  return files;
}
