/** The informer against a fake API: paginated list, watch from the list's version, relist on 410 and on errors. */
import t from 'tap';
import type { RequestOptions } from '../../shared/kube/client.js';
import { IdleTimeoutError, KubeApiError } from '../../shared/kube/client.js';
import { createLogger } from '../../shared/log.js';
import { Informer } from '../../shared/kube/informer.js';
import { fakeKube } from '../support/fake-kube.js';

type WatchScript = (onEvent: (e: { type: string; object: unknown }) => void, options: RequestOptions) => Promise<void>;

function fakeClient(lists: (() => { items: unknown[]; metadata: { continue?: string; resourceVersion: string } })[], watches: WatchScript[]) {
  const calls: { kind: string; query: Record<string, unknown> }[] = [];
  let list = 0;
  let watch = 0;
  const client = fakeKube({
    async request(_method: string, _path: string, options: RequestOptions = {}) {
      calls.push({ kind: 'list', query: { ...options.query } });
      const next = lists[list++];
      if (!next) throw new KubeApiError(503, 'ServiceUnavailable', 'down');
      return next();
    },
    async watch(_path: string, options: RequestOptions, onEvent: (e: { type: string; object: unknown }) => void) {
      calls.push({ kind: 'watch', query: { ...options.query } });
      const script = watches[watch++] ?? (async (_on, o) => new Promise<void>((r) => o.signal?.addEventListener('abort', () => r())));
      return script(onEvent, options);
    },
  });
  return { client, calls };
}

/** Runs the informer for `ms`, then stops it and waits for it to end. */
async function runFor(informer: Informer, ms: number): Promise<void> {
  const abort = new AbortController();
  const running = informer.run(abort.signal);
  await new Promise((r) => setTimeout(r, ms));
  abort.abort();
  await running;
}

const obj = (name: string, rv: string) => ({ metadata: { name, namespace: 'ns', resourceVersion: rv } });

t.test('lists every page, watches from the list version, relists on 410 Gone', async (t) => {
  const { client, calls } = fakeClient(
    [
      () => ({ items: [obj('a', '1')], metadata: { continue: 'tok', resourceVersion: '5' } }),
      () => ({ items: [obj('b', '2')], metadata: { resourceVersion: '5' } }),
      () => ({ items: [obj('a', '1'), obj('b', '2'), obj('c', '7')], metadata: { resourceVersion: '9' } }),
    ],
    [
      async (on) => {
        on({ type: 'ADDED', object: obj('c', '7') });
        on({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '8' } } });
        on({ type: 'ERROR', object: { kind: 'Status', code: 410 } });
      },
    ],
  );
  const replaced: { names: string[]; initial: boolean }[] = [];
  const events: string[] = [];
  const restarts: string[] = [];
  const informer = new Informer(
    client,
    { resource: 'configmaps', path: '/api/v1/configmaps' },
    {
      replace: (items, initial) => replaced.push({ names: items.map((i) => (i as { metadata: { name: string } }).metadata.name), initial }),
      event: (type, o) => events.push(`${type} ${(o as { metadata: { name: string } }).metadata.name}`),
      restarted: (reason) => restarts.push(reason),
    },
    createLogger('silent', 'test'),
    { watchTimeoutMs: 60_000, backoffMs: { base: 1, max: 2 } },
  );
  await runFor(informer, 50);
  t.same(replaced, [
    { names: ['a', 'b'], initial: true },
    { names: ['a', 'b', 'c'], initial: false },
  ]);
  t.same(events, ['ADDED c'], 'bookmarks and errors are not handed on');
  t.same(restarts, ['gone']);
  t.equal(calls[1]!.query.continue, 'tok', 'second page asked with the continue token');
  t.equal(calls[2]!.kind, 'watch');
  t.equal(calls[2]!.query.resourceVersion, '5', 'watch starts at the list version');
  t.equal(informer.hasSynced, true);
});

