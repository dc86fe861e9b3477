/**
 * Restart windows on a real control plane. A window opening about 30 s from now (cron has minute
 * resolution, so the next minute at least 35 s away) holds two changes to a shared ConfigMap and
 * applies them as one rollout when it opens, across a watcher restart in between. A workload
 * outside any window rolls at once; a namespace's window (Reloader's key) holds its workloads too;
 * an unreadable policy holds with a Warning. `plan` says "pending until …"; the held workload gets
 * one Event for the hold, not one per change nor one per watcher.
 */
import t from 'tap';
import { eventually, sleep } from '../support/poll.js';
import { replicaSetsOf } from '../support/rollouts.js';
import { runPlan } from '../support/plan.js';
import { annotationsOf, apply, configMap, deployment, startCluster, startWatcher } from './watcher-support.js';
import type { RunningWatcher } from './watcher-support.js';

const { cluster, client } = await startCluster(t);
const ns = 'windows';
const nsHeld = 'windows-ns';
await apply(cluster, 'default', [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'configstamp' } }]);

// The opening: the start of the first minute at least 25 s away, in UTC; the window lasts 5 minutes.
const opensAt = Math.ceil((Date.now() + 35_000) / 60_000) * 60_000;
const opening = new Date(opensAt);
const window = JSON.stringify({ timezone: 'UTC', windows: [{ cron: `${opening.getUTCMinutes()} ${opening.getUTCHours()} * * *`, duration: '5m' }] });
const hhmm = `${String(opening.getUTCHours()).padStart(2, '0')}:${String(opening.getUTCMinutes()).padStart(2, '0')}`;
const TRACK = { 'configstamp.io/track': 'true' };
await apply(cluster, 'default', [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }]);
await apply(cluster, 'default', [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: nsHeld, annotations: { 'reloader.stakater.com/restart-window': window } } },
]);
await apply(cluster, ns, [
  configMap('cfg', { level: 'info' }),
  deployment('windowed', { configMap: 'cfg' }, { ...TRACK, 'configstamp.io/restart-window': window }),
  deployment('anytime', { configMap: 'cfg' }, TRACK),
  deployment(
    'typo',
    { configMap: 'cfg' },
    { ...TRACK, 'configstamp.io/restart-window': '{"timezone":"UTC","windows":[{"cron":"0 2 * * *","duration":"1 hour"}]}' },
  ),
]);
await apply(cluster, nsHeld, [configMap('cfg', { level: 'info' }), deployment('inherits', { configMap: 'cfg' }, TRACK)]);

let watcher: RunningWatcher = await startWatcher(cluster, 'configstamp');
t.teardown(() => watcher.proc.stop());
const count = async (namespace: string, name: string): Promise<number> => (await replicaSetsOf(client, namespace, name)).length;
const adopted = async (namespace: string, name: string): Promise<boolean> =>
  (await annotationsOf(client, `/apis/apps/v1/namespaces/${namespace}/deployments/${name}`)).own['configstamp.io/adopted-stamp'] !== undefined;
await eventually('all four adopted', async () =>
  (await Promise.all([adopted(ns, 'windowed'), adopted(ns, 'anytime'), adopted(ns, 'typo'), adopted(nsHeld, 'inherits')])).every(Boolean) ? true : undefined,
);
const events = async (namespace: string, name: string, reason: string) =>
  (
    await client.request<{ items: { reason: string; type: string; message: string; involvedObject: { name: string; uid?: string } }[] }>(
      'GET',
      `/api/v1/namespaces/${namespace}/events`,
    )
  ).items.filter((e) => e.involvedObject.name === name && e.reason === reason);
const change = async (level: string): Promise<void> => {
  for (const n of [ns, nsHeld]) {
    await client.request('PATCH', `/api/v1/namespaces/${n}/configmaps/cfg`, {
      body: { data: { level } },
      contentType: 'application/merge-patch+json',
    });
  }
};

