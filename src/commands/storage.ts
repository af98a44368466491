import { destroyStorage, listStorage, mountStorage, unmountStorage } from '../operations/storage.js';
import { HEADING, STEP } from '../output/progress.js';
import { formatBytes, table, writeJson } from './args.js';
import type { CommandSpec } from './command.js';
import { operation } from './operation-io.js';

export const storageCommands: CommandSpec[] = [
  {
    name: 'storage',
    aliases: ['storage:list'],
    usage: 'APP [--json]',
    summary: "List an app's storage: name, mount path, size on disk, mounted or kept, and which other apps share it",
    async run({ positionals, values, io, services, caller }) {
      const entries = await listStorage({ services, caller }, positionals[0]);
      if (values.json) return writeJson(io.stdout, entries);
      io.stdout.write(`${HEADING}${positionals[0]} storage\n`);
      const sharing = (e: (typeof entries)[number]): string => (e.from ? `${e.from}'s` : e.sharedWith.length ? `shared with ${e.sharedWith.join(', ')}` : '');
      io.stdout.write(
        entries.length
          ? table(
              entries.map((e) => [
                e.from ? `${e.from}/${e.name}` : e.name,
                e.path ?? '-',
                formatBytes(e.bytes),
                e.mode,
                ...(e.node ? [`on ${e.node}`] : []),
                sharing(e),
              ]),
            )
          : '(none)\n',
      );
    },
  },
  {
    name: 'storage:mount',
    usage: 'APP [OTHER/]NAME:/path [--single-writer]',
    summary:
      "Mount a persistent volume (made if new) in every container of the app; restarts it without downtime (--single-writer: web only, never two at once; OTHER/NAME: another app's volume, shared)",
    audit: ({ positionals, values }) => ({
      app: positionals[0],
      detail: { storage: positionals[1] ?? null, ...(values['single-writer'] ? { singleWriter: true } : {}) },
    }),
    async run(ctx) {
      const mount = await mountStorage(operation(ctx), ctx.positionals[0], ctx.positionals[1], { singleWriter: ctx.values['single-writer'] === true });
      ctx.io.stdout.write(`${STEP}${ctx.positionals[0]} has ${mount.from ? `${mount.from}/` : ''}${mount.name} at ${mount.path}\n`);
    },
  },
  {
    name: 'storage:unmount',
    usage: 'APP NAME',
    summary: 'Stop mounting a volume in the app (its data stays until storage:destroy); restarts it',
    audit: ({ positionals }) => ({ app: positionals[0], detail: { storage: positionals[1] ?? null } }),
    async run(ctx) {
      const mount = await unmountStorage(operation(ctx), ctx.positionals[0], ctx.positionals[1]);
      ctx.io.stdout.write(`${STEP}${mount.name} is no longer mounted in ${ctx.positionals[0]}; its data is kept\n`);
    },
  },
  {
    name: 'storage:destroy',
    usage: 'APP NAME --confirm NAME',
    summary: 'Delete an unmounted volume and its data (owner or admin)',
    audit: ({ positionals }) => ({ app: positionals[0], detail: { storage: positionals[1] ?? null } }),
    async run({ positionals, values, io, services, caller }) {
      await destroyStorage({ services, caller }, positionals[0], positionals[1], values.confirm === undefined ? undefined : String(values.confirm));
      io.stdout.write(`${STEP}Destroyed ${positionals[1]} of ${positionals[0]}\n`);
    },
  },
];
