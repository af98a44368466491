import type { Store } from '../store/store.js';

/**
 * An app's config as its releases get it: the values of its config groups,
 * in the order it joined them (a later group's wins), then its own, which
 * win over every group's.
 */
export function configOf(store: Pick<Store, 'config' | 'configGroups'>, app: string): Record<string, string> {
  const merged: Record<string, string> = {};
  for (const group of store.configGroups.groupsOf(app)) Object.assign(merged, store.configGroups.vars(group));
  return Object.assign(merged, store.config.get(app));
}

/** Where each of the app's values comes from: 'app', or 'group NAME'. */
export function configOrigins(store: Pick<Store, 'config' | 'configGroups'>, app: string): Record<string, string> {
  const origins: Record<string, string> = {};
  for (const group of store.configGroups.groupsOf(app)) for (const key of Object.keys(store.configGroups.vars(group))) origins[key] = `group ${group}`;
  for (const key of Object.keys(store.config.get(app))) origins[key] = 'app';
  return origins;
}
