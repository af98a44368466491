import type { Store } from '../store/store.js';
import { appliedGroups } from '../access/policy.js';

/**
 * An app's config as its releases get it: the values of its config groups
 * (those whose owner may still use the app),
 * in the order it joined them (a later group's wins), then its own, which
 * win over every group's.
 */
export function configOf(store: Store, app: string): Record<string, string> {
  const merged: Record<string, string> = {};
  for (const group of appliedGroups(store, app)) Object.assign(merged, store.configGroups.vars(group));
  return Object.assign(merged, store.config.get(app));
}

/** Where each of the app's values comes from: 'app', or 'group NAME'. */
export function configOrigins(store: Store, app: string): Record<string, string> {
  const origins: Record<string, string> = {};
  for (const group of appliedGroups(store, app)) for (const key of Object.keys(store.configGroups.vars(group))) origins[key] = `group ${group}`;
  for (const key of Object.keys(store.config.get(app))) origins[key] = 'app';
  return origins;
}
