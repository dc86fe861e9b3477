/**
 * Per-workload timing on a real control plane: configstamp.io/debounce on a namespace and on a
 * workload overrides --debounce (the workload wins), and configstamp.io/min-rollout-interval
 * overrides --min-rollout-interval. Asserted by order and by lower bounds only (nothing may roll
 * before its window closes), never by how fast a shared machine is.
 */
import t from 'tap';
import { eventually, sleep } from '../support/poll.js';
import { replicaSetsOf } from '../support/rollouts.js';
import { apply, configMap, deployment, startCluster, startWatcher } from './watcher-support.js';

const { cluster, client } = await startCluster(t);
await apply(cluster, 'default', [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'configstamp' } }]);
const ns = 'timing';
// The namespace asks for 200 ms; the flag says 8 s.
await apply(cluster, 'default', [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, annotations: { 'configstamp.io/debounce': '200ms' } } }]);
const TRACK = { 'configstamp.io/track': 'true' };
// A control under the flag's window, in a namespace without the annotation.
const plain = 'timing-flag';
await apply(cluster, 'default', [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: plain } }]);
await apply(cluster, plain, [configMap('cfg', { level: 'info' }), deployment('control', { configMap: 'cfg' }, TRACK)]);
await apply(cluster, ns, [
  configMap('cfg', { level: 'info' }),
  deployment('inherits', { configMap: 'cfg' }, TRACK),
  deployment('own', { configMap: 'cfg' }, { ...TRACK, 'configstamp.io/debounce': '3s' }),
  deployment('guarded', { configMap: 'cfg' }, { ...TRACK, 'configstamp.io/debounce': '0s', 'configstamp.io/min-rollout-interval': '1h' }),
]);
const watcher = await startWatcher(cluster, 'configstamp', ['--debounce=8s', '--min-rollout-interval=0']);
t.teardown(() => watcher.proc.stop());
const count = async (name: string): Promise<number> => (await replicaSetsOf(client, ns, name)).length;
await eventually('first ReplicaSets', async () => ((await Promise.all(['inherits', 'own', 'guarded'].map(count))).every((n) => n === 1) ? true : undefined));
await eventually('adopted', async () =>
  watcher.proc.records().filter((r) => r.msg === 'adopted: recorded current digests on the workload (no rollout)').length >= 4 ? true : undefined,
);
// The adoptions' own events opened windows (up to the flag's 8 s): let them close first.
await sleep(8_500);

t.test("the namespace's and the workload's debounce override the flag's; the workload wins", async (t) => {
  const changed = Date.now();
  await Promise.all([apply(cluster, ns, [configMap('cfg', { level: 'debug' })]), apply(cluster, plain, [configMap('cfg', { level: 'debug' })])]);
  const rolledAt: Record<string, number> = {};
  const countIn = async (name: string): Promise<number> => (await replicaSetsOf(client, name === 'control' ? plain : ns, name)).length;
  await eventually(
    'every one rolled',
    async () => {
      for (const name of ['inherits', 'own', 'control']) if (rolledAt[name] === undefined && (await countIn(name)) === 2) rolledAt[name] = Date.now();
      return Object.keys(rolledAt).length === 3 ? true : undefined;
    },
    30_000,
    50,
  );
  t.ok(rolledAt.own! - changed >= 3_000, `own waited its own 3 s window (${rolledAt.own! - changed} ms)`);
  t.ok(rolledAt.control! - changed >= 8_000, `control waited the flag's 8 s (${rolledAt.control! - changed} ms)`);
  t.ok(rolledAt.inherits! < rolledAt.own!, "inherits (the namespace's 200 ms) rolled before own (3 s)");
  t.ok(rolledAt.own! < rolledAt.control!, "own (3 s) rolled before control (the flag's 8 s)");
});

t.test("the workload's minimum interval holds a second rollout, with one Warning Event naming it", async (t) => {
  await eventually('guarded rolled for the first change', async () => ((await count('guarded')) === 2 ? true : undefined));
  await apply(cluster, ns, [configMap('cfg', { level: 'warn' })]);
  await eventually('inherits rolled again', async () => ((await count('inherits')) === 3 ? true : undefined));
  await sleep(1_500);
  t.equal(await count('guarded'), 2, 'guarded is held: one rollout per hour');
  const events = await client.request<{ items: { reason: string; involvedObject: { name: string }; message: string }[] }>(
    'GET',
    `/api/v1/namespaces/${ns}/events`,
  );
  const held = events.items.filter((e) => e.reason === 'ConfigstampRolloutHeldBack' && e.involvedObject.name === 'guarded');
  t.equal(held.length, 1, 'one Warning Event');
  t.match(held[0]?.message ?? '', /its configstamp\.io\/min-rollout-interval/);
});
