/**
 * Argo Rollouts with `rollout-strategy: restart` (Reloader's key and ours), on a real control plane
 * with the Rollout CRD: a consumed change patches spec.restartAt and leaves the pod template alone;
 * a watcher restart does not restart it again; a change made while the watcher was down restarts
 * it once at the next boot (Reloader #1144 loses those): the restart and what it applied are
 * written in one patch.
 */
import t from 'tap';
import { eventually, sleep } from '../support/poll.js';
import { ROLLOUT_CRD, apply, configMap, createNamespace, kubectl, podTemplate, startCluster, startWatcher } from './watcher-support.js';

const { cluster, client } = await startCluster(t);
await apply(cluster, 'default', [ROLLOUT_CRD]);
await kubectl(cluster, ['wait', '--for=condition=Established', 'crd/rollouts.argoproj.io', '--timeout=60s']);
await createNamespace(cluster, 'configstamp');
const ns = await createNamespace(cluster, 'argo');

interface RolloutView {
  generation: number;
  restartAt?: string;
  template: unknown;
  annotations: Record<string, string>;
}

async function read(name: string): Promise<RolloutView> {
  const o = await client.request<{ metadata: { generation: number; annotations?: Record<string, string> }; spec: { restartAt?: string; template: unknown } }>(
    'GET',
    `/apis/argoproj.io/v1alpha1/namespaces/${ns}/rollouts/${name}`,
  );
  return { generation: o.metadata.generation, restartAt: o.spec.restartAt, template: o.spec.template, annotations: o.metadata.annotations ?? {} };
}

function rollout(name: string, strategyKey: string): unknown {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name, annotations: { 'reloader.stakater.com/auto': 'true', [strategyKey]: 'restart' } },
    spec: { replicas: 0, selector: { matchLabels: { app: name } }, template: podTemplate(name, { configMap: 'cfg' }) },
  };
}

await apply(cluster, ns, [configMap('cfg', { level: 'info' })]);
await apply(cluster, ns, [rollout('reloader-key', 'reloader.stakater.com/rollout-strategy'), rollout('our-key', 'configstamp.io/rollout-strategy')]);
const NAMES = ['reloader-key', 'our-key'];

t.test('restart, not a template rollout; once across restarts; a change made while down restarts once at boot', async (t) => {
  let watcher = await startWatcher(cluster, 'configstamp', [`--namespaces=${ns}`]);
  for (const name of NAMES)
    await eventually(`${name} adopted`, async () => ((await read(name)).annotations['configstamp.io/adopted-stamp'] ? true : undefined));
  const before = Object.fromEntries(await Promise.all(NAMES.map(async (n) => [n, await read(n)] as const)));
  await apply(cluster, ns, [configMap('cfg', { level: 'debug' })]);
  for (const name of NAMES) await eventually(`${name} restarted`, async () => ((await read(name)).restartAt ? true : undefined));
  const first = Object.fromEntries(await Promise.all(NAMES.map(async (n) => [n, await read(n)] as const)));
  for (const name of NAMES) {
    t.match(first[name]!.restartAt, /^\d{4}-\d\d-\d\dT/, `${name}: spec.restartAt set`);
    t.same(first[name]!.template, before[name]!.template, `${name}: the pod template is unchanged`);
    t.equal(first[name]!.generation, before[name]!.generation + 1, `${name}: one spec change`);
    t.ok(first[name]!.annotations['configstamp.io/restarted-stamp'], `${name}: what the restart applied is recorded with it`);
  }
  await watcher.proc.stop();
  watcher = await startWatcher(cluster, 'configstamp', [`--namespaces=${ns}`]);
  await sleep(1_500);
  for (const name of NAMES) t.equal((await read(name)).restartAt, first[name]!.restartAt, `${name}: a watcher restart restarts nothing`);
  await watcher.proc.stop();
  await apply(cluster, ns, [configMap('cfg', { level: 'warn' })]);
  watcher = await startWatcher(cluster, 'configstamp', [`--namespaces=${ns}`]);
  t.teardown(() => watcher.proc.stop());
  for (const name of NAMES)
    await eventually(`${name} restarted at boot`, async () => ((await read(name)).restartAt !== first[name]!.restartAt ? true : undefined));
  await sleep(1_500);
  for (const name of NAMES) {
    const now = await read(name);
    t.equal(now.generation, first[name]!.generation + 1, `${name}: the change made while down: exactly one more restart`);
    t.same(now.template, before[name]!.template, `${name}: template still unchanged`);
  }
});
