import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mayUseApp, mayUseImageOf } from '../../src/access/policy.js';
import { checkBuildQuery } from '../../src/docker/build-proxy.js';
import { openStore } from '../../src/store/sqlite-store.js';
import { SecretBox } from '../../src/store/secret-box.js';
import type { Store } from '../../src/store/store.js';

const alice = { user: 'alice', admin: false };
const bob = { user: 'bob', admin: false };

describe('identity, not names', () => {
  let store: Store;
  beforeEach(() => {
    store = openStore(':memory:', SecretBox.ephemeral());
  });
  afterEach(() => store.close());

  it('gives every app an identity that a later app of the same name does not get', () => {
    const first = store.apps.create('shop', 'alice');
    store.apps.remove('shop');
    const second = store.apps.create('shop', 'bob');
    expect(first.id).toMatch(/^[0-9a-f]{16}$/);
    expect(second.id).not.toBe(first.id);
  });

  it("shows an app's events to that app only, not to a later app of the same name", () => {
    const first = store.apps.create('shop', 'alice');
    store.events.record({ app: 'shop', user: 'alice', source: 'ssh', action: 'config:set', detail: { keys: ['SECRET'] }, outcome: 'ok' });
    store.apps.remove('shop');
    const second = store.apps.create('shop', 'bob');
    store.events.record({ app: 'shop', user: 'bob', source: 'ssh', action: 'ps:scale', detail: {}, outcome: 'ok' });
    expect(store.events.list({ appId: second.id, limit: 10 }).map((e) => e.action)).toEqual(['ps:scale']);
    expect(store.events.list({ appId: first.id, limit: 10 }).map((e) => e.action)).toEqual(['config:set']);
    // The admin's trail by name still has both lives.
    expect(store.events.list({ app: 'shop', limit: 10 })).toHaveLength(2);
  });

  it('lets a release image be built on only by users of that very app: not of a later app of the name, nor of a destroyed one', () => {
    const first = store.apps.create('shop', 'alice');
    expect(mayUseImageOf(store, { app: 'shop', appId: first.id }, alice)).toBe(true);
    expect(mayUseImageOf(store, { app: 'shop', appId: first.id }, bob)).toBe(false);
    store.apps.remove('shop');
    expect(mayUseImageOf(store, { app: 'shop', appId: first.id }, alice)).toBe(false);
    const second = store.apps.create('shop', 'bob');
    expect(mayUseImageOf(store, { app: 'shop', appId: first.id }, bob)).toBe(false);
    expect(mayUseImageOf(store, { app: 'shop', appId: second.id }, bob)).toBe(true);
    // An image from before identities: by its age against the app's.
    expect(mayUseImageOf(store, { app: 'shop', created: '2000-01-01T00:00:00Z' }, bob)).toBe(false);
    expect(mayUseImageOf(store, { app: 'shop', created: new Date(Date.now() + 1000).toISOString() }, bob)).toBe(true);
  });

  it("keeps a domain's subtree for the app that holds it", () => {
    store.apps.create('shop', 'alice');
    store.apps.create('evil', 'bob');
    store.domains.add('shop', 'www.shop.example');
    expect(() => store.domains.add('evil', 'login.www.shop.example')).toThrow('is under www.shop.example, a domain of another app');
    expect(() => store.domains.add('evil', 'shop.example')).toThrow('www.shop.example, under shop.example, is a domain of another app');
    // The app's own subtree, and a neighbour that merely ends alike, are fine.
    store.domains.add('shop', 'login.www.shop.example');
    store.domains.add('evil', 'xwww.shop.example');
    expect(store.domains.list('evil')).toEqual(['xwww.shop.example']);
  });

  it("asks a review app's parent who may use it, live", () => {
    store.apps.create('shop', 'alice');
    store.apps.createReview('shop-feature', 'shop', 'feature', 'alice');
    store.access.grant('shop', 'bob', 'alice');
    expect(mayUseApp(store, 'shop-feature', bob)).toBe(true);
    store.access.revoke('shop', 'bob');
    expect(mayUseApp(store, 'shop-feature', bob)).toBe(false);
    expect(mayUseApp(store, 'shop-feature', alice)).toBe(true);
  });
});

describe('the build API writes its own build request', () => {
  const image = 'skiff/shop:build-1';
  it('keeps what it checked, drops what Skiff sets, and refuses the rest', () => {
    const checked = checkBuildQuery(new URLSearchParams({ t: `docker.io/${image}`, memory: '99999999999', nocache: '1', buildargs: '{"A":"b"}' }), image, {
      memory: 1024,
      networkmode: 'skiff-builds',
    });
    expect(Object.fromEntries(checked.query)).toEqual({
      t: image,
      version: '1',
      rm: '1',
      forcerm: '1',
      nocache: '1',
      buildargs: '{"A":"b"}',
      memory: '1024',
      networkmode: 'skiff-builds',
    });
    expect(checked.buildArgs).toEqual({ A: 'b' });
    expect(() =>
      checkBuildQuery(
        new URLSearchParams([
          ['t', image],
          ['dockerfile', 'a'],
          ['dockerfile', 'b'],
        ]),
        image,
        {},
      ),
    ).toThrow("'dockerfile' is given twice");
    expect(() => checkBuildQuery(new URLSearchParams({ t: image, networkmode: 'host' }), image, {})).toThrow("may not use the network 'host'");
    expect(() => checkBuildQuery(new URLSearchParams({ t: image, labels: '{"skiff.app-id":"x"}' }), image, {})).toThrow("Skiff's own labels");
    expect(() => checkBuildQuery(new URLSearchParams({ t: image, buildargs: '{"A":1}' }), image, {})).toThrow('is no string');
    expect(() => checkBuildQuery(new URLSearchParams({ t: image, sneaky: '1' }), image, {})).toThrow("'sneaky' is not part of the build API");
  });
});
