import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureRepo } from '../helpers/skiff.js';
import { Tenants } from '../helpers/tenants.js';

const label = async (image: string, key: string): Promise<string> =>
  (await execa('docker', ['image', 'inspect', '--format', `{{index .Config.Labels "${key}"}}`, image])).stdout.trim();

/** Every image tag on this host that says it belongs to the app (by Skiff's label). */
const imagesLabelled = async (app: string): Promise<string[]> =>
  (await execa('docker', ['images', '--filter', `label=skiff.app=${app}`, '--format', '{{.Repository}}:{{.Tag}}'])).stdout.split('\n').filter(Boolean);

/**
 * Attack: Skiff sets an app's labels right after the Dockerfile's final FROM,
 * so the pusher's own steps come after them. Mallory labels a build as the
 * victim's app (plainly, and through a variable the engine spells out), so
 * that Skiff would count the image as the victim's: pruned or destroyed with
 * it, taken as its base, or passed off as its release.
 */
describe("another app's labels in a Dockerfile", () => {
  let t: Tenants;
  let victim: string;
  let victimId: string;
  let thief: string;

  beforeAll(async () => {
    t = await Tenants.start();
    victim = t.app('labelled');
    expect((await t.push('victim', await fixtureRepo('dockerfile-hello'), victim)).exitCode).toBe(0);
    victimId = await label(`skiff/${victim}:v1`, 'skiff.app-id');
    expect(victimId).not.toBe('');
    thief = t.app('forger');
    const first = await t.push('mallory', await fixtureRepo('dockerfile-hello'), thief);
    expect(first.exitCode, first.stderr).toBe(0);
  });
  afterAll(async () => t?.cleanup());

  const attack = async (dockerfile: string) => {
    const repo = await fixtureRepo('dockerfile-hello', (dir) => fs.writeFileSync(path.join(dir, 'Dockerfile'), dockerfile));
    return t.push('mallory', repo, thief, '+main');
  };

  it('refuses a skiff.* label written in the Dockerfile before anything builds', async () => {
    const push = await attack(`FROM skiff-test/base:bookworm\nLABEL "skiff.app"="${victim}" skiff.app-id=${victimId}\nCMD ["sleep", "60"]\n`);
    expect(push.exitCode).not.toBe(0);
    expect(push.stderr).toMatch(/the Dockerfile sets the label skiff\.app \(line 2\); skiff\.\* labels are Skiff's own: remove it/);
    expect(push.stderr).not.toMatch(/Step 1\//);
  });

  it('refuses a build whose labels came out as the victim’s through a variable, and keeps none of it', async () => {
    const push = await attack(
      `FROM skiff-test/base:bookworm\nARG NAME=skiff.app\nARG ID=skiff.app-id\nLABEL \${NAME}=${victim} \${ID}=${victimId}\nCOPY index.html /www/index.html\nCMD ["sh", "-c", "exec busybox httpd -f -p \\"$PORT\\" -h /www"]\n`,
    );
    expect(push.exitCode).not.toBe(0);
    expect(push.stderr).toMatch(/access denied: the built image's Skiff labels are not this app's \(skiff\.app=labelled-\w+, skiff\.app-id=\S+\)/);
    // Nothing of the forged build is left under either app's label; the victim's images are its own.
    expect(await imagesLabelled(victim)).toEqual([`skiff/${victim}:v1`]);
    expect((await imagesLabelled(thief)).sort()).toEqual([`skiff/${thief}:v1`]);
    // Mallory's app still serves its first release: the forged one was never released.
    const releases = await t.ssh('mallory', ['releases', thief]);
    expect(releases.stdout).toMatch(/\bv1\b/);
    expect(releases.stdout).not.toMatch(/\bv2\b/);
    // The victim can still destroy its app, and only its own images go.
    const destroyed = await t.ssh('victim', ['apps:destroy', victim, '--confirm', victim]);
    expect(destroyed.exitCode, destroyed.stderr).toBe(0);
    expect(await imagesLabelled(thief)).toEqual([`skiff/${thief}:v1`]);
  });

  it("labels an honest build as its app's, leaves none of Skiff's build files in the image, and keeps out what .dockerignore excludes", async () => {
    const app = t.app('honest');
    const repo = await fixtureRepo('dockerfile-hello', (dir) => {
      // As docker build reads it: a secret kept out, a directory kept out but for one file an exception takes back.
      fs.writeFileSync(path.join(dir, '.dockerignore'), '# local only\nsecret.env\nlogs\n!logs/keep.txt\n');
      fs.writeFileSync(path.join(dir, 'secret.env'), 'TOKEN=do-not-ship\n');
      fs.mkdirSync(path.join(dir, 'logs'));
      fs.writeFileSync(path.join(dir, 'logs', 'today.log'), 'noise\n');
      fs.writeFileSync(path.join(dir, 'logs', 'keep.txt'), 'kept\n');
      fs.writeFileSync(
        path.join(dir, 'Dockerfile'),
        `FROM skiff-test/base:bookworm\nLABEL org.example.kind=demo\nCOPY . /src\nCOPY index.html /www/index.html\nCMD ["sh", "-c", "exec busybox httpd -f -p \\"$PORT\\" -h /www"]\n`,
      );
    });
    const push = await t.push('mallory', repo, app);
    expect(push.exitCode, push.stderr).toBe(0);
    expect(await label(`skiff/${app}:v1`, 'skiff.app')).toBe(app);
    expect(await label(`skiff/${app}:v1`, 'skiff.app-id')).toMatch(/\S/);
    expect(await label(`skiff/${app}:v1`, 'org.example.kind')).toBe('demo');
    const files = (await execa('docker', ['run', '--rm', '--entrypoint', 'ls', `skiff/${app}:v1`, '-a', '/src'])).stdout.split('\n');
    expect(files).toContain('Dockerfile');
    expect(files).toContain('index.html');
    expect(files).not.toContain('secret.env');
    expect(files.filter((f) => f.startsWith('.dockerfile') || f === '.dockerignore')).toEqual([]);
    const logs = (await execa('docker', ['run', '--rm', '--entrypoint', 'ls', `skiff/${app}:v1`, '/src/logs'])).stdout.split('\n');
    expect(logs).toEqual(['keep.txt']);
  });
});
