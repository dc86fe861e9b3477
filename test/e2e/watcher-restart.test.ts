/**
 * Watcher end-to-end: restart sync (scenario 4, with `configstamp plan` while the watcher is
 * down), install over unstamped workloads (5), an API server restart with a change made
 * while the watcher was disconnected (7), and a hash key lost and made anew (8).
 */
import t from 'tap';
import { runPlan } from '../support/plan.js';
import { eventually, sleep } from '../support/poll.js';
import { replicaSetCounts } from '../support/rollouts.js';
import { annotationsOf, apply, configMap, createNamespace, deployment, kubectl, rolloutCount, secret, startCluster, startWatcher } from './watcher-support.js';

const { cluster, client } = await startCluster(t);
await createNamespace(cluster, 'configstamp');

const patchRecords = (records: Record<string, unknown>[]) =>
  records.filter((r) => r.msg === 'rollout: stamp patched' || String(r.msg).startsWith('adopted') || String(r.msg).startsWith('re-keyed'));
const deployPath = (ns: string, name: string) => `/apis/apps/v1/namespaces/${ns}/deployments/${name}`;

async function waitAdopted(ns: string, names: readonly string[]): Promise<void> {
  for (const name of names) {
    await eventually(`${name} adopted`, async () =>
      (await annotationsOf(client, deployPath(ns, name))).own['configstamp.io/adopted-stamp'] ? true : undefined,
    );
  }
}

async function waitSettled(ns: string, expected: number): Promise<Map<string, number>> {
  return eventually('ReplicaSets created', async () => {
    const c = await replicaSetCounts(client, ns);
    return [...c.values()].reduce((a, b) => a + b, 0) === expected ? c : undefined;
  });
}

t.test('4: restart sync — changes, creations and deletions made while down are acted on once; a second boot patches nothing', async (t) => {
  const ns = await createNamespace(cluster, 'restart');
  await apply(
    cluster,
    ns,
    ['a', 'b', 'd', 'x'].map((n) => configMap(n, { k: '1' })),
  );
  const names = ['wa', 'wb', 'wc', 'wd', 'wx'];
  await apply(
    cluster,
    ns,
    names.map((n) => deployment(n, { configMap: n.slice(1) })),
  );
  const first = await startWatcher(cluster, 'configstamp');
  await waitAdopted(ns, names);
  await first.proc.stop();
  const before = await waitSettled(ns, 5);

  await apply(cluster, ns, [configMap('a', { k: '2' }), configMap('b', { k: '2' }), configMap('c', { k: '1' })]);
  await kubectl(cluster, ['delete', 'configmap', 'd', '-n', ns]);

  const { exitCode, rows } = await runPlan(cluster.kubeconfigPath, 'configstamp', ns);
  t.equal(exitCode, 0, 'plan exits 0');
  t.same(
    rows.map((r) => [r.name, r.action, r.reason]).sort(),
    [
      ['wa', 'rollout', 'source-changed'],
      ['wb', 'rollout', 'source-changed'],
      ['wc', 'rollout', 'source-created'],
    ],
    'plan names what would roll, and why',
  );
  t.match(rows.find((r) => r.name === 'wc')?.why, /ConfigMap\/c absent→[0-9a-f]{8}/);
  t.equal((await replicaSetCounts(client, ns)).get('wa'), 1, 'plan wrote nothing');

  const second = await startWatcher(cluster, 'configstamp');
  for (const n of ['wa', 'wb', 'wc']) {
    await eventually(`${n} rolled`, async () => ((await rolloutCount(client, ns, 'Deployment', n)) === before.get(n)! + 1 ? true : undefined));
  }
  await sleep(2_500);
  const after = await replicaSetCounts(client, ns);
  for (const n of ['wa', 'wb', 'wc']) t.equal(after.get(n), before.get(n)! + 1, `${n}: exactly one rollout`);
  for (const n of ['wd', 'wx']) t.equal(after.get(n), before.get(n), `${n}: no rollout (deleted source / unchanged)`);
  await second.proc.stop();

  const third = await startWatcher(cluster, 'configstamp');
  // The records written by the rollouts and adoptions are sealed: this boot takes the digests of
  // a, b, c and x from them (d is gone) and reads no source at all.
  const record = (msg: string) => eventually(msg, async () => third.proc.records().find((r) => r.msg === msg));
  t.match(
    await record('warmed the digest cache from workload records and lists'),
    { seeded: 4, trustedRecords: 5, untrustedRecords: 0, lists: 0, digested: 0 },
    'every record trusted; the digests of the four sources that exist taken from them',
  );
  t.match(await record('restart sync: every workload reconciled once'), { workloads: 5, sourcesRead: 0 }, 'no source read');
  await sleep(2_500);
  t.same(
    patchRecords(third.proc.records()).filter((r) => String(r.workload).includes(`/${ns}/`)),
    [],
    'a boot with nothing changed patches nothing',
  );
  await third.proc.stop();
  t.same(await replicaSetCounts(client, ns), after);
});

