// The webhook's namespace cache: labels come from the shared list + watch, so a lookup of a known
// namespace makes no request; an unknown one falls back to a single GET.
import t from 'tap';
import { Writable } from 'node:stream';
import { createLogger } from '../../shared/log.js';
import type { RequestOptions } from '../../shared/kube/client.js';
import { NamespaceCache } from '../../webhook/namespaces.js';
import { fakeKube } from '../support/fake-kube.js';

t.test('labels from the list and the watch; GET only for a namespace not seen yet', async (t) => {
  const gets: string[] = [];
  let emit: ((e: { type: string; object: unknown }) => void) | undefined;
  const client = fakeKube({
    request: async () => ({ metadata: { resourceVersion: '10' }, items: [{ metadata: { name: 'team-a', labels: { 'configstamp.io/track': 'true' } } }] }),
    watch: (_path: string, options: RequestOptions, onEvent: (e: { type: string; object: unknown }) => void) => {
      emit = onEvent;
      return new Promise<void>((resolve) => options.signal?.addEventListener('abort', () => resolve(), { once: true }));
    },
    getOrNull: async (path: string) => {
      gets.push(path);
      return { metadata: { name: 'other', labels: { x: 'y' } } };
    },
  });
  const cache = new NamespaceCache(client, createLogger('silent', 'test', new Writable({ write: (_c, _e, cb) => cb() })), 1000);
  cache.start();
  t.teardown(() => cache.stop());
  await new Promise((r) => setTimeout(r, 20));
  t.same(await cache.get('team-a'), { name: 'team-a', labels: { 'configstamp.io/track': 'true' } }, 'from the list');
  emit!({ type: 'MODIFIED', object: { metadata: { name: 'team-a', resourceVersion: '11', labels: {} } } });
  t.same((await cache.get('team-a')).labels, {}, 'a watch event updates the labels');
  emit!({ type: 'DELETED', object: { metadata: { name: 'team-a', resourceVersion: '12' } } });
  t.same(gets, [], 'no GET while the namespace is cached');
  t.same(await cache.get('other'), { name: 'other', labels: { x: 'y' } }, 'unknown: read with one GET');
  t.same(gets, ['/api/v1/namespaces/other']);
  await cache.get('team-a');
  t.same(gets, ['/api/v1/namespaces/other', '/api/v1/namespaces/team-a'], 'deleted from the cache: read again');
});
