import { parseCustomDomain, parseHostName } from '../domain/host-name.js';
import crypto from 'node:crypto';
import dns from 'node:dns/promises';
import { ConflictError, InvalidError, NotFoundError } from '../errors.js';
import type { App } from '../domain/entities.js';
import { getApp } from '../access/policy.js';
import { applyRoutes } from '../pipeline/route.js';
import type { Op, Ask } from './operation.js';

/** A recorded change of the routing, applied; if the router refuses it, the record is undone. */
async function routed(services: Op['services'], change: () => void, undo: () => void): Promise<void> {
  change();
  try {
    await applyRoutes(services);
  } catch (err) {
    undo();
    throw err;
  }
}

/** The TXT record that proves HOST is APP's: its name, and a value made from the app's identity. */
export function verificationRecord(app: Pick<App, 'id'>, host: string): { name: string; value: string } {
  return { name: `_skiff-challenge.${host}`, value: `skiff-verify=${crypto.createHash('sha256').update(`${app.id}:${host}`).digest('hex').slice(0, 32)}` };
}

/** With SKIFF_DOMAIN_VERIFY, a custom domain is added only once its DNS has the app's TXT record (as Heroku asks for a DNS target). */
async function assertVerified(services: Op['services'], app: App, host: string): Promise<void> {
  const { name, value } = verificationRecord(app, host);
  const resolver = new dns.Resolver({ timeout: 2000, tries: 2 });
  if (services.config.domainVerify.dnsServer) resolver.setServers([services.config.domainVerify.dnsServer]);
  let records: string[][] = [];
  try {
    records = await resolver.resolveTxt(name);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== 'ENOTFOUND' && code !== 'ENODATA') services.log.warn({ err, app: app.name, host }, 'domain verification lookup failed');
  }
  if (!records.some((chunks) => chunks.join('') === value)) {
    throw new InvalidError(
      `${host} is not verified for ${app.name}: add a DNS TXT record ${name} with the value ${value}, then run domains:add ${app.name} ${host} again`,
    );
  }
}

/** domains:add */
export async function addDomain({ services, caller }: Ask, appName: string, input: string): Promise<{ app: string; host: string }> {
  const app = getApp(services, caller, appName);
  const host = parseCustomDomain(input, app.name, services.config.domain, services.config.gitHost ? [services.config.gitHost] : []);
  if (services.config.domainVerify.required && !caller.admin) await assertVerified(services, app, host);
  const { domainsPerApp, certsPerHour } = services.config.quotas;
  const add = (): void =>
    services.store.transaction(() => {
      const count = services.store.domains.list(app.name).length;
      if (!caller.admin && domainsPerApp > 0 && count >= domainsPerApp)
        throw new ConflictError(`${app.name} has ${count} domains, the most SKIFF_MAX_DOMAINS_PER_APP allows; remove one first`);
      // Each new host is a certificate order on the server's one ACME account, whose rate limits every tenant shares.
      if (services.config.tls && !caller.admin && certsPerHour > 0) {
        const owned = services.store.apps
          .list()
          .filter((a) => a.createdBy === app.createdBy)
          .map((a) => a.name);
        const recent = services.store.domains.addedSince(owned, new Date(Date.now() - 3_600_000).toISOString());
        if (recent >= certsPerHour)
          throw new ConflictError(
            `${app.createdBy}'s apps were given ${recent} domains in the last hour, the most SKIFF_MAX_CERTS_PER_HOUR allows with HTTPS on; try again later`,
          );
      }
      services.store.domains.add(app.name, host);
    });
  await routed(services, add, () => services.store.domains.remove(app.name, host));
  return { app: app.name, host };
}

/** domains:remove */
export async function removeDomain({ services, caller }: Ask, appName: string, input: string): Promise<{ app: string; host: string }> {
  const app = getApp(services, caller, appName);
  const host = parseHostName(input);
  if (!services.store.domains.list(app.name).includes(host)) throw new NotFoundError(`${host} is not a domain of ${app.name}; domains ${app.name} lists them`);
  await routed(
    services,
    () => services.store.domains.remove(app.name, host),
    () => services.store.domains.add(app.name, host),
  );
  return { app: app.name, host };
}