t.test('5: install over 50 unstamped workloads → 0 rollouts; a later change → 1 each', async (t) => {
  const ns = await createNamespace(cluster, 'install');
  await apply(cluster, ns, [configMap('shared', { k: '1' })]);
  const names = Array.from({ length: 50 }, (_, i) => `app-${i}`);
  await apply(
    cluster,
    ns,
    names.map((n) => deployment(n, { configMap: 'shared' })),
  );
  await waitSettled(ns, 50);
  const w = await startWatcher(cluster, 'configstamp', ['--patch-qps=50', '--patch-burst=50']);
  t.teardown(() => w.proc.stop());
  await waitAdopted(ns, names);
  await sleep(1_000);
  const adoptedCounts = await replicaSetCounts(client, ns);
  t.ok(
    names.every((n) => adoptedCounts.get(n) === 1),
    'every workload still has its one ReplicaSet',
  );
  await apply(cluster, ns, [configMap('shared', { k: '2' })]);
  await waitSettled(ns, 100);
  await sleep(2_000);
  const changed = await replicaSetCounts(client, ns);
  t.ok(
    names.every((n) => changed.get(n) === 2),
    'every workload rolled exactly once',
  );
  await w.proc.stop();
});

t.test('7: API server restarted while the watcher runs; a change made while it was disconnected is picked up', async (t) => {
  const ns = await createNamespace(cluster, 'outage');
  await apply(cluster, ns, [configMap('cfg', { k: '1' })]);
  await apply(cluster, ns, [deployment('app', { configMap: 'cfg' })]);
  const w = await startWatcher(cluster, 'configstamp', ['--lease-duration=30s', '--renew-deadline=20s']);
  t.teardown(() => w.proc.stop());
  await waitAdopted(ns, ['app']);
  await waitSettled(ns, 1);
  await cluster.restartApiServer(() => sleep(1_000));
  await apply(cluster, ns, [configMap('cfg', { k: '2' })]);
  await eventually('rolled after reconnect', async () => ((await rolloutCount(client, ns, 'Deployment', 'app')) === 2 ? true : undefined), 60_000);
  const metrics = await (await fetch(`http://127.0.0.1:${w.opsPort}/metrics`)).text();
  t.match(metrics, /configstamp_watcher_watch_restarts_total\{[^}]*\} [1-9]/, 'watch restarts counted');
  await sleep(2_000);
  t.equal(await rolloutCount(client, ns, 'Deployment', 'app'), 2, 'exactly one rollout');
  await w.proc.stop();
});

