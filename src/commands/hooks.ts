import dns from 'node:dns';
import type { BlockList } from 'node:net';
import { allowList, assertReachableLiteral, forbiddenResolution, literalAddress } from '../domain/address-policy.js';
import { InvalidError, NotFoundError } from '../errors.js';
import { table, writeJson } from './args.js';
import { getApp } from '../access/policy.js';
import type { CommandSpec } from './command.js';
import { STEP, HEADING } from '../output/progress.js';

function parseHookUrl(input: string, allowed: BlockList): string {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new InvalidError(`'${input.slice(0, 80)}' is not a URL; give one like https://example.com/deployed`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidError('a webhook URL must start with http:// or https://');
  if (input.length > 2048) throw new InvalidError('that URL is too long (at most 2048 characters)');
  assertReachableLiteral(url, allowed);
  return url.toString();
}

/** A name that resolves to a forbidden address now is refused now; it is checked again at each send, as it may move. */
async function assertResolvesOutside(url: URL, allowed: BlockList): Promise<void> {
  if (literalAddress(url) !== undefined) return;
  const addresses = await dns.promises.lookup(url.hostname, { all: true }).catch(() => []);
  const why = forbiddenResolution(
    url.hostname,
    addresses.map((a) => a.address),
    allowed,
  );
  if (why) throw new InvalidError(`${why}; a webhook must go to a public host`);
}

export const hooksCommands: CommandSpec[] = [
  {
    name: 'hooks',
    aliases: ['hooks:list'],
    usage: 'APP [--json]',
    summary: "List an app's deploy webhooks",
    async run({ values, positionals, io, services, caller }) {
      const app = getApp(services, caller, positionals[0]);
      const hooks = services.store.webhooks.list(app.name);
      if (values.json) return writeJson(io.stdout, hooks);
      io.stdout.write(`${HEADING}${app.name} webhooks\n${table(hooks.map((h) => [String(h.id), h.url, h.createdBy]))}`);
    },
  },
  {
    name: 'hooks:add',
    usage: 'APP URL',
    summary: 'POST a JSON notice to URL after each release (a failing hook never fails a deploy)',
    audit: ({ positionals }) => ({ app: positionals[0], detail: { url: positionals[1] } }),
    async run({ positionals, io, services, caller }) {
      const app = getApp(services, caller, positionals[0]);
      const allowed = allowList(services.config.hooksAllow);
      const url = parseHookUrl(positionals[1], allowed);
      await assertResolvesOutside(new URL(url), allowed);
      const hook = services.store.webhooks.add(app.name, url, caller.user);
      io.stdout.write(`${STEP}Added webhook ${hook.id}: ${hook.url}\n`);
    },
  },
  {
    name: 'hooks:remove',
    usage: 'APP ID',
    summary: 'Remove a deploy webhook',
    audit: ({ positionals }) => ({ app: positionals[0], detail: { id: positionals[1] } }),
    async run({ positionals, io, services, caller }) {
      const app = getApp(services, caller, positionals[0]);
      const id = Number(positionals[1]);
      if (!Number.isInteger(id) || !services.store.webhooks.remove(app.name, id)) {
        throw new NotFoundError(`${app.name} has no webhook ${positionals[1]}; hooks ${app.name} lists them`);
      }
      io.stdout.write(`${STEP}Removed webhook ${id}\n`);
    },
  },
];
