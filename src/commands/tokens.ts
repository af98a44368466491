import type { Config } from '../config.js';
import { createToken, revokeToken } from '../operations/tokens.js';
import { table, writeJson } from './args.js';
import { offApp } from './audit.js';
import type { CommandSpec } from './command.js';
import { STEP, HEADING } from '../output/progress.js';

export const tokensCommands: CommandSpec[] = [
  {
    name: 'tokens:create',
    usage: '[--name NAME] [--expires DAYS] [--user USER]',
    summary: 'Make a token for git over HTTPS, shown once (admins may make one for --user)',
    audit: offApp(({ values }) => ({ name: values.name ?? null })),
    async run({ values, io, services, caller }) {
      const str = (v: string | boolean | string[] | undefined): string | undefined => (v === undefined ? undefined : String(v));
      const { saved, token } = createToken({ services, caller }, { user: str(values.user), name: str(values.name), expiresDays: str(values.expires) });
      io.stdout.write(
        `${STEP}Token ${saved.id} for ${saved.user}${saved.expiresAt ? `, valid until ${saved.expiresAt}` : ''}. It is shown this once:\n` +
          `${token}\n` +
          `       git remote add paas ${gitHttpRemote(services.config, saved.user)}\n`,
      );
    },
  },
  {
    name: 'tokens',
    aliases: ['tokens:list'],
    usage: '[--json]',
    summary: 'List your tokens (admins: everyone’s); never the tokens themselves',
    async run({ values, io, services, caller }) {
      const tokens = services.store.tokens.list(caller.admin ? undefined : caller.user);
      if (values.json) return writeJson(io.stdout, tokens);
      io.stdout.write(`${HEADING}Tokens\n`);
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
    audit: offApp(({ positionals }) => ({ id: positionals[0] })),
    async run({ positionals, io, services, caller }) {
      const id = revokeToken({ services, caller }, positionals[0]);
      io.stdout.write(`${STEP}Revoked token ${id}\n`);
    },
  },
];

/** The git remote over HTTP(S) with a token: at SKIFF_GIT_HOST through the router when set, else the door's own port. */
function gitHttpRemote(config: Config, user: string): string {
  if (!config.gitHost) return `http://${user}:TOKEN@${config.domain}:${config.httpPort}/APP.git`;
  const port = config.tls ? (config.tls.port === 443 ? '' : `:${config.tls.port}`) : config.routerPort === 80 ? '' : `:${config.routerPort}`;
  return `${config.tls ? 'https' : 'http'}://${user}:TOKEN@${config.gitHost}${port}/APP.git`;
}
