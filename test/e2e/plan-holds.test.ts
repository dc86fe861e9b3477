/**
 * `configstamp plan` says what waits, on a real control plane (no node: a Deployment restarted
 * with a replica stays rolling, its new pod never scheduled, and one with none completes at once). With
 * `--rollout-budget=2`, one workload rolling already holds a slot: of three drifted workloads,
 * the rolling one and one more would roll, and the third waits for the budget.
 */
import t from 'tap';
import { runPlan } from '../support/plan.js';
import { eventually } from '../support/poll.js';
import { apply, configMap, createNamespace, deployment, startCluster, startWatcher } from './watcher-support.js';

const { cluster, client } = await startCluster(t);
await createNamespace(cluster, 'configstamp');
const ns = await createNamespace(cluster, 'plan-holds');
const withReplicas = (name: string, replicas: number) => {
  const d = deployment(name, { configMap: 'cfg' }) as { spec: { replicas?: number } };
  d.spec.replicas = replicas;
  return d;
};
await apply(cluster, ns, [configMap('cfg', { level: 'info' }), withReplicas('a-idle', 0), withReplicas('b-idle', 0), withReplicas('c-stuck', 1)]);
const watcher = await startWatcher(cluster, 'configstamp');
await eventually('all three adopted', async () =>
  watcher.proc.records().filter((r) => r.msg === 'adopted: recorded current digests on the workload (no rollout)').length >= 3 ? true : undefined,
);
await watcher.proc.stop();
// c-stuck starts a rollout of its own (a restart): its new pod is never scheduled and its old one
// stays, so it is rolling (2 replicas, 1 updated) for as long as the test runs.
await client.request('PATCH', `/apis/apps/v1/namespaces/${ns}/deployments/c-stuck`, {
  body: { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } } } },
  contentType: 'application/merge-patch+json',
});
await eventually('c-stuck rolling', async () => {
  const d = await client.request<{ status?: { replicas?: number; updatedReplicas?: number } }>('GET', `/apis/apps/v1/namespaces/${ns}/deployments/c-stuck`);
  return (d.status?.replicas ?? 0) === 2 && (d.status?.updatedReplicas ?? 0) === 1 ? true : undefined;
});
await client.request('PATCH', `/api/v1/namespaces/${ns}/configmaps/cfg`, { body: { data: { level: 'debug' } }, contentType: 'application/merge-patch+json' });

t.test('plan --rollout-budget: the rolling workload keeps its slot, one more rolls, the third waits', async (t) => {
  const { exitCode, rows } = await runPlan(cluster.kubeconfigPath, 'configstamp', ns, ['--rollout-budget=2']);
  t.equal(exitCode, 0, 'plan exits 0');
  t.same(
    rows.map((r) => [r.name, r.action]),
    [
      ['a-idle', 'rollout'],
      ['b-idle', 'held'],
      ['c-stuck', 'rollout'],
    ],
    'a-idle takes the free slot; c-stuck, rolling, holds its own; b-idle waits',
  );
  t.match(rows[1]?.why, /^waiting for the rollout budget \(1 of 2 rolling\): ConfigMap\/cfg [0-9a-f]{8}→[0-9a-f]{8}$/);
  const unbudgeted = await runPlan(cluster.kubeconfigPath, 'configstamp', ns);
  t.equal(unbudgeted.exitCode, 0);
  t.same(
    unbudgeted.rows.map((r) => r.action),
    ['rollout', 'rollout', 'rollout'],
    'without a budget, all three would roll',
  );
});
