import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { execa } from 'execa';
import { freePort, tempDir, waitFor } from './skiff.js';

export interface TestRegistry {
  /** host:port on loopback. */
  address: string;
  auth?: { username: string; password: string };
  /** GET on the registry's API (with its credentials): status and JSON body. */
  api(pathname: string): Promise<{ status: number; body: unknown }>;
  stop(): Promise<void>;
}

/** Debian's docker-registry on a loopback port, with its storage in a temp dir, optionally behind basic auth (htpasswd, bcrypt). */
export async function startRegistry(auth?: { username: string; password: string }): Promise<TestRegistry> {
  const dir = tempDir('registry');
  const port = await freePort();
  const config = [
    'version: 0.1',
    'log: { level: warn }',
    `storage: { filesystem: { rootdirectory: ${path.join(dir, 'data')} }, delete: { enabled: true } }`,
    `http: { addr: "127.0.0.1:${port}" }`,
  ];
  if (auth) {
    const htpasswd = await execa('htpasswd', ['-Bbn', auth.username, auth.password]);
    fs.writeFileSync(path.join(dir, 'htpasswd'), `${htpasswd.stdout.trim()}\n`);
    config.push(`auth: { htpasswd: { realm: skiff-test, path: ${path.join(dir, 'htpasswd')} } }`);
  }
  fs.writeFileSync(path.join(dir, 'config.yml'), `${config.join('\n')}\n`);
  const proc: ChildProcess = spawn('docker-registry', ['serve', path.join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const address = `127.0.0.1:${port}`;
  const api = (pathname: string): Promise<{ status: number; body: unknown }> =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string> = auth ? { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` } : {};
      http
        .get({ host: '127.0.0.1', port, path: pathname, headers, agent: false, timeout: 5000 }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => {
            let body: unknown = text;
            try {
              body = JSON.parse(text);
            } catch {
              // not JSON
            }
            resolve({ status: res.statusCode ?? 0, body });
          });
        })
        .on('error', reject);
    });
  await waitFor(
    async () => (await api('/v2/')).status === 200,
    10_000,
    () => `docker-registry on ${address}: ${log}`,
  );
  return {
    address,
    auth,
    api,
    async stop() {
      proc.kill('SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
