import { execFile } from 'node:child_process';

export interface GitResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs git with arguments (never a shell) and resolves with its exit code
 * and output; env adds to this process's environment (a push's quarantine). node's own child_process, not execa: this runs inside every
 * push's hook, where each module loaded is time the pusher waits.
 */
export function runGit(args: readonly string[], cwd: string, env?: Record<string, string>): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    execFile('git', [...args], { cwd, maxBuffer: 16 * 1024 * 1024, env: env && { ...process.env, ...env } }, (err, stdout, stderr) => {
      // execFile's error is an Error (spawn failed: no git, no cwd), though its type does not say so.
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ exitCode: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

/** runGit that fails on a non-zero exit, with git's own message. */
export async function git(args: readonly string[], cwd: string): Promise<string> {
  const r = await runGit(args, cwd);
  if (r.exitCode !== 0) throw new Error(`git ${args[0]} failed: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
  return r.stdout;
}
