/**
 * Watcher end-to-end: restart sync (scenario 4, with `configstamp plan` while the watcher is
 * down), install over unstamped workloads (5), and an API server restart with a change made
 * while the watcher was disconnected (7).
 */
import t from 'tap';
import { runPlan } from '../support/plan.js';
import { eventually, sleep } from '../support/poll.js';
import { replicaSetCounts } from '../support/rollouts.js';
import { annotationsOf, apply, configMap, createNamespace, deployment, kubectl, rolloutCount, startCluster, startWatcher } from './watcher-support.js';

const { cluster, client } = await startCluster(t);
await createNamespace(cluster, 'configstamp');

const patchRecords = (records: Record<string, unknown>[]) => records.filter((r) => r.msg === 'rollout: stamp patched' || String(r.msg).startsWith('adopted'));
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
