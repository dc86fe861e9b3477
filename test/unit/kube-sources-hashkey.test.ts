// Kubernetes I/O units with the typed fake (test/support/fake-kube.ts): fetchSources' bounded
// reads, its deadline (CS_ERR_DEADLINE) and failures (CS_ERR_SOURCE_READ) naming the source;
// ensureHashKey reading, creating, and agreeing with a racing creator (409).
import t from 'tap';
import { KubeApiError } from '../../shared/kube/client.js';
import { ensureHashKey, readHashKey } from '../../shared/kube/hashkey.js';
import { fetchSources, mapBounded } from '../../shared/kube/sources.js';
import { fakeKube } from '../support/fake-kube.js';

const ref = { namespace: 'configstamp', name: 'configstamp-hash-key' };
const keyData = Buffer.alloc(32, 5).toString('base64');

t.test('fetchSources: objects by id, null for absent ones, at most `concurrency` in flight', async (t) => {
  let inFlight = 0;
  let most = 0;
  const client = fakeKube({
    getOrNull: async (path) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return path.endsWith('/missing') ? null : { metadata: { name: path.split('/').pop() } };
    },
  });
  const keys = [
    { kind: 'ConfigMap' as const, name: 'a' },
    { kind: 'Secret' as const, name: 'b' },
    { kind: 'ConfigMap' as const, name: 'missing' },
    { kind: 'ConfigMap' as const, name: 'c' },
  ];
  const got = await fetchSources(client, 'shop', keys, { concurrency: 2, deadlineMs: 1000 });
  t.same([...got.keys()], ['ConfigMap/a', 'Secret/b', 'ConfigMap/missing', 'ConfigMap/c']);
  t.equal(got.get('ConfigMap/missing'), null);
  t.equal(most, 2, 'bounded');
  t.same(
    client.calls.map((c) => c.path),
    [
      '/api/v1/namespaces/shop/configmaps/a',
      '/api/v1/namespaces/shop/secrets/b',
      '/api/v1/namespaces/shop/configmaps/missing',
      '/api/v1/namespaces/shop/configmaps/c',
    ],
  );
  t.same(await mapBounded([], 3, async () => 1), [], 'nothing to do');
});

t.test('fetchSources: a deadline or a failure is one error naming the source, never a body', async (t) => {
  const hang = fakeKube({
    getOrNull: (_p, options) => new Promise((_r, reject) => options?.signal?.addEventListener('abort', () => reject(new Error('aborted')))),
  });
  await t.rejects(fetchSources(hang, 'shop', [{ kind: 'Secret', name: 'db' }], { concurrency: 1, deadlineMs: 30 }), {
    code: 'CS_ERR_DEADLINE',
    message: 'reading Secret shop/db: no answer within 30 ms',
  });
  const denied = fakeKube({
    getOrNull: async () => {
      throw new KubeApiError(403, 'Forbidden', 'secrets "db" is forbidden');
    },
  });
  await t.rejects(fetchSources(denied, 'shop', [{ kind: 'Secret', name: 'db' }], { concurrency: 1, deadlineMs: 1000 }), {
    code: 'CS_ERR_SOURCE_READ',
    message: /Secret shop\/db.*forbidden/,
  });
});

t.test('ensureHashKey: reads an existing key, creates a missing one, and a racing creator wins alike', async (t) => {
  const existing = fakeKube({ getOrNull: async () => ({ data: { key: keyData } }) });
  t.same(await ensureHashKey(existing, ref), { key: Buffer.from(keyData, 'base64'), created: false });

  let created: unknown;
  const missing = fakeKube({ getOrNull: async () => null, request: async (_m, _p, options) => (created = options?.body) });
  const made = await ensureHashKey(missing, ref);
  t.equal(made.created, true);
  t.equal(made.key.length, 32, '256 bits');
  t.match(created, { kind: 'Secret', metadata: { name: 'configstamp-hash-key', namespace: 'configstamp' } });
  t.match(missing.calls.at(-1), { method: 'POST', path: '/api/v1/namespaces/configstamp/secrets' });

  let reads = 0;
  const race = fakeKube({
    getOrNull: async () => (reads++ === 0 ? null : { data: { key: keyData } }),
    request: async () => {
      throw new KubeApiError(409, 'AlreadyExists', 'secrets "configstamp-hash-key" already exists');
    },
  });
  t.same(await ensureHashKey(race, ref), { key: Buffer.from(keyData, 'base64'), created: false }, "the 409 loser reads the winner's key");

  const short = fakeKube({ getOrNull: async () => ({ data: { key: Buffer.alloc(8).toString('base64') } }) });
  await t.rejects(readHashKey(short, ref), { code: 'CS_ERR_HASH_KEY', message: /8 bytes; at least 16/ });
  await t.rejects(readHashKey(fakeKube({ getOrNull: async () => null }), ref), { code: 'CS_ERR_HASH_KEY', message: /not found/ });
});
