import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SkiffServer, fixtureRepo, makeKey, removeDockerLeftovers, tempDir, uniqueApp } from '../helpers/skiff.js';

/** Records each SIGTERM it gets in its volume, then ends cleanly; serves HTTP meanwhile. */
const TERM_SCRIPT = `trap 'echo "term $(hostname)" >> /data/terms; kill $httpd 2>/dev/null; exit 0' TERM
busybox httpd -f -p "$PORT" -h /www &
httpd=$!
wait $httpd
`;

/**
 * Graceful stops: a process started from a Procfile line without exec gets
 * the stop signal itself, as on Heroku, and may finish its work in the
 * grace period, instead of Debian's sh taking the signal and the program
 * being killed outright.
 */
describe('a stopped instance', () => {
  let server: SkiffServer;
  let key: string;
  const app = uniqueApp('sigterm');

  beforeAll(async () => {
    server = await SkiffServer.start({ SKIFF_DRAIN_SECONDS: '0' });
    key = await makeKey(tempDir('keys'), 'admin');
    await server.cli(['keys:add', 'alice', '--admin'], fs.readFileSync(`${key}.pub`, 'utf8'));
  });
  afterAll(async () => {
    await server?.cleanup();
    await removeDockerLeftovers([app]);
  });

  it('gets SIGTERM in its own program, for web and worker alike', async () => {
    expect((await server.ssh(key, ['apps:create', app])).exitCode).toBe(0);
    expect((await server.ssh(key, ['storage:mount', app, 'data:/data'])).exitCode).toBe(0);
    const repo = await fixtureRepo('dockerfile-hello', (d) => {
      fs.writeFileSync(path.join(d, 'term.sh'), TERM_SCRIPT);
      fs.writeFileSync(path.join(d, 'Dockerfile'), `${fs.readFileSync(path.join(d, 'Dockerfile'), 'utf8')}COPY term.sh /term.sh\n`);
      fs.writeFileSync(path.join(d, 'Procfile'), 'web: sh /term.sh\nworker: sh /term.sh\n');
    });
    const push = await server.git(key, repo, ['push', server.remote(app), 'main']);
    expect(push.exitCode, push.stderr).toBe(0);
    expect((await server.ssh(key, ['ps:scale', app, 'worker=1'])).exitCode).toBe(0);
    const restarted = await server.ssh(key, ['ps:restart', app]);
    expect(restarted.exitCode, restarted.stderr).toBe(0);
    const terms = await server.ssh(key, ['run', app, 'cat', '/data/terms']);
    // The web and the worker instances that were replaced each recorded their stop.
    expect(terms.stdout.split('\n').filter((l) => l.startsWith('term ')).length).toBeGreaterThanOrEqual(2);
  });
});
