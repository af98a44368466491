import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { git, runGit } from './run-git.js';
import { parseAppName } from '../domain/app-name.js';

const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const HOOK_TEMPLATE = path.join(PACKAGE_ROOT, 'hooks', 'pre-receive');
export const SKIFF_BIN = path.join(PACKAGE_ROOT, 'bin', 'skiff.js');
/** In an app's repo: every pushed ref runs the deploy hook, not only main and master. */
const ALL_REFS_MARKER = 'skiff-all-refs';

/** The bare repositories, one per app, under SKIFF_HOME/repos. */
export class Repos {
  constructor(
    private readonly reposDir: string,
    private readonly home: string,
  ) {}

  /** The path of an app's repo; the name is validated again so no caller can leave reposDir. */
  pathOf(app: string): string {
    const dir = path.join(this.reposDir, `${parseAppName(app)}.git`);
    if (path.dirname(dir) !== this.reposDir) throw new Error(`repo path escapes ${this.reposDir}: ${dir}`);
    return dir;
  }

  exists(app: string): boolean {
    return fs.existsSync(path.join(this.pathOf(app), 'HEAD'));
  }

  /** Creates the bare repo if missing: made aside, then renamed into place, so it is whole or absent. */
  async ensure(app: string): Promise<string> {
    const dir = this.pathOf(app);
    if (!this.exists(app)) {
      fs.mkdirSync(this.reposDir, { recursive: true, mode: 0o700 });
      const tmp = fs.mkdtempSync(path.join(this.reposDir, `.new-${app}-`));
      try {
        await git(['init', '--bare', '--quiet', '--template=', '--initial-branch=main', tmp], this.reposDir);
        // Pushed objects are kept as they come: no auto-gc in the middle of a push.
        await git(['config', 'gc.auto', '0'], tmp);
        await git(['config', 'receive.denyNonFastForwards', 'false'], tmp);
        fs.renameSync(tmp, dir);
      } catch (err) {
        fs.rmSync(tmp, { recursive: true, force: true });
        if (!this.exists(app)) throw err;
      }
    }
    this.installHook(app);
    return dir;
  }

  /** Writes the pre-receive hook when it is missing or out of date. */
  installHook(app: string): void {
    const target = path.join(this.pathOf(app), 'hooks', 'pre-receive');
    const text = fs
      .readFileSync(HOOK_TEMPLATE, 'utf8')
      .replaceAll('@SKIFF_HOME@', this.home)
      .replaceAll('@NODE@', process.execPath)
      .replaceAll('@SKIFF_BIN@', SKIFF_BIN);
    let current: string | undefined;
    try {
      current = fs.readFileSync(target, 'utf8');
    } catch {
      current = undefined;
    }
    if (current === text) return;
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const tmp = `${target}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, text, { mode: 0o755 });
    fs.renameSync(tmp, target);
  }

  /**
   * Whether every pushed ref goes to Skiff (review apps, tags of a
   * production app), or only main and master: the hook reads a file in the
   * repo, so a push to a branch that is only stored does not start node.
   */
  setAllRefs(app: string, on: boolean): void {
    const marker = path.join(this.pathOf(app), ALL_REFS_MARKER);
    if (on) fs.writeFileSync(marker, '');
    else fs.rmSync(marker, { force: true });
  }

  /** Points HEAD at the branch that was pushed when HEAD names a branch that does not exist, so clones check it out. */
  async fixHead(app: string, branches: readonly string[]): Promise<void> {
    const cwd = this.pathOf(app);
    // HEAD resolves once its branch exists: after the first push, one git run per push is all this costs.
    if ((await runGit(['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'], cwd)).exitCode === 0) return;
    const exists = async (ref: string): Promise<boolean> => (await runGit(['show-ref', '--verify', '--quiet', ref], cwd)).exitCode === 0;
    for (const ref of branches) {
      if (await exists(ref)) {
        await git(['symbolic-ref', 'HEAD', ref], cwd);
        return;
      }
    }
  }

  remove(app: string): void {
    const dir = this.pathOf(app);
    if (!fs.existsSync(dir)) return;
    // Renamed first so a half-removed repo is never mistaken for a live one.
    const doomed = path.join(this.reposDir, `.gone-${app}-${process.pid}-${Date.now()}`);
    fs.renameSync(dir, doomed);
    fs.rmSync(doomed, { recursive: true, force: true });
  }

  /** Leftovers of creations or removals that a crash interrupted. */
  sweep(): void {
    if (!fs.existsSync(this.reposDir)) return;
    for (const entry of fs.readdirSync(this.reposDir)) {
      if (entry.startsWith('.new-') || entry.startsWith('.gone-')) {
        fs.rmSync(path.join(this.reposDir, entry), { recursive: true, force: true });
      }
    }
  }
}