t.test('outside its window a change is held; a workload with no window rolls at once', async (t) => {
  t.ok(Date.now() < opensAt - 10_000, 'the window is still well ahead');
  await change('debug');
  await eventually('anytime rolled', async () => ((await count(ns, 'anytime')) === 2 ? true : undefined));
  await eventually('the hold said', async () => ((await events(ns, 'windowed', 'ConfigstampRolloutPendingWindow')).length > 0 ? true : undefined));
  t.equal(await count(ns, 'windowed'), 1, 'windowed: held');
  t.equal(await count(nsHeld, 'inherits'), 1, "inherits: held by its namespace's window (Reloader's key)");
  t.equal(await count(ns, 'typo'), 1, 'typo: an unreadable window holds (fail closed)');
  const [held] = await events(ns, 'windowed', 'ConfigstampRolloutPendingWindow');
  t.match(
    held?.message,
    new RegExp(`pending until \\d{4}-\\d\\d-\\d\\d ${hhmm} UTC \\(restart window, workload annotation configstamp\\.io/restart-window\\)`),
  );
  t.ok(held?.involvedObject.uid, "the Event carries the workload's UID (kubectl describe finds it)");
  await eventually('the typo warned', async () => ((await events(ns, 'typo', 'ConfigstampRestartWindowInvalid')).length === 1 ? true : undefined));
  t.match((await events(ns, 'typo', 'ConfigstampRestartWindowInvalid'))[0], { type: 'Warning', message: /duration: a Go duration from 1m to 24h/ });
  await eventually('the namespace hold said', async () =>
    (await events(nsHeld, 'inherits', 'ConfigstampRolloutPendingWindow')).some((e) =>
      /namespace annotation reloader\.stakater\.com\/restart-window/.test(e.message),
    )
      ? true
      : undefined,
  );

  const { exitCode, rows } = await runPlan(cluster.kubeconfigPath, 'configstamp', ns);
  t.equal(exitCode, 0, 'plan exits 0');
  t.match(
    rows.find((r) => r.name === 'windowed'),
    { action: 'held', why: new RegExp(`^pending until \\d{4}-\\d\\d-\\d\\d ${hhmm} UTC .*ConfigMap/cfg`) },
    'plan: held, pending until the opening',
  );
  t.match(
    rows.find((r) => r.name === 'typo'),
    { action: 'held', why: /cannot be read/ },
    'plan: the typo holds, and why',
  );
});

t.test('held across a watcher restart and a second change; applied once when the window opens', async (t) => {
  await watcher.proc.stop();
  await change('warn');
  watcher = await startWatcher(cluster, 'configstamp');
  await eventually('anytime rolled again', async () => ((await count(ns, 'anytime')) === 3 ? true : undefined));
  t.ok(Date.now() < opensAt, 'the restart and the second change came before the opening');
  t.equal(await count(ns, 'windowed'), 1, 'still held after the restart');
  await sleep(1_000);
  t.equal((await events(ns, 'windowed', 'ConfigstampRolloutPendingWindow')).length, 1, 'one Event for the hold: not one per change, nor one per watcher');

  await eventually('windowed rolled at the opening', async () => ((await count(ns, 'windowed')) === 2 ? true : undefined), opensAt - Date.now() + 20_000, 200);
  const rolledAt = Date.now();
  t.ok(rolledAt >= opensAt, `not before the opening (${rolledAt - opensAt} ms after it)`);
  await eventually('inherits rolled at the opening', async () => ((await count(nsHeld, 'inherits')) === 2 ? true : undefined), 20_000, 200);
  await sleep(1_500);
  t.equal(await count(ns, 'windowed'), 2, 'both held changes: one rollout');
  t.equal(await count(nsHeld, 'inherits'), 2, "the namespace's workload: one rollout too");
  t.equal(await count(ns, 'typo'), 1, 'the unreadable window still holds');
  const last = watcher
    .rollouts()
    .filter((r) => r.workload === `Deployment/${ns}/windowed`)
    .at(-1);
  t.match(String(last?.changed), /ConfigMap\/cfg/, 'the rollout names the ConfigMap');
});
