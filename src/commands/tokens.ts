import crypto from 'node:crypto';
import { parseUserName } from '../domain/user-name.js';
import { DeniedError, InvalidError, NotFoundError, UsageError } from '../errors.js';
import { parseCommandArgs, table, writeJson } from './args.js';
import type { CommandSpec } from './command.js';

/** Tokens are kept as their SHA-256 only; the token itself is shown once. */
export function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token).digest('hex');
}

export const tokensCommands: CommandSpec[] = [
  {
    name: 'tokens:create',
    usage: '[--name NAME] [--expires DAYS] [--user USER]',
    summary: 'Make a token for git over HTTPS, shown once (admins may make one for --user)',
    async run({ args, io, services, caller }) {
      const { values } = parseCommandArgs(
        'tokens:create',
        '[--name NAME] [--expires DAYS] [--user USER]',
        args,
        { name: { type: 'string' }, expires: { type: 'string' }, user: { type: 'string' } },
        { min: 0, max: 0 },
      );
      let user = caller.user;
      if (values.user !== undefined) {
        if (!caller.admin) throw new DeniedError('access denied: only admins may make tokens for others');
        user = parseUserName(String(values.user));
        if (!services.store.keys.hasUser(user)) throw new NotFoundError(`no user '${user}'; keys:add ${user} first`);
      } else if (caller.via === 'host') {
        throw new UsageError('on the host, say whose token it is: tokens:create --user USER');
      }
      const name = values.name === undefined ? 'git' : String(values.name);
      if (!/^[\w .@-]{1,64}$/.test(name)) throw new InvalidError('a token name is 1 to 64 letters, digits, spaces, and . _ @ -');
      let expiresAt: string | null = null;
      if (values.expires !== undefined) {
        const days = Number(values.expires);
        if (!Number.isInteger(days) || days < 1 || days > 3650) throw new InvalidError('--expires takes a number of days from 1 to 3650');
        expiresAt = new Date(Date.now() + days * 86_400_000).toISOString();
      }
      const token = `skf_${crypto.randomBytes(32).toString('base64url')}`;
      const saved = services.store.tokens.create({ user, name, hash: hashToken(token), expiresAt });
      io.stdout.write(
        `-----> Token ${saved.id} for ${user}${expiresAt ? `, valid until ${expiresAt}` : ''}. It is shown this once:\n` +
          `${token}\n` +
          `       git remote add paas http://${user}:TOKEN@${services.config.domain}:${services.config.httpPort}/APP.git\n`,
      );
    },
  },
  {
    name: 'tokens',
    aliases: ['tokens:list'],
    usage: '[--json]',
    summary: 'List your tokens (admins: everyone’s); never the tokens themselves',
    async run({ args, io, services, caller }) {
      const { values } = parseCommandArgs('tokens', '[--json]', args, { json: { type: 'boolean' } }, { min: 0, max: 0 });
      const tokens = services.store.tokens.list(caller.admin ? undefined : caller.user);
      if (values.json) return writeJson(io.stdout, tokens);
      io.stdout.write('=====> Tokens\n');
      io.stdout.write(
        table(
          tokens.map((t) => [
            String(t.id),
            t.user,
            t.name,
            t.revokedAt ? 'revoked' : t.expiresAt && t.expiresAt < new Date().toISOString() ? 'expired' : 'active',
            `used ${t.lastUsedAt ?? 'never'}`,
          ]),
        ),
      );
    },
  },
  {
    name: 'tokens:revoke',
    usage: 'ID',
    summary: 'Revoke a token at once',
    async run({ args, io, services, caller }) {
      const { positionals } = parseCommandArgs('tokens:revoke', 'ID', args, {}, { min: 1, max: 1 });
      const id = Number(positionals[0]);
      const token = Number.isInteger(id) ? services.store.tokens.find(id) : undefined;
      if (!token || (!caller.admin && token.user !== caller.user)) throw new NotFoundError(`no token ${positionals[0]} of yours; tokens lists them`);
      if (!services.store.tokens.revoke(id)) throw new InvalidError(`token ${id} is revoked already`);
      io.stdout.write(`-----> Revoked token ${id}\n`);
    },
  },
];
