import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type Result } from 'execa';
import { expect } from 'vitest';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SKIFF_BIN = path.join(ROOT, 'bin', 'skiff.js');
export const FIXTURE_APPS = path.join(ROOT, 'test', 'fixtures', 'apps');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `skiff-test-${prefix}-`));
}

/** A unique app name per test run, so runs never collide in the shared Docker engine. */
export function uniqueApp(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
}

export async function makeKey(dir: string, name: string): Promise<string> {
  const file = path.join(dir, name);
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file]);
  return file;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

function toRun(r: Result): RunResult {
  return { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), exitCode: r.exitCode ?? -1 };
}

/** `skiff server` on a loopback port with its own SKIFF_HOME, driven with the real ssh and git. */
/** The options every test's ssh runs with: this key only, no host-key prompt or record, no password prompt, errors only. */
export function sshOptions(key: string): string[] {
  return [
    '-i',
    key,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'LogLevel=ERROR',
    '-o',
    'BatchMode=yes',
  ];
}

export class SkiffServer {
  private proc?: ChildProcess;
  output = '';

  private constructor(
    readonly home: string,
    readonly port: number,
    readonly env: Record<string, string>,
  ) {}

  static async start(extraEnv: Record<string, string> = {}): Promise<SkiffServer> {
    const home = tempDir('home');
    const port = await freePort();
    const env = {
      SKIFF_HOME: home,
      SKIFF_SSH_PORT: String(port),
      SKIFF_ROUTER_PORT: String(await freePort()),
      SKIFF_HTTP_PORT: String(await freePort()),
      SKIFF_BIND: '127.0.0.1',
      SKIFF_DOMAIN: 'localhost',
      SKIFF_DRAIN_SECONDS: '1',
      SKIFF_READY_TIMEOUT: '30',
      SKIFF_STOP_TIMEOUT: '2',
      SKIFF_LOG_LEVEL: 'debug',
      ...extraEnv,
    };
    const server = new SkiffServer(home, port, env);
    await server.launch();
    return server;
  }

  async launch(): Promise<void> {
    const proc = spawn(process.execPath, [SKIFF_BIN, 'server'], { env: { ...process.env, ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    proc.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start:\n${this.output}`)), 20_000);
      const check = (): void => {
        if (this.output.includes('listening for SSH')) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout?.on('data', check);
      proc.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited with ${code}:\n${this.output}`));
      });
    });
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Stops the server; SIGKILL to test crash safety. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.removeAllListeners('exit');
      proc.on('exit', () => resolve());
      proc.kill(signal);
    });
  }

  /** The host door: `skiff ARGS` against the same SKIFF_HOME. */
  async cli(args: string[], input?: string): Promise<RunResult> {
    return toRun(await execa(process.execPath, [SKIFF_BIN, ...args], { env: this.env, input, reject: false }));
  }

  sshCommand(key: string): string[] {
    return ['ssh', ...sshOptions(key)];
  }

  /** ssh -p PORT git@127.0.0.1 ARGS… (ssh joins the words with spaces, as it always does). */
  async ssh(key: string, args: string[], options: { input?: string } = {}): Promise<RunResult> {
    const [cmd, ...base] = this.sshCommand(key);
    return toRun(await execa(cmd, [...base, '-p', String(this.port), 'git@127.0.0.1', ...args], { input: options.input ?? '', reject: false }));
  }

  /** ssh that must succeed: its stdout, or a failed expectation that names the command and what it said. */
  async sshOk(key: string, args: string[]): Promise<string> {
    const r = await this.ssh(key, args);
    expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout;
  }

  remote(app: string): string {
    return `ssh://git@127.0.0.1:${this.port}/${app}.git`;
  }

  gitEnv(key: string): Record<string, string> {
    return { GIT_SSH_COMMAND: this.sshCommand(key).join(' '), GIT_TERMINAL_PROMPT: '0' };
  }

  async git(key: string, cwd: string, args: string[]): Promise<RunResult> {
    return toRun(await execa('git', args, { cwd, env: this.gitEnv(key), reject: false }));
  }

  /** Skiff's own Caddy outlives the server on purpose; a test's must not outlive the test. */
  caddyPid(): number | undefined {
    try {
      return Number(fs.readFileSync(path.join(this.home, 'caddy', 'caddy.pid'), 'utf8').trim()) || undefined;
    } catch {
      return undefined;
    }
  }

  get httpPort(): number {
    return Number(this.env.SKIFF_HTTP_PORT);
  }

  get routerPort(): number {
    return Number(this.env.SKIFF_ROUTER_PORT);
  }

  async cleanup(): Promise<void> {
    await this.stop();
    const caddy = this.caddyPid();
    if (caddy) {
      try {
        process.kill(caddy, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    // The holds' Caddy (ps:pause, handovers) is detached like Skiff's.
    const holds = path.join(this.home, 'caddy', 'holds');
    for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(holds)) process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone already
      }
    }
    fs.rmSync(this.home, { recursive: true, force: true });
  }
}