t.test('a broken stream relists after a backoff; an optional resource that is not served counts as empty', async (t) => {
  const { client } = fakeClient(
    [() => ({ items: [obj('a', '1')], metadata: { resourceVersion: '3' } }), () => ({ items: [obj('a', '4')], metadata: { resourceVersion: '4' } })],
    [
      async () => {
        throw new Error('socket hang up');
      },
    ],
  );
  const replaced: boolean[] = [];
  const restarts: string[] = [];
  const informer = new Informer(
    client,
    { resource: 'x', path: '/x' },
    {
      replace: (_items, initial) => replaced.push(initial),
      event: () => undefined,
      restarted: (reason) => restarts.push(reason),
    },
    createLogger('silent', 'test'),
    { watchTimeoutMs: 60_000, backoffMs: { base: 1, max: 2 } },
  );
  await runFor(informer, 50);
  t.same(replaced, [true, false]);
  t.same(restarts, ['error']);

  const missing = fakeKube({
    request: async () => {
      throw new KubeApiError(404, 'NotFound', 'the server could not find the requested resource');
    },
    watch: async () => undefined,
  });
  const seen: number[] = [];
  const optional = new Informer(
    missing,
    { resource: 'rollouts', path: '/apis/argoproj.io/v1alpha1/rollouts', optional: true },
    {
      replace: (items) => seen.push(items.length),
      event: () => undefined,
      restarted: () => undefined,
    },
    createLogger('silent', 'test'),
    { watchTimeoutMs: 60_000, backoffMs: { base: 5, max: 5 } },
  );
  await runFor(optional, 30);
  t.equal(optional.hasSynced, true, 'synced (empty) so readiness does not wait for a CRD');
  t.same(seen, [0], 'replaced once with nothing');

  // Forbidden (an older release's Roles lack the resource): an optional one counts as empty too,
  // so the watcher still becomes ready; a required one never does.
  const forbidden = () =>
    fakeKube({
      request: async () => {
        throw new KubeApiError(403, 'Forbidden', 'jobs.batch is forbidden');
      },
      watch: async () => undefined,
    });
  const informerOf = (optional: boolean) =>
    new Informer(
      forbidden(),
      { resource: 'jobs', path: '/apis/batch/v1/jobs', optional },
      { replace: () => undefined, event: () => undefined, restarted: () => undefined },
      createLogger('silent', 'test'),
      { watchTimeoutMs: 60_000, backoffMs: { base: 5, max: 5 } },
    );
  const optionalForbidden = informerOf(true);
  await runFor(optionalForbidden, 30);
  t.equal(optionalForbidden.hasSynced, true, 'an optional resource not granted counts as not available');
  const requiredForbidden = informerOf(false);
  await runFor(requiredForbidden, 30);
  t.equal(requiredForbidden.hasSynced, false, 'a required one is never taken as listed');
});

t.test('a watch whose connection went silent is resumed from its last version, with no relist', async (t) => {
  const { client, calls } = fakeClient(
    [() => ({ items: [obj('a', '1')], metadata: { resourceVersion: '5' } })],
    [
      async (on, options) => {
        t.equal(options.timeoutMs, 1234, 'the watch carries the idle timeout');
        on({ type: 'MODIFIED', object: obj('a', '6') });
        throw new IdleTimeoutError('WATCH /x: the connection was silent for 1234 ms');
      },
    ],
  );
  const replaced: boolean[] = [];
  const restarts: string[] = [];
  const events: string[] = [];
  const informer = new Informer(
    client,
    { resource: 'x', path: '/x' },
    {
      replace: (_items, initial) => replaced.push(initial),
      event: (type) => events.push(type),
      restarted: (reason) => restarts.push(reason),
    },
    createLogger('silent', 'test'),
    { watchTimeoutMs: 60_000, watchIdleMs: 1234, backoffMs: { base: 1, max: 2 } },
  );
  await runFor(informer, 50);
  t.same(replaced, [true], 'listed once');
  t.same(restarts, [], 'not counted as a restart');
  t.same(events, ['MODIFIED']);
  t.same(
    calls.filter((c) => c.kind === 'watch').map((c) => c.query.resourceVersion),
    ['5', '6'],
    'the second watch resumes from the last event seen',
  );
});

t.test('transform is applied to every listed item and watched object; the watch resumes from the untransformed version', async (t) => {
  const { client, calls } = fakeClient(
    [() => ({ items: [{ ...obj('a', '1'), data: { big: 'x' } }], metadata: { resourceVersion: '5' } })],
    [
      async (on) => {
        on({ type: 'MODIFIED', object: { ...obj('a', '6'), data: { big: 'y' } } });
        throw new Error('stream broke');
      },
    ],
  );
  const seen: unknown[] = [];
  const informer = new Informer(
    client,
    {
      resource: 'configmaps',
      path: '/api/v1/configmaps',
      transform: (o) => ({ name: (o as { metadata: { name: string } }).metadata.name }),
    },
    {
      replace: (items) => void seen.push(...items),
      event: (_type, o) => void seen.push(o),
      restarted: () => undefined,
    },
    createLogger('silent', 'test'),
    { watchTimeoutMs: 60_000, backoffMs: { base: 1, max: 2 } },
  );
  await runFor(informer, 30);
  t.same(seen.slice(0, 2), [{ name: 'a' }, { name: 'a' }], 'handlers see only the transformed objects');
  t.equal(calls[1]!.query.resourceVersion, '5');
});
