/**
 * Reloader's deployment.reloader.stakater.com/pause-period, durably, on a real control plane: the
 * rollout pauses the Deployment (spec.paused and a paused-at record in the same write), a change
 * inside the period joins it, and when the period is over the Deployment is resumed and rolls
 * once, even when the watcher was down at that moment (the record is on the object). A Deployment
 * paused by its user, or by a Reloader that never resumed it, is handled as each deserves.
 */
import t from 'tap';
import { eventually, sleep } from '../support/poll.js';
import { apply, configMap, createNamespace, deployment, rolloutCount, startCluster, startWatcher } from './watcher-support.js';

const { cluster, client } = await startCluster(t);
await createNamespace(cluster, 'configstamp');
const ns = await createNamespace(cluster, 'paused');

interface View {
  paused: boolean;
  annotations: Record<string, string>;
  replicaSets: number;
}
async function view(name: string): Promise<View> {
  const d = await client.request<{ metadata: { annotations?: Record<string, string> }; spec: { paused?: boolean } }>(
    'GET',
    `/apis/apps/v1/namespaces/${ns}/deployments/${name}`,
  );
  return { paused: d.spec.paused === true, annotations: d.metadata.annotations ?? {}, replicaSets: await rolloutCount(client, ns, 'Deployment', name) };
}

t.test('paused for the period, one rollout at its end, across a watcher restart', async (t) => {
  await apply(cluster, ns, [configMap('cfg', { v: '1' })]);
  await apply(cluster, ns, [
    deployment('web', { configMap: 'cfg' }, { 'reloader.stakater.com/auto': 'true', 'deployment.reloader.stakater.com/pause-period': '6s' }),
  ]);
  let watcher = await startWatcher(cluster, 'configstamp', [`--namespaces=${ns}`]);
  await eventually('adopted', async () => ((await view('web')).annotations['configstamp.io/adopted-stamp'] ? true : undefined));
  const before = (await view('web')).replicaSets;
  await apply(cluster, ns, [configMap('cfg', { v: '2' })]);
  await eventually('paused by the rollout', async () => ((await view('web')).paused ? true : undefined));
  const paused = await view('web');
  t.ok(paused.annotations['configstamp.io/paused-at'], 'the pause is on record');
  await apply(cluster, ns, [configMap('cfg', { v: '3' })]);
  await sleep(1_000);
  t.equal((await view('web')).replicaSets, before, 'nothing rolls while paused, a second change included');
  await watcher.proc.stop();
  await sleep(6_000); // the period ends while the watcher is down
  t.ok((await view('web')).paused, 'still paused with the watcher down');
  watcher = await startWatcher(cluster, 'configstamp', [`--namespaces=${ns}`]);
  t.teardown(() => watcher.proc.stop());
  await eventually('resumed at boot', async () => (!(await view('web')).paused ? true : undefined));
  await eventually('one rollout', async () => ((await view('web')).replicaSets === before + 1 ? true : undefined));
  await sleep(1_500);
  const after = await view('web');
  t.equal(after.replicaSets, before + 1, 'both changes in exactly one rollout');
  t.notOk(after.annotations['configstamp.io/paused-at'], 'the record is gone');
  t.ok(
    watcher.proc.records().some((r) => r.msg === 'pause period over: resumed (the Deployment rolls once with what it has)'),
    'the resume is logged',
  );
});

t.test('a Deployment its user paused stays paused; one Reloader left paused is resumed', async (t) => {
  await apply(cluster, ns, [configMap('cfg2', { v: '1' })]);
  const userPaused = deployment(
    'mine',
    { configMap: 'cfg2' },
    { 'reloader.stakater.com/auto': 'true', 'deployment.reloader.stakater.com/pause-period': '1s' },
  ) as { spec: Record<string, unknown> };
  userPaused.spec.paused = true;
  const leftByReloader = deployment(
    'left',
    { configMap: 'cfg2' },
    {
      'reloader.stakater.com/auto': 'true',
      'deployment.reloader.stakater.com/pause-period': '1m',
      'deployment.reloader.stakater.com/paused-at': '2026-01-01T00:00:00Z',
    },
  ) as { spec: Record<string, unknown> };
  leftByReloader.spec.paused = true;
  await apply(cluster, ns, [userPaused, leftByReloader]);
  const watcher = await startWatcher(cluster, 'configstamp', [`--namespaces=${ns}`]);
  t.teardown(() => watcher.proc.stop());
  await eventually('the Reloader pause resumed', async () => (!(await view('left')).paused ? true : undefined));
  t.notOk((await view('left')).annotations['deployment.reloader.stakater.com/paused-at'], "Reloader's record is cleared");
  await sleep(1_500);
  t.ok((await view('mine')).paused, "the user's pause is left alone");
});
