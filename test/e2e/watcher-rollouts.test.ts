/**
 * Watcher end-to-end, on a real control plane: one rollout per real change for every workload
 * kind (scenario 1), none for unconsumed keys or metadata-only changes (2), one for a ConfigMap
 * and a Secret changed together (3), and no Secret value anywhere we write or print (9).
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { eventually, sleep } from '../support/poll.js';
import { replicaSetsOf } from '../support/rollouts.js';
import {
  DEPLOYMENT_CONFIG_CRD,
  ROLLOUT_CRD,
  annotationsOf,
  deploymentConfig,
  apply,
  configMap,
  createNamespace,
  cronJob,
  daemonSet,
  deployment,
  kubectl,
  rollout,
  rolloutCount,
  secret,
  startCluster,
  startWatcher,
  statefulSet,
} from './watcher-support.js';

const { cluster, client } = await startCluster(t);
await apply(cluster, 'default', [ROLLOUT_CRD, DEPLOYMENT_CONFIG_CRD]);
await kubectl(cluster, ['wait', '--for=condition=Established', 'crd/rollouts.argoproj.io', 'crd/deploymentconfigs.apps.openshift.io', '--timeout=60s']);
await createNamespace(cluster, 'configstamp');
const watcher = await startWatcher(cluster, 'configstamp', ['--debounce=1500ms']);
t.teardown(() => watcher.proc.stop());

const KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob', 'Rollout', 'DeploymentConfig'] as const;
const BUILDERS = {
  Deployment: deployment,
  StatefulSet: statefulSet,
  DaemonSet: daemonSet,
  CronJob: cronJob,
  Rollout: rollout,
  DeploymentConfig: deploymentConfig,
};
const PATHS = {
  Deployment: (ns: string, n: string) => `/apis/apps/v1/namespaces/${ns}/deployments/${n}`,
  StatefulSet: (ns: string, n: string) => `/apis/apps/v1/namespaces/${ns}/statefulsets/${n}`,
  DaemonSet: (ns: string, n: string) => `/apis/apps/v1/namespaces/${ns}/daemonsets/${n}`,
  CronJob: (ns: string, n: string) => `/apis/batch/v1/namespaces/${ns}/cronjobs/${n}`,
  Rollout: (ns: string, n: string) => `/apis/argoproj.io/v1alpha1/namespaces/${ns}/rollouts/${n}`,
  DeploymentConfig: (ns: string, n: string) => `/apis/apps.openshift.io/v1/namespaces/${ns}/deploymentconfigs/${n}`,
};

async function adopted(ns: string, kind: keyof typeof PATHS, name: string): Promise<true | undefined> {
  const a = await annotationsOf(client, PATHS[kind](ns, name));
  return a.own['configstamp.io/adopted-stamp'] !== undefined || a.template['configstamp.io/stamp'] !== undefined ? true : undefined;
}

async function counts(ns: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const kind of KINDS) out[kind] = await rolloutCount(client, ns, kind, kind.toLowerCase());
  return out;
}

const ns = await createNamespace(cluster, 'kinds');
await apply(cluster, ns, [configMap('cfg', { used: '1', unused: '1' })]);
await apply(
  cluster,
  ns,
  KINDS.map((kind) => BUILDERS[kind](kind.toLowerCase(), { configMap: 'cfg', key: 'used' })),
);
for (const kind of KINDS) await eventually(`${kind} adopted`, () => adopted(ns, kind, kind.toLowerCase()));
// Controllers create the first revision asynchronously: wait until every count is settled.
const baseline = await eventually('first revisions', async () => {
  const c = await counts(ns);
  return c.Deployment! >= 1 && c.StatefulSet! >= 1 && c.DaemonSet! >= 1 ? c : undefined;
});

t.test('1: a consumed key changes → exactly one new revision per consuming workload, every kind', async (t) => {
  await apply(cluster, ns, [configMap('cfg', { used: '2', unused: '1' })]);
  for (const kind of KINDS) {
    await eventually(`${kind} rolled`, async () => ((await rolloutCount(client, ns, kind, kind.toLowerCase())) === baseline[kind]! + 1 ? true : undefined));
  }
  await sleep(2_000);
  const after = await counts(ns);
  for (const kind of KINDS) t.equal(after[kind], baseline[kind]! + 1, `${kind}: one rollout`);
  const events = JSON.parse(await kubectl(cluster, ['get', 'events', '-n', ns, '-o', 'json'])) as {
    items: { reason: string; message: string; involvedObject: { kind: string } }[];
  };
  const rolloutEvents = events.items.filter((e) => e.reason === 'ConfigstampRollout');
  t.equal(rolloutEvents.length, KINDS.length, 'one ConfigstampRollout Event per workload');
  t.match(rolloutEvents[0]?.message ?? '', /ConfigMap\/cfg [0-9a-f]{8}→[0-9a-f]{8}/, 'the Event names the source with short old→new digests');
});

t.test('2: an unconsumed key or metadata-only change → no rollout', async (t) => {
  const before = await counts(ns);
  const patchesBefore = watcher.rollouts().length;
  await apply(cluster, ns, [configMap('cfg', { used: '2', unused: '2' })]);
  await apply(cluster, ns, [configMap('cfg', { used: '2', unused: '2' }, { labels: { team: 'x' }, annotations: { note: 'y' } })]);
  await sleep(2_500);
  t.same(await counts(ns), before, 'no revision anywhere');
  t.equal(watcher.rollouts().length, patchesBefore, 'no rollout patch');
});

t.test('3: a ConfigMap and a Secret changed within the window → one rollout', async (t) => {
  const ns3 = await createNamespace(cluster, 'together');
  await apply(cluster, ns3, [configMap('cfg', { a: '1' }), secret('sec', { p: 'one' })]);
  await apply(cluster, ns3, [deployment('both', { configMap: 'cfg', secret: 'sec' })]);
  await eventually('adopted', () => adopted(ns3, 'Deployment', 'both'));
  const before = await eventually('first RS', async () => ((await rolloutCount(client, ns3, 'Deployment', 'both')) === 1 ? 1 : undefined));
  await apply(cluster, ns3, [configMap('cfg', { a: '2' }), secret('sec', { p: 'two' })]);
  await eventually('rolled', async () => ((await rolloutCount(client, ns3, 'Deployment', 'both')) === before + 1 ? true : undefined));
  await sleep(2_000);
  const n3 = await rolloutCount(client, ns3, 'Deployment', 'both');
  if (n3 !== before + 1) console.error(JSON.stringify((await replicaSetsOf(client, ns3, 'both')).map((r) => [r.metadata?.name, r.spec?.template])));
  t.equal(n3, before + 1, 'exactly one new ReplicaSet');
  const stamp = (await annotationsOf(client, PATHS.Deployment(ns3, 'both'))).template['configstamp.io/stamp'] ?? '';
  t.match(stamp, /configmap\/cfg=[0-9a-f]{16},secret\/sec=[0-9a-f]{16}/, 'the stamp records both sources');
});

t.test('9: a Secret canary never appears in logs, Events, metrics or annotations', async (t) => {
  const ns9 = await createNamespace(cluster, 'canary');
  const canary = `canary-${randomBytes(12).toString('hex')}`;
  const canary2 = `canary-${randomBytes(12).toString('hex')}`;
  await apply(cluster, ns9, [secret('db', { password: canary })]);
  await apply(cluster, ns9, [deployment('app', { secret: 'db', secretKey: 'password' })]);
  await eventually('adopted', () => adopted(ns9, 'Deployment', 'app'));
  await apply(cluster, ns9, [secret('db', { password: canary2 })]);
  await eventually('rolled', async () => ((await rolloutCount(client, ns9, 'Deployment', 'app')) === 2 ? true : undefined));
  const metrics = await (await fetch(`http://127.0.0.1:${watcher.opsPort}/metrics`)).text();
  const events = await kubectl(cluster, ['get', 'events', '-n', ns9, '-o', 'json']);
  const objects = await kubectl(cluster, ['get', 'deployment,replicaset', '-n', ns9, '-o', 'json']);
  const logs = watcher.proc.lines.join('\n');
  for (const value of [canary, canary2]) {
    for (const form of [value, Buffer.from(value).toString('base64')]) {
      t.notOk(logs.includes(form), 'not in watcher logs');
      t.notOk(events.includes(form), 'not in Events');
      t.notOk(metrics.includes(form), 'not in /metrics');
      t.notOk(objects.includes(form), 'not in workload annotations');
    }
  }
  t.match(events, /ConfigstampRollout/, 'the rollout Event is there (and names no value)');
});
