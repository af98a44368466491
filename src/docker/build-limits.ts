import fs from 'node:fs';
import path from 'node:path';
import { uniqueSuffix } from './client.js';
import type { Engine } from './engine.js';

/**
 * What every container a build runs (each RUN step of a Dockerfile, the
 * steps of a stack build) is held to: the bounds an app gets, on a network
 * where builds reach the outside but not each other nor any app.
 */
export interface BuildLimits {
  memoryBytes: number;
  cpus: number;
  pids: number;
}

/** The bridge every build step runs on; inter-container traffic is off, so two builds cannot talk. */
export const BUILD_NETWORK = 'skiff-builds';

export async function ensureBuildNetwork(engine: Engine): Promise<void> {
  await engine.networks.ensureBridge(BUILD_NETWORK, { 'skiff.network': 'builds' }, { 'com.docker.network.bridge.enable_icc': 'false' });
}

/** The root under which each build's cgroup is made (cgroupfs driver: a path; the engine nests each step's cgroup in it). */
const CGROUP_ROOT = 'skiff-builds';

/**
 * A cgroup for one build, whose pids.max bounds every step of the build
 * together: the classic builder's API has memory and CPU options but none
 * for processes, so each step is put under this parent. close() removes it
 * once the steps are gone.
 */
export class BuildCgroup {
  private constructor(
    /** The engine's cgroupparent value for this build's steps. */
    readonly parent: string,
    private readonly root: string,
    private readonly name: string,
  ) {}

  /**
   * Made under the cgroup file system (SKIFF_CGROUP_FS, else /sys/fs/cgroup)
   * for the engine's cgroupfs driver, v1 or v2. Throws when it cannot be
   * made: a build is not started without its bound.
   */
  static create(limits: BuildLimits, root = process.env.SKIFF_CGROUP_FS || '/sys/fs/cgroup'): BuildCgroup {
    const name = `build-${uniqueSuffix()}`;
    const v2 = fs.existsSync(path.join(root, 'cgroup.controllers'));
    const base = v2 ? path.join(root, CGROUP_ROOT) : path.join(root, 'pids', CGROUP_ROOT);
    const dir = path.join(base, name);
    try {
      fs.mkdirSync(dir, { recursive: true });
      if (v2) {
        // Controllers reach a child only when each parent passes them on.
        for (const d of [root, base]) fs.writeFileSync(path.join(d, 'cgroup.subtree_control'), '+pids +memory +cpu');
        fs.writeFileSync(path.join(dir, 'memory.max'), String(limits.memoryBytes));
      }
      fs.writeFileSync(path.join(dir, 'pids.max'), String(limits.pids));
    } catch (err) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw new Error(`could not make the cgroup that bounds a build's processes (${dir}): ${(err as Error).message}`, { cause: err });
    }
    return new BuildCgroup(`/${CGROUP_ROOT}/${name}`, root, name);
  }

  /**
   * Removes the build's cgroup (on v1, the engine made it in every
   * hierarchy). The engine empties it a moment after a step's container
   * goes, so this tries for a few seconds; what still lingers is left for
   * the sweep at the server's start.
   */
  async close(): Promise<void> {
    const dirs = roots(this.root).map((base) => path.join(base, this.name));
    for (let tries = 0; tries < 50; tries++) {
      if (dirs.map(removeCgroup).every(Boolean)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Removes the cgroups of builds that are over (at server start): an empty one older than olderThanMs goes, a busy one stays. */
  static sweep(olderThanMs: number, root = process.env.SKIFF_CGROUP_FS || '/sys/fs/cgroup'): void {
    for (const base of roots(root)) {
      let names: string[] = [];
      try {
        names = fs
          .readdirSync(base, { withFileTypes: true })
          .filter((d) => d.isDirectory() && d.name.startsWith('build-'))
          .map((d) => d.name);
      } catch {
        continue;
      }
      for (const name of names) {
        // Only those older than any build may run: another Skiff on the same engine may be building now,
        // and a cgroup is empty between two steps of its build.
        const dir = path.join(base, name);
        const age = Date.now() - (fs.statSync(dir, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
        if (age > olderThanMs) removeCgroup(dir);
      }
    }
  }
}

/** Where builds' cgroups are: under the v2 root, and under each v1 hierarchy. */
function roots(root: string): string[] {
  let hierarchies: string[] = [];
  try {
    hierarchies = fs
      .readdirSync(root, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => path.join(root, d.name, CGROUP_ROOT));
  } catch {
    // No cgroup file system to clean.
  }
  return [path.join(root, CGROUP_ROOT), ...hierarchies];
}

/** Removes a cgroup with rmdir, children first (its files go with it); false while it is busy. */
function removeCgroup(dir: string): boolean {
  let children: string[] = [];
  try {
    children = fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch {
    return true;
  }
  for (const child of children) removeCgroup(path.join(dir, child));
  try {
    fs.rmdirSync(dir);
    return true;
  } catch {
    return false;
  }
}

/** The classic builder's options that hold each step of a build to the limits. */
export function buildStepOptions(limits: BuildLimits, cgroupParent: string): Record<string, string | number> {
  const period = 100_000;
  return {
    networkmode: BUILD_NETWORK,
    memory: limits.memoryBytes,
    memswap: limits.memoryBytes,
    cpuperiod: period,
    cpuquota: Math.round(limits.cpus * period),
    cgroupparent: cgroupParent,
  };
}

const drivers = new WeakMap<Engine, Promise<string>>();

/**
 * Runs a build within its bounds: the build network is there, a cgroup is
 * made for its steps, and fn gets the build options that put each step in
 * it; the cgroup goes when fn is done.
 */
export async function withBuildBounds<T>(
  engine: Engine,
  limits: BuildLimits,
  fn: (options: Record<string, string | number>) => Promise<T>,
  onUnbounded: (why: string) => void = () => undefined,
): Promise<T> {
  if (!drivers.has(engine)) {
    const asked = engine.cgroupDriver();
    // A failed question is asked again next time.
    asked.catch(() => drivers.delete(engine));
    drivers.set(engine, asked);
  }
  const driver = await (drivers.get(engine) as Promise<string>);
  await ensureBuildNetwork(engine);
  if (driver !== 'cgroupfs') {
    // With the systemd driver a parent is a slice that systemd makes; Skiff does not make one (yet): memory, CPU and network still hold.
    onUnbounded(`The processes of this build are not bounded: the Docker engine uses the ${driver} cgroup driver (Skiff bounds them with cgroupfs)`);
    const { cgroupparent: _none, ...options } = buildStepOptions(limits, '');
    return fn(options);
  }
  const cgroup = BuildCgroup.create(limits);
  try {
    return await fn(buildStepOptions(limits, cgroup.parent));
  } finally {
    await cgroup.close();
  }
}