/** Copies a fixture app into a fresh git work tree with one commit. */
export async function fixtureRepo(name: string, edit?: (dir: string) => void): Promise<string> {
  const dir = tempDir(name);
  fs.cpSync(path.join(FIXTURE_APPS, name), dir, { recursive: true });
  edit?.(dir);
  const git = (args: string[]): Promise<unknown> => execa('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', ...args], { cwd: dir });
  await git(['init', '-q', '-b', 'main']);
  await git(['add', '-A']);
  await git(['commit', '-q', '-m', `${name} fixture`]);
  return dir;
}

/** Commits every change in the work tree, new files included. */
export async function commitAll(dir: string, message: string): Promise<void> {
  await execa('git', ['add', '-A'], { cwd: dir });
  await execa('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', 'commit', '-q', '-m', message], { cwd: dir });
}

/** Removes every container and image Skiff labelled for these apps (tests own their apps only). */
export async function removeDockerLeftovers(apps: string[]): Promise<void> {
  for (const app of apps) {
    const ids = (await execa('docker', ['ps', '-aq', '--filter', `label=skiff.app=${app}`], { reject: false })).stdout.split('\n').filter(Boolean);
    if (ids.length) await execa('docker', ['rm', '-f', ...ids], { reject: false });
    const images = (await execa('docker', ['images', '-q', '--filter', `label=skiff.app=${app}`], { reject: false })).stdout.split('\n').filter(Boolean);
    // --no-prune: an untagged parent layer may be the cache another test's build is using right now.
    if (images.length) await execa('docker', ['rmi', '-f', '--no-prune', ...new Set(images)], { reject: false });
  }
}

/** Removes what services of these names left in the engine (a test that failed before services:destroy): containers, then networks and volumes. */
export async function removeServiceLeftovers(names: string[]): Promise<void> {
  for (const name of names) {
    const list = async (kind: string[]): Promise<string[]> =>
      (await execa('docker', [...kind, '-q', '--filter', `label=skiff.service=${name}`], { reject: false })).stdout.split('\n').filter(Boolean);
    const containers = await list(['ps', '-a']);
    if (containers.length) await execa('docker', ['rm', '-f', ...containers], { reject: false });
    for (const network of await list(['network', 'ls'])) await execa('docker', ['network', 'rm', network], { reject: false });
    const volumes = await list(['volume', 'ls']);
    if (volumes.length) await execa('docker', ['volume', 'rm', '-f', ...volumes], { reject: false });
  }
}

/**
 * GETs a URL on loopback and returns status and body; rejects when nothing
 * answers. APP.localhost names go to 127.0.0.1 with their Host header, as a
 * browser does, so requests travel through the router.
 */
export function httpGet(url: string, timeoutMs = 5000): Promise<{ status: number; body: string }> {
  return httpRequest(url, 'GET', undefined, timeoutMs);
}

/** httpGet with any method, and a body. */
export function httpRequest(url: string, method: string, body?: string, timeoutMs = 5000): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: Number(u.port || 80), method, path: `${u.pathname}${u.search}`, headers: { host: u.host }, timeout: timeoutMs, agent: false },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms: ${url}`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** The URL a push ended with: the last `Released vN: URL` line. */
export function releasedUrl(output: string): string | undefined {
  const matches = [...output.matchAll(/Released v\d+: (http:\/\/\S+)/g)];
  return matches.at(-1)?.[1];
}

/**
 * Polls check every 100 ms until it holds; a check that throws counts as not
 * yet. Fails after timeoutMs, naming what it waited for and the last error.
 */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string | (() => string)): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const name = typeof what === 'string' ? what : what();
      throw new Error(
        `timed out waiting for ${name}${lastError ? ` (last error: ${lastError instanceof Error ? lastError.message : JSON.stringify(lastError)})` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
