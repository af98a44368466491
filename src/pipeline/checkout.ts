import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';
import tar from 'tar-fs';
import { ExternalError } from '../errors.js';

/**
 * Writes the tree of one commit into dir with `git archive`. Run from the
 * pre-receive hook, git's quarantine variables in the environment let it read
 * the objects of a push that is not accepted yet.
 */
export async function checkout(repoDir: string, commit: string, dir: string, signal: AbortSignal): Promise<number> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const git = execa('git', ['archive', '--format=tar', commit], {
    cwd: repoDir,
    buffer: { stdout: false, stderr: true },
    cancelSignal: signal,
    stripFinalNewline: true,
  });
  let files = 0;
  const extract = tar.extract(dir, {
    map: (header) => {
      files += header.type === 'file' ? 1 : 0;
      return header;
    },
  });
  try {
    await Promise.all([pipeline(git.stdout, extract), git]);
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr;
    throw new ExternalError(`could not check out ${commit.slice(0, 7)}: ${stderr || (err as Error).message}`, err);
  }
  return files;
}
