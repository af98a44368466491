import { parseCustomDomain, parseHostName } from '../domain/host-name.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { getApp } from '../pipeline/policy.js';
import { applyRoutes } from '../pipeline/route.js';
import type { Op } from './operation.js';

type Ask = Pick<Op, 'services' | 'caller'>;

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

/** domains:add */
export async function addDomain({ services, caller }: Ask, appName: string, input: string): Promise<{ app: string; host: string }> {
  const app = getApp(services, caller, appName);
  const host = parseCustomDomain(input, app.name, services.config.domain, services.config.gitHost ? [services.config.gitHost] : []);
  const limit = services.config.quotas.domainsPerApp;
  const add = (): void =>
    services.store.transaction(() => {
      const count = services.store.domains.list(app.name).length;
      if (!caller.admin && limit > 0 && count >= limit) throw new ConflictError(`${app.name} has ${count} domains, the most SKIFF_MAX_DOMAINS_PER_APP allows; remove one first`);
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
  await routed(services, () => services.store.domains.remove(app.name, host), () => services.store.domains.add(app.name, host));
  return { app: app.name, host };
}
