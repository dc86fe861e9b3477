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

t.test("a Rollout with spec.workloadRef: tracked through the referenced Deployment's template, restarted (it has none of its own)", async (t) => {
  const deploymentTemplate = (uses: Parameters<typeof podTemplate>[1]) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web-template' },
    spec: { replicas: 0, selector: { matchLabels: { app: 'by-ref' } }, template: podTemplate('by-ref', uses) },
  });
  await apply(cluster, ns, [configMap('ref-cfg', { level: 'info' }), configMap('ref-extra', { mode: 'a' }), deploymentTemplate({ configMap: 'ref-cfg' })]);
  await apply(cluster, ns, [
    {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'by-ref', annotations: { 'reloader.stakater.com/auto': 'true' } },
      spec: { replicas: 0, selector: { matchLabels: { app: 'by-ref' } }, workloadRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web-template' } },
    },
  ]);
  const watcher = await startWatcher(cluster, 'configstamp', [`--namespaces=${ns}`]);
  t.teardown(() => watcher.proc.stop());
  await eventually('by-ref adopted', async () =>
    /configmap\/ref-cfg=/.test((await read('by-ref')).annotations['configstamp.io/adopted-stamp'] ?? '') ? true : undefined,
  );
  const before = await read('by-ref');
  t.equal(before.template, undefined, 'it has no template of its own');
  const deploymentPath = `/apis/apps/v1/namespaces/${ns}/deployments/web-template`;
  const deploymentBefore = await client.request<{ metadata: { generation: number } }>('GET', deploymentPath);

  await apply(cluster, ns, [configMap('ref-cfg', { level: 'debug' })]);
  await eventually('by-ref restarted', async () => ((await read('by-ref')).restartAt ? true : undefined));
  await sleep(1_500);
  const first = await read('by-ref');
  t.equal(first.generation, before.generation + 1, 'one restart for the change');
  t.equal(first.template, undefined, 'still no template: nothing Argo would refuse');
  t.ok(first.annotations['configstamp.io/restarted-stamp'], 'what the restart applied is recorded');
  t.equal(
    (await client.request<{ metadata: { generation: number } }>('GET', deploymentPath)).metadata.generation,
    deploymentBefore.metadata.generation,
    'the referenced Deployment itself is untouched',
  );

  // The Deployment's template now consumes another ConfigMap: the Rollout follows it.
  await apply(cluster, ns, [deploymentTemplate({ configMap: 'ref-extra' })]);
  await sleep(1_500);
  await apply(cluster, ns, [configMap('ref-extra', { mode: 'b' })]);
  await eventually('by-ref restarted for the newly referenced ConfigMap', async () =>
    (await read('by-ref')).restartAt !== first.restartAt ? true : undefined,
  );
  await sleep(1_500);
  const second = await read('by-ref');
  t.equal(second.generation, first.generation + 1, 'a change to what the referenced template consumes now restarts it, once');
  await apply(cluster, ns, [configMap('ref-cfg', { level: 'warn' })]);
  await sleep(2_000);
  t.equal((await read('by-ref')).generation, second.generation, 'what it no longer consumes restarts nothing');
});
