/**
 * Watcher end-to-end: leader killed during a burst of changes (scenario 6) and a flapping source
 * held back by the churn guard (8).
 */
import t from 'tap';
import { runPlan } from '../support/plan.js';
import { eventually, sleep } from '../support/poll.js';
import { replicaSetCounts } from '../support/rollouts.js';
import { annotationsOf, apply, configMap, createNamespace, deployment, kubectl, startCluster, startWatcher } from './watcher-support.js';
import type { RunningWatcher } from './watcher-support.js';

const { cluster, client } = await startCluster(t);

async function waitAdopted(ns: string, names: readonly string[]): Promise<void> {
  for (const name of names) {
    await eventually(`${name} adopted`, async () =>
      (await annotationsOf(client, `/apis/apps/v1/namespaces/${ns}/deployments/${name}`)).own['configstamp.io/adopted-stamp'] ? true : undefined,
    );
  }
}

t.test('6: leader killed during a burst of changes → no change lost, none applied twice', async (t) => {
  await createNamespace(cluster, 'cs-ha');
  const ns = await createNamespace(cluster, 'burst');
  const n = 20;
  const names = Array.from({ length: n }, (_, i) => `app-${i}`);
  await apply(
    cluster,
    ns,
    names.map((_, i) => configMap(`cm-${i}`, { k: '1' })),
  );
  await apply(
    cluster,
    ns,
    names.map((name, i) => deployment(name, { configMap: `cm-${i}` })),
  );
  const a = await startWatcher(cluster, 'cs-ha');
  const b = await startWatcher(cluster, 'cs-ha', [], false);
  t.teardown(() => Promise.all([a.proc.stop(), b.proc.stop()]));
  await waitAdopted(ns, names);
  t.notOk(
    b.proc.records().some((r) => r.msg === 'became leader'),
    'the second replica stands by',
  );
  t.notOk(
    b.proc.records().some((r) => r.msg === 'rollout: stamp patched' || String(r.msg).startsWith('adopted')),
    'the standby wrote nothing',
  );
  await eventually('first ReplicaSets', async () => ([...(await replicaSetCounts(client, ns)).values()].length === n ? true : undefined));

  await apply(
    cluster,
    ns,
    names.slice(0, n / 2).map((_, i) => configMap(`cm-${i}`, { k: '2' })),
  );
  await sleep(150);
  a.proc.child.kill('SIGKILL');
  await apply(
    cluster,
    ns,
    names.slice(n / 2).map((_, i) => configMap(`cm-${i + n / 2}`, { k: '2' })),
  );
  await b.proc.waitFor((r) => r.msg === 'became leader', 30_000);
  const counts = await eventually(
    'every workload rolled',
    async () => {
      const c = await replicaSetCounts(client, ns);
      return names.every((name) => c.get(name) === 2) ? c : undefined;
    },
    60_000,
  );
  await sleep(2_500);
  t.same(await replicaSetCounts(client, ns), counts, 'and none twice');
  const byA = a.proc.records().filter((r) => r.msg === 'rollout: stamp patched' && String(r.workload).includes(`/${ns}/`)).length;
  const byB = b.proc.records().filter((r) => r.msg === 'rollout: stamp patched' && String(r.workload).includes(`/${ns}/`)).length;
  // A SIGKILLed process may lose its last log lines, so the logs can only undercount patches.
  t.ok(byA + byB <= n && byB > 0, `no change patched twice across the failover (old leader logged ${byA}, new leader ${byB})`);
});

t.test('8: a source flapping 20 times in 10 s → rollouts capped by the churn guard, Warning Event', async (t) => {
  await createNamespace(cluster, 'cs-flap');
  const ns = await createNamespace(cluster, 'flap');
  await apply(cluster, ns, [configMap('cfg', { k: '0' })]);
  await apply(cluster, ns, [deployment('app', { configMap: 'cfg' })]);
  const w: RunningWatcher = await startWatcher(cluster, 'cs-flap', ['--min-rollout-interval=4s']);
  t.teardown(() => w.proc.stop());
  await waitAdopted(ns, ['app']);
  const start = Date.now();
  for (let i = 1; i <= 20; i++) {
    await kubectl(cluster, ['patch', 'configmap', 'cfg', '-n', ns, '-p', JSON.stringify({ data: { k: String(i) } })]);
    const due = start + i * 500;
    if (Date.now() < due) await sleep(due - Date.now());
  }
  const flapMs = Date.now() - start;
  await sleep(5_000);
  const rollouts = w.rollouts().filter((r) => String(r.workload).includes(`/${ns}/`)).length;
  const cap = Math.ceil((flapMs + 5_000) / 4_000) + 1;
  t.ok(rollouts >= 2 && rollouts <= cap, `${rollouts} rollouts for 20 changes over ${flapMs} ms (cap ${cap})`);
  const events = await kubectl(cluster, ['get', 'events', '-n', ns, '-o', 'json']);
  t.match(events, /"reason": "ConfigstampRolloutHeldBack"/, 'Warning Event present');
  t.match(events, /"type": "Warning"/);
  const metrics = await (await fetch(`http://127.0.0.1:${w.opsPort}/metrics`)).text();
  t.match(metrics, new RegExp(`configstamp_watcher_held_back_rollouts_total\\{kind="Deployment",namespace="${ns}"\\} [1-9]`), 'held-back metric');
  t.same((await runPlan(cluster.kubeconfigPath, 'cs-flap', ns)).output, { rows: [] }, 'the latest state was applied once the interval passed');
});
