import type { Store } from '../store/store.js';
import { appliedGroups } from '../access/policy.js';
import { serviceUrl } from '../domain/backing-service.js';

/**
 * An app's config as its releases get it: the values of its config groups
 * (those whose owner may still use the app),
 * in the order it joined them (a later group's wins), then its own, which
 * win over every group's, then the URLs of its linked services, which only
 * services:unlink takes away.
 */
export function configOf(store: Store, app: string): Record<string, string> {
  const merged: Record<string, string> = {};
  for (const group of appliedGroups(store, app)) Object.assign(merged, store.configGroups.vars(group));
  return Object.assign(merged, store.config.get(app), linkedConfig(store, app));
}

/** The config vars the app's links set: each service's URL. */
export function linkedConfig(store: Store, app: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const link of store.backingServices.links({ app })) {
    const service = store.backingServices.find(link.service);
    if (service?.id === link.serviceId) vars[link.variable] = serviceUrl(service, store.backingServices.password(service.id));
  }
  return vars;
}

/** Where each of the app's values comes from: 'app', 'group NAME', or 'service NAME'. */
export function configOrigins(store: Store, app: string): Record<string, string> {
  const origins: Record<string, string> = {};
  for (const group of appliedGroups(store, app)) for (const key of Object.keys(store.configGroups.vars(group))) origins[key] = `group ${group}`;
  for (const key of Object.keys(store.config.get(app))) origins[key] = 'app';
  for (const link of store.backingServices.links({ app })) origins[link.variable] = `service ${link.service}`;
  return origins;
}