// Last in the file: it replaces the hash key the tests above stamped with.
t.test('8: the hash key lost and made anew (a reinstall that deleted the namespace): only what was written meanwhile rolls', async (t) => {
  const ns = await createNamespace(cluster, 'rekey');
  await apply(cluster, ns, [
    configMap('a', { k: '1' }),
    configMap('b', { k: '1' }),
    configMap('c', { k: '1' }),
    configMap('d', { k: '1' }),
    secret('s', { p: 'one' }),
  ]);
  const uses = { wa: { configMap: 'a', secret: 's' }, wb: { configMap: 'b' }, wc: { configMap: 'c' }, wd: { configMap: 'd' } };
  await apply(
    cluster,
    ns,
    Object.entries(uses).map(([n, u]) => deployment(n, u)),
  );
  const first = await startWatcher(cluster, 'configstamp');
  await waitAdopted(ns, Object.keys(uses));
  // wc rolls once under the old key, so its record is a template stamp, not only an adoption.
  await apply(cluster, ns, [configMap('c', { k: '2' })]);
  await eventually('wc rolled', async () => ((await rolloutCount(client, ns, 'Deployment', 'wc')) === 2 ? true : undefined));
  await sleep(1_000);
  await first.proc.stop();
  t.match(
    (await annotationsOf(client, deployPath(ns, 'wa'))).own['configstamp.io/source-versions'],
    /^v2:[0-9a-f]{32}:configmap\/a=\d+,secret\/s=\d+$/,
    'adopted: versions recorded',
  );
  t.match(
    (await annotationsOf(client, deployPath(ns, 'wc'))).own['configstamp.io/source-versions'],
    /^v2:[0-9a-f]{32}:configmap\/c=\d+$/,
    'rolled: versions recorded',
  );
  const before = await replicaSetCounts(client, ns);

  const keyUid = async (): Promise<string> =>
    (await client.request<{ metadata: { uid: string } }>('GET', '/api/v1/namespaces/configstamp/secrets/configstamp-hash-key')).metadata.uid;
  const oldKey = await keyUid();
  await kubectl(cluster, ['delete', 'secret', 'configstamp-hash-key', '-n', 'configstamp']);
  await apply(cluster, ns, [configMap('b', { k: '2' })]); // a real change while configstamp is away
  await kubectl(cluster, ['label', 'configmap', 'd', '-n', ns, 'touched=yes']); // a write that changes no data

  const second = await startWatcher(cluster, 'configstamp');
  t.not(await keyUid(), oldKey, 'the watcher made a new hash key');
  // Only this namespace's: the workloads of the scenarios above are re-keyed too.
  const rekeyed = (name: string) => second.proc.records().find((r) => String(r.msg).startsWith('re-keyed') && String(r.workload).endsWith(`/${ns}/${name}`));
  await eventually('wb and wd rolled', async () =>
    (await rolloutCount(client, ns, 'Deployment', 'wb')) === before.get('wb')! + 1 &&
    (await rolloutCount(client, ns, 'Deployment', 'wd')) === before.get('wd')! + 1
      ? true
      : undefined,
  );
  await eventually('wa and wc re-keyed', async () => (rekeyed('wa') && rekeyed('wc') ? true : undefined));
  await sleep(2_500);
  const after = await replicaSetCounts(client, ns);
  t.equal(after.get('wa'), before.get('wa'), 'wa (adopted), sources not written since: no rollout');
  t.equal(after.get('wc'), before.get('wc'), 'wc (rolled), source not written since: no rollout');
  t.same([rekeyed('wa')?.sources, rekeyed('wc')?.sources], [['ConfigMap/a', 'Secret/s'], ['ConfigMap/c']], 'each re-keyed, its sources named');
  t.equal(after.get('wb'), before.get('wb')! + 1, 'wb: its ConfigMap changed while the key was gone: exactly one rollout');
  t.equal(after.get('wd'), before.get('wd')! + 1, 'wd: its ConfigMap was written (a label): it cannot be told from a change, one rollout');
  // Re-keyed once: the records now hold the new key's digests (the core's convergence is unit-tested).
  t.equal(
    patchRecords(second.proc.records()).filter((r) => String(r.workload).endsWith(`/${ns}/wa`) || String(r.workload).endsWith(`/${ns}/wc`)).length,
    2,
    'one patch each for wa and wc, the re-keying, and no more',
  );
  await second.proc.stop();
});
