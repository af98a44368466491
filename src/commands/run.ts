import { ConflictError, UsageError } from '../errors.js';
import { getApp } from '../access/policy.js';
import { oneOffSpec } from '../pipeline/one-off.js';
import type { CommandSpec } from './command.js';
import { withAttachedIO } from './operation-io.js';

const USAGE = 'APP [--] COMMAND [ARGS...]';

export const runCommands: CommandSpec[] = [
  {
    name: 'run',
    rawOutput: true,
    usage: USAGE,
    summary: "Run a one-off command in a throwaway container of the app's current release (ssh -t for a terminal)",
    // Only the program: its arguments may carry secrets typed by hand.
    audit: ({ positionals: args }) => ({
      app: args.find((a) => !a.startsWith('-')) ?? null,
      detail: { command: (args[1] === '--' ? args[2] : args[1]) ?? null },
    }),
    raw: true,
    async run({ args, io, services, caller }) {
      // Everything after the app (and an optional --) is the command, flags included: no option parsing here.
      const [name, ...rest] = args;
      const command = rest[0] === '--' ? rest.slice(1) : rest;
      if (name === undefined || command.length === 0) throw new UsageError(`usage: run ${USAGE}`);
      const app = getApp(services, caller, name);
      if (app.currentRelease === null) throw new ConflictError(`${app.name} has no release yet; push to deploy first`);
      const rel = services.store.releases.current(app.name);
      if (!rel) throw new ConflictError(`${app.name} has no release v${app.currentRelease}`);
      services.log.info({ app: app.name, release: rel.version, command: command[0] }, 'one-off run');
      return withAttachedIO(io, (attached) => services.runtime.run(oneOffSpec(services, rel, command), attached));
    },
  },
];
