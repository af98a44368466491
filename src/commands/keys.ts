import { parsePublicKey, MAX_PUBLIC_KEY_LENGTH } from '../domain/ssh-key.js';
import { parseUserName } from '../domain/user-name.js';
import { InvalidError, NotFoundError } from '../errors.js';
import { table, writeJson } from './args.js';
import type { CommandSpec } from './command.js';
import { readAll } from './read-all.js';
import { offApp } from './audit.js';
import { STEP, HEADING } from '../output/progress.js';

export const keysCommands: CommandSpec[] = [
  {
    name: 'keys:list',
    aliases: ['keys'],
    usage: '[--json]',
    summary: 'List SSH keys: user, fingerprint, role',
    adminOnly: true,
    async run({ values, io, services }) {
      const keys = services.store.keys.list();
      if (values.json) {
        return writeJson(
          io.stdout,
          keys.map(({ user, fingerprint, admin, createdAt }) => ({ user, fingerprint, role: admin ? 'admin' : 'user', createdAt })),
        );
      }
      io.stdout.write(`${HEADING}Keys\n`);
      io.stdout.write(table(keys.map((k) => [k.user, k.fingerprint, k.admin ? 'admin' : 'user'])));
    },
  },
  {
    name: 'keys:add',
    usage: 'NAME [--admin] < KEY.pub',
    summary: 'Add an SSH public key (read from stdin) for user NAME',
    adminOnly: true,
    audit: offApp(({ positionals, values }) => ({ user: positionals[0], admin: values.admin === true })),
    async run({ values, positionals, io, services }) {
      const user = parseUserName(positionals[0]);
      if ((io.stdin as NodeJS.ReadStream).isTTY) {
        throw new InvalidError(`pipe the public key on stdin, e.g. keys:add ${user} < ~/.ssh/id_ed25519.pub`);
      }
      const key = parsePublicKey(await readAll(io.stdin, MAX_PUBLIC_KEY_LENGTH + 1, io.signal));
      const added = services.store.keys.add({ user, fingerprint: key.fingerprint, publicKey: key.text, admin: values.admin === true });
      io.stdout.write(`${STEP}Added ${key.type} key ${added.fingerprint} for ${user}${added.admin ? ' (admin)' : ''}\n`);
    },
  },
  {
    name: 'keys:remove',
    usage: 'NAME',
    summary: 'Remove every key of user NAME',
    adminOnly: true,
    audit: offApp(({ positionals }) => ({ user: positionals[0] })),
    async run({ positionals, io, services }) {
      const user = parseUserName(positionals[0]);
      const removed = services.store.keys.removeUser(user);
      if (removed === 0) throw new NotFoundError(`no keys for '${user}'; keys:list shows who has one`);
      io.stdout.write(`${STEP}Removed ${removed} key${removed === 1 ? '' : 's'} of ${user}\n`);
    },
  },
];
