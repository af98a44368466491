import fs from 'node:fs';
import type { CommandSpec, Services } from './command.js';
import { parseRuntimeName } from '../runtime/runtimes.js';
import { STEP } from '../output/progress.js';
import { EXPIRY_WARNING_DAYS, certificateProblems } from '../operations/certs.js';
import { overdueJobs } from '../operations/cron.js';
import { backupProblems } from '../operations/backups.js';
import { createEngine } from '../docker/engine.js';

interface Check {
  name: string;
  /** Resolves to a fact when all is well; throws with what to do when not. */
  run(services: Services): Promise<string>;
}

const MIN_FREE_BYTES = 2 * 1024 ** 3;

function modeOf(file: string): number {
  return fs.statSync(file).mode & 0o777;
}

/** What Skiff needs from the machine, each with the fix when it is missing. */
export const CHECKS: readonly Check[] = [
  {
    name: 'Docker engine',
    async run() {
      try {
        return `answers (${await createEngine().version()})`;
      } catch {
        throw new Error('no Docker engine answers on its socket; start dockerd (npm start does), or mount /var/run/docker.sock into Skiff’s container');
      }
    },
  },
  {
    name: 'git',
    async run() {
      const { execa } = await import('execa');
      const r = await execa('git', ['--version'], { reject: false, timeout: 10_000 });
      if (r.exitCode !== 0) throw new Error('git is not installed; install Debian’s git package (npm start’s set-up does)');
      return r.stdout.trim();
    },
  },
  {
    name: 'caddy',
    async run(services) {
      if (!services.config.ownCaddy) return `not needed: SKIFF_CADDY_ADMIN names a Caddy of your own (${services.config.caddyAdmin})`;
      const { execa } = await import('execa');
      const r = await execa('caddy', ['version'], { reject: false, timeout: 10_000 });
      if (r.exitCode !== 0) throw new Error('caddy is not installed; install Debian’s caddy package (npm start’s set-up does), or set SKIFF_CADDY_ADMIN');
      return r.stdout.trim().split(' ')[0];
    },
  },
  {
    name: 'router (Caddy)',
    async run(services) {
      if (!(await services.router.isConfigured().catch(() => false)))
        throw new Error('Caddy does not answer or has no routes; start the server, which starts and loads it');
      return `answers at ${services.config.caddyAdmin}`;
    },
  },
  {
    name: 'route switches',
    async run() {
      const value = fs.readFileSync('/proc/sys/net/ipv4/tcp_migrate_req', 'utf8').trim();
      if (value !== '1')
        throw new Error('net.ipv4.tcp_migrate_req is 0, so a switch under load can reset a connection; run: sysctl -w net.ipv4.tcp_migrate_req=1');
      return 'net.ipv4.tcp_migrate_req = 1';
    },
  },
  {
    name: 'runtimes',
    async run(services) {
      const names = new Set([
        services.config.runtime,
        ...services.store.apps
          .list()
          .map((a) => a.runtime)
          .filter((r): r is string => r !== null),
      ]);
      const facts: string[] = [];
      for (const name of names) {
        let problem: string | undefined;
        try {
          problem = await services.runtime.named(parseRuntimeName(name)).unavailable();
        } catch (err) {
          problem = (err as Error).message;
        }
        if (problem) throw new Error(`${name}: ${problem}`);
        facts.push(name === services.config.runtime ? `${name} (default)` : name);
      }
      return facts.join(', ');
    },
  },
  {
    name: 'registry',
    async run(services) {
      const registry = services.registry;
      if (!registry) return 'none (SKIFF_REGISTRY is empty: images stay on this host)';
      const auth = registry.authconfig();
      if (!auth) return `${registry.prefix} (no credentials set)`;
      try {
        await services.images.checkAuth(auth);
      } catch (err) {
        throw new Error(
          `${registry.prefix} refused SKIFF_REGISTRY_USER: ${((err as { json?: { message?: string } }).json?.message ?? (err as Error).message).split('\n')[0]}`,
        );
      }
      return `${registry.prefix} accepts SKIFF_REGISTRY_USER`;
    },
  },
  {
    name: 'disk space',
    async run(services) {
      const s = fs.statfsSync(services.config.home);
      const free = s.bavail * s.bsize;
      const gib = (free / 1024 ** 3).toFixed(1);
      if (free < MIN_FREE_BYTES) throw new Error(`only ${gib} GiB free under ${services.config.home}; remove old images (docker image prune) or grow the disk`);
      return `${gib} GiB free`;
    },
  },
  {
    name: 'permissions',
    async run(services) {
      const { home, hostKeyPath, secretKeyPath } = services.config;
      const loose = [
        [home, 0o700],
        [hostKeyPath, 0o600],
        [secretKeyPath, 0o600],
      ].filter(([file, mode]) => fs.existsSync(file as string) && (modeOf(file as string) & ~(mode as number)) !== 0);
      if (loose.length) throw new Error(`too open: ${loose.map(([f]) => f).join(', ')}; run: chmod go-rwx ${loose.map(([f]) => f).join(' ')}`);
      return 'home 0700, keys 0600';
    },
  },
  {
    name: 'database',
    async run(services) {
      const result = services.store.integrityCheck();
      if (result !== 'ok') throw new Error(`integrity check failed: ${result}; restore ${services.config.dbPath} from a backup`);
      return 'integrity ok';
    },
  },
  {
    name: 'users',
    async run(services) {
      const admins = services.store.keys.list().filter((k) => k.admin);
      if (admins.length === 0)
        throw new Error(
          'no admin has a key yet, so nobody can push or run commands over SSH; on this host run: skiff keys:add NAME --admin < ~/.ssh/id_ed25519.pub',
        );
      return `${new Set(services.store.keys.list().map((k) => k.user)).size} with keys, ${new Set(admins.map((k) => k.user)).size} admin`;
    },
  },
  {
    name: 'certificates',
    async run(services) {
      if (!services.config.tls) return 'HTTPS is off (SKIFF_ACME_EMAIL is not set)';
      const problems = certificateProblems(services);
      if (problems.length) throw new Error(problems.join('; '));
      return `none ends within ${EXPIRY_WARNING_DAYS} days, and none is failing`;
    },
  },
  {
    name: 'scheduled jobs',
    async run(services) {
      const overdue = overdueJobs(services);
      if (overdue.length) throw new Error(overdue.join('; '));
      return 'each has succeeded within two of its periods';
    },
  },
  {
    name: 'backups',
    async run(services) {
      const problems = backupProblems(services);
      if (problems.length) throw new Error(problems.join('; '));
      return "no service's last backup is bad";
    },
  },
];

export const doctorCommands: CommandSpec[] = [
  {
    name: 'doctor',
    usage: '',
    summary: 'Check the installation: Docker, Caddy, runtimes, registry, disk, permissions, database, scheduled jobs; say what to fix',
    adminOnly: true,
    async run({ io, services }) {
      io.stdout.write(`${STEP}Checking Skiff\n`);
      let failed = 0;
      for (const check of CHECKS) {
        try {
          io.stdout.write(`       ok    ${check.name}: ${await check.run(services)}\n`);
        } catch (err) {
          failed++;
          io.stdout.write(`       FAIL  ${check.name}: ${(err as Error).message}\n`);
        }
      }
      io.stdout.write(failed ? `${STEP}${failed} problem${failed === 1 ? '' : 's'} found\n` : `${STEP}All is well\n`);
      return failed ? 1 : 0;
    },
  },
];
