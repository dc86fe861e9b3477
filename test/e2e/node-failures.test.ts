// configstamp's pods through failures on a real node, installed from deploy/base: the API server
// away for a minute (no configstamp pod crash-loops; a change made after it is back rolls once),
// every webhook pod gone (applies still succeed, and what was admitted meanwhile is not rolled an
// extra time), a rollout budget (never more rolling than it allows), and health-gated waves (a
// change that breaks its first wave's pods halts the rest; the fix rolls every one once).
import t from 'tap';
import { freshNamespace, waitFor, withNode } from '../cluster/fixtures.js';
import type { NodeCluster } from '../cluster/node.js';
import { runPlan } from '../support/plan.js';
import {
  CONFIGSTAMP_NAMESPACE,
  configstampReady,
  currentPods,
  greetingOf,
  items,
  logsOnFailure,
  nodeSkipReason,
  ok,
  replicaSets,
  rolledOut,
  sleep,
  trackedApp,
} from './node-support.js';

const skip = nodeSkipReason();
const cluster = (skip === undefined ? await withNode(t) : undefined) as NodeCluster;
if (!skip) logsOnFailure(t, cluster);
if (!skip) t.comment(`node up in ${cluster.nodeTimings.totalMs} ms ${JSON.stringify(cluster.nodeTimings)}`);

async function templateStamp(ns: string): Promise<string> {
  return ok(cluster, ['get', 'deployment', 'app', '-n', ns, '-o', 'jsonpath={.spec.template.metadata.annotations.configstamp\\.io/stamp}']);
}

/** Container states of configstamp's long-running pods: restarts and any CrashLoopBackOff. */
async function podHealth(): Promise<{ restarts: Record<string, number>; crashLooping: string[] }> {
  const out = JSON.parse(await ok(cluster, ['get', 'pods', '-n', CONFIGSTAMP_NAMESPACE, '-o', 'json'])) as {
    items: {
      metadata: { name: string };
      status: { phase?: string; containerStatuses?: { restartCount: number; state?: { waiting?: { reason?: string } } }[] };
    }[];
  };
  const running = out.items.filter((p) => p.status.phase !== 'Succeeded');
  return {
    restarts: Object.fromEntries(running.map((p) => [p.metadata.name, (p.status.containerStatuses ?? []).reduce((n, c) => n + c.restartCount, 0)])),
    crashLooping: running.filter((p) => p.status.containerStatuses?.some((c) => c.state?.waiting?.reason === 'CrashLoopBackOff')).map((p) => p.metadata.name),
  };
}

/** Adds one flag to the installed watcher's Deployment and waits until its new pods are Ready. */
async function addWatcherArg(arg: string): Promise<void> {
  await ok(cluster, [
    'patch',
    'deployment',
    'configstamp-watcher',
    '-n',
    CONFIGSTAMP_NAMESPACE,
    '--type=json',
    '-p',
    JSON.stringify([{ op: 'add', path: '/spec/template/spec/containers/0/args/-', value: arg }]),
  ]);
  await ok(cluster, ['rollout', 'status', '-n', CONFIGSTAMP_NAMESPACE, 'deployment/configstamp-watcher', '--timeout=180s']);
  await configstampReady(cluster, ['configstamp-watcher']);
}

/**
 * A ConfigMap `shared` holding `data`, and one tracked Deployment per name (1 replica) whose
 * container reads each key as an env var and has `readinessProbe` (a YAML flow mapping).
 */
function sharedConfigMapApps(
  ns: string,
  names: readonly string[],
  data: Record<string, string>,
  readinessProbe: string,
  progressDeadlineSeconds?: number,
): string {
  const env = Object.keys(data)
    .map((key) => `{ name: ${key}, valueFrom: { configMapKeyRef: { name: shared, key: ${key} } } }`)
    .join(', ');
  return [
    `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: shared, namespace: ${ns} }\ndata: ${JSON.stringify(data)}`,
    ...names.map(
      (name) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}, namespace: ${ns}, annotations: { configstamp.io/track: "true" } }
spec:
  replicas: 1${progressDeadlineSeconds === undefined ? '' : `\n  progressDeadlineSeconds: ${progressDeadlineSeconds}`}
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: app
          image: ${cluster.image}
          imagePullPolicy: IfNotPresent
          command: [node, -e, "setInterval(() => {}, 1 << 30)"]
          env: [${env}]
          readinessProbe: ${readinessProbe}`,
    ),
  ].join('\n---\n');
}

t.before(async () => {
  if (skip) return;
  await ok(cluster, ['apply', '-k', 'deploy/base']);
  await ok(cluster, ['wait', '-n', CONFIGSTAMP_NAMESPACE, '--for=condition=Complete', 'job/configstamp-certs', '--timeout=120s']);
  await configstampReady(cluster, ['configstamp-webhook', 'configstamp-watcher']);
});

t.test('the API server unreachable for a minute: no configstamp pod crash-loops, and changes roll once after', { skip }, async (t) => {
  const ns = await freshNamespace(t, cluster, 'node-away');
  await ok(cluster, ['apply', '-f', '-'], trackedApp(ns, cluster.image, 'hello', 'one'));
  await rolledOut(cluster, ns, 'app');

  const started = Date.now();
  await cluster.restartApiServer(async () => {
    await sleep(60_000);
  });
  t.comment(`API server away for ${Date.now() - started} ms`);
  await configstampReady(cluster, ['configstamp-webhook', 'configstamp-watcher'], 2, 180_000);
  // Past the kubelet's first back-off steps: a crash loop would show by now.
  await sleep(20_000);
  const health = await podHealth();
  t.comment(`restarts after the outage: ${JSON.stringify(health.restarts)}`);
  t.same(health.crashLooping, [], 'no configstamp pod is in CrashLoopBackOff');
  t.ok(
    Object.values(health.restarts).every((n) => n <= 1),
    'at most one restart each (a leader that lost its Lease exits once, by design)',
  );
  await configstampReady(cluster, ['configstamp-webhook', 'configstamp-watcher']);
  t.equal((await replicaSets(cluster, ns, 'app')).length, 1, 'the outage rolled nothing');

  const stampBefore = await templateStamp(ns);
  await ok(cluster, ['patch', 'configmap', 'app-config', '-n', ns, '--type=merge', '-p', '{"data":{"GREETING":"back"}}']);
  await waitFor('a second ReplicaSet', async () => (await replicaSets(cluster, ns, 'app')).length >= 2, { timeoutMs: 90_000, intervalMs: 250 });
  await rolledOut(cluster, ns, 'app');
  t.not(await templateStamp(ns), stampBefore, 'the watcher rolled it with a new stamp');
  // Not asserted: the value the new pod got. After an outage the kubelet's own ConfigMap cache
  // (its watch) can lag for a while, and a pod started then gets the old value (seen here once:
  // 'hello' about 30 s after the API server was back). That is the kubelet's, not configstamp's.
  const [pod] = await currentPods(cluster, ns, 'app');
  t.comment(`the new pod printed GREETING=${await greetingOf(cluster, ns, pod!.metadata.name)}`);
  await sleep(6_000);
  t.equal((await replicaSets(cluster, ns, 'app')).length, 2, 'exactly once');
});

t.test('every webhook pod gone: applies still succeed, and nothing admitted meanwhile rolls an extra time', { skip }, async (t) => {
  const ns = await freshNamespace(t, cluster, 'node-nohook');
  await ok(cluster, ['scale', 'deployment/configstamp-webhook', '-n', CONFIGSTAMP_NAMESPACE, '--replicas=0']);
  t.teardown(() => cluster.kubectl(['scale', 'deployment/configstamp-webhook', '-n', CONFIGSTAMP_NAMESPACE, '--replicas=2']));
  await waitFor('no webhook pod', async () => (await items(cluster, CONFIGSTAMP_NAMESPACE, 'pods', 'app.kubernetes.io/component=webhook')).length === 0, {
    timeoutMs: 60_000,
    intervalMs: 250,
  });

  await ok(cluster, ['apply', '-f', '-'], trackedApp(ns, cluster.image, 'hello', 'one'));
  const template = JSON.parse(await ok(cluster, ['get', 'deployment', 'app', '-n', ns, '-o', 'jsonpath={.spec.template.metadata}'])) as {
    annotations?: Record<string, string>;
  };
  t.notOk(template.annotations?.['configstamp.io/stamp'], 'admitted unstamped (the webhook fails open)');
  await rolledOut(cluster, ns, 'app');
  await sleep(8_000);
  const meta = JSON.parse(await ok(cluster, ['get', 'deployment', 'app', '-n', ns, '-o', 'jsonpath={.metadata.annotations}'])) as Record<string, string>;
  t.comment(`the Deployment's annotations after the watcher saw it: ${JSON.stringify(Object.keys(meta))}`);
  t.equal((await replicaSets(cluster, ns, 'app')).length, 1, 'the watcher made no extra rollout of it');

  await ok(cluster, ['patch', 'configmap', 'app-config', '-n', ns, '--type=merge', '-p', '{"data":{"GREETING":"later"}}']);
  await waitFor('a second ReplicaSet', async () => (await replicaSets(cluster, ns, 'app')).length >= 2, { timeoutMs: 90_000, intervalMs: 250 });
  await rolledOut(cluster, ns, 'app');
  const [pod] = await currentPods(cluster, ns, 'app');
  t.equal(await greetingOf(cluster, ns, pod!.metadata.name), 'later', 'a consumed change still rolls it, with the new value');
  await sleep(6_000);
  t.equal((await replicaSets(cluster, ns, 'app')).length, 2, 'exactly once');
});

t.test('a rollout budget of 2 over 20 consumers of one change: never more than 2 rolling at once (by status), each rolls once', { skip }, async (t) => {
  await addWatcherArg('--rollout-budget=2');
  const ns = await freshNamespace(t, cluster, 'node-budget');
  const names = Array.from({ length: 20 }, (_, i) => `app-${i + 1}`);
  // Each pod becomes Ready 1 s after it starts, so each rollout is under way for a second or more.
  const manifest = sharedConfigMapApps(ns, names, { GREETING: 'hello' }, '{ exec: { command: ["true"] }, initialDelaySeconds: 1, periodSeconds: 1 }');
  await ok(cluster, ['apply', '-f', '-'], manifest);
  for (const name of names) await rolledOut(cluster, ns, name);
  await sleep(3_000); // the budget has seen every first rollout complete

  interface DeploymentStatus {
    metadata: { name: string; generation: number };
    spec: { replicas: number };
    status: { observedGeneration?: number; replicas?: number; updatedReplicas?: number; availableReplicas?: number };
  }
  const rolling = (d: DeploymentStatus): boolean =>
    (d.status.observedGeneration ?? 0) < d.metadata.generation ||
    (d.status.updatedReplicas ?? 0) < d.spec.replicas ||
    (d.status.replicas ?? 0) > (d.status.updatedReplicas ?? 0) ||
    (d.status.availableReplicas ?? 0) < (d.status.updatedReplicas ?? 0);
  await ok(cluster, ['patch', 'configmap', 'shared', '-n', ns, '--type=merge', '-p', '{"data":{"GREETING":"bonjour"}}']);
  let most = 0;
  const started = Date.now();
  for (;;) {
    const list = JSON.parse(await ok(cluster, ['get', 'deployments', '-n', ns, '-o', 'json'])) as { items: DeploymentStatus[] };
    most = Math.max(most, list.items.filter(rolling).length);
    const sets = await Promise.all(names.map(async (n) => (await replicaSets(cluster, ns, n)).length));
    if (sets.every((n) => n === 2) && !list.items.some(rolling)) break;
    if (Date.now() - started > 300_000) throw new Error(`the rollouts did not finish: ReplicaSets ${JSON.stringify(sets)}`);
    await sleep(200);
  }
  t.comment(`all 20 rolled in ${Date.now() - started} ms; at most ${most} at once`);
  t.ok(most <= 2, `never more than 2 rolling at once (sampled: at most ${most})`);
  t.ok(most >= 1, 'and they did roll');
  await sleep(4_000);
  t.same(
    await Promise.all(names.map(async (n) => (await replicaSets(cluster, ns, n)).length)),
    names.map(() => 2),
    'each rolled exactly once',
  );
  const events = JSON.parse(await ok(cluster, ['get', 'events', '-n', ns, '-o', 'json'])) as { items: { reason: string; involvedObject: { name: string } }[] };
  const waited = new Set(events.items.filter((e) => e.reason === 'ConfigstampRolloutWaiting').map((e) => e.involvedObject.name));
  t.ok(waited.size >= 10, `the ones that waited were told (${waited.size}: ${[...waited].sort().join(', ')})`);
  // The next tests roll many at once: the budget's consumers go, their pods with them.
  await ok(cluster, ['delete', 'namespace', ns, '--wait=false']);
});

t.test('waves of 2 over 6 consumers: a breaking change rolls the first wave only and halts; the fix rolls all 6 once, wave by wave', { skip }, async (t) => {
  await addWatcherArg('--wave-size=2');
  const ns = await freshNamespace(t, cluster, 'node-waves');
  const names = ['app-1', 'app-2', 'app-3', 'app-4', 'app-5', 'app-6'];
  // Ready only while MODE is not "broken"; a rollout that cannot become Ready fails after 10 s.
  const manifest = sharedConfigMapApps(ns, names, { MODE: 'good' }, `{ exec: { command: [sh, -c, 'test "$MODE" != broken'] }, periodSeconds: 1 }`, 10);
  await ok(cluster, ['apply', '-f', '-'], manifest);
  for (const name of names) await rolledOut(cluster, ns, name);
  await sleep(2_000);
  const sets = async (): Promise<number[]> => Promise.all(names.map(async (n) => (await replicaSets(cluster, ns, n)).length));
  interface Deployment {
    metadata: { name: string; generation: number };
    status: {
      observedGeneration?: number;
      updatedReplicas?: number;
      availableReplicas?: number;
      replicas?: number;
      conditions?: { type: string; reason?: string }[];
    };
  }
  const deployments = async (): Promise<Map<string, Deployment>> =>
    new Map((JSON.parse(await ok(cluster, ['get', 'deployments', '-n', ns, '-o', 'json'])) as { items: Deployment[] }).items.map((d) => [d.metadata.name, d]));
  const failed = (d: Deployment | undefined): boolean =>
    d?.status.conditions?.some((c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded') === true;
  const complete = (d: Deployment | undefined): boolean =>
    d !== undefined &&
    (d.status.observedGeneration ?? 0) >= d.metadata.generation &&
    (d.status.updatedReplicas ?? 0) >= 1 &&
    (d.status.replicas ?? 0) === (d.status.updatedReplicas ?? 0) &&
    (d.status.availableReplicas ?? 0) >= 1;

  await ok(cluster, ['patch', 'configmap', 'shared', '-n', ns, '--type=merge', '-p', '{"data":{"MODE":"broken"}}']);
  await waitFor(
    'the first wave failed',
    async () => {
      const ds = await deployments();
      return failed(ds.get('app-1')) && failed(ds.get('app-2'));
    },
    { timeoutMs: 90_000, intervalMs: 500 },
  );
  await sleep(4_000);
  t.same(await sets(), [2, 2, 1, 1, 1, 1], 'the breaking change rolled the first wave (2) only: the rest are halted');
  const events = JSON.parse(await ok(cluster, ['get', 'events', '-n', ns, '-o', 'json'])) as {
    items: { reason: string; type: string; message: string; involvedObject: { kind: string; name: string } }[];
  };
  const halted = events.items.filter((e) => e.reason === 'ConfigstampWavesHalted');
  t.same(
    [...new Set(halted.filter((e) => e.involvedObject.kind === 'Deployment').map((e) => e.involvedObject.name))].sort(),
    ['app-3', 'app-4', 'app-5', 'app-6'],
    'a Warning on each held workload',
  );
  t.ok(
    halted.some((e) => e.involvedObject.kind === 'ConfigMap' && e.involvedObject.name === 'shared' && /Deployment\/\S+\/app-[12] failed/.test(e.message)),
    'and one on the ConfigMap naming the workload that failed',
  );
  const { exitCode, rows } = await runPlan(cluster.kubeconfigPath, CONFIGSTAMP_NAMESPACE, ns, ['--wave-size=2']);
  t.equal(exitCode, 0, 'plan exits 0');
  t.match(
    rows.find((r) => r.name === 'app-3'),
    { action: 'held', why: /^held: wave 2 of 3 of ConfigMap\/shared; Deployment\/\S+\/app-1 failed, Deployment\/\S+\/app-2 failed/ },
    'plan says why: held, wave 2 of 3, the first wave failed',
  );
  t.match(
    rows.find((r) => r.name === 'app-6'),
    { action: 'held', why: /wave 3 of 3/ },
  );

  await ok(cluster, ['patch', 'configmap', 'shared', '-n', ns, '--type=merge', '-p', '{"data":{"MODE":"fixed"}}']);
  const started = Date.now();
  let early = 0;
  for (;;) {
    const [counts, ds] = await Promise.all([sets(), deployments()]);
    // A wave may not start before the one before it has completed with the fix.
    if ((counts[2]! > 1 || counts[3]! > 1) && !(counts[0] === 3 && counts[1] === 3 && complete(ds.get('app-1')) && complete(ds.get('app-2')))) early++;
    if ((counts[4]! > 1 || counts[5]! > 1) && !(complete(ds.get('app-3')) && complete(ds.get('app-4')))) early++;
    if (counts.join() === '3,3,2,2,2,2' && names.every((n) => complete(ds.get(n)))) break;
    if (Date.now() - started > 180_000) throw new Error(`the fix did not finish: ReplicaSets ${JSON.stringify(counts)}`);
    await sleep(300);
  }
  t.comment(`the fix rolled all 6 in ${Date.now() - started} ms`);
  t.equal(early, 0, 'no wave started before the one before it completed (sampled)');
  await sleep(3_000);
  t.same(await sets(), [3, 3, 2, 2, 2, 2], 'the fix rolled each of the 6 exactly once');
});

t.test(
  'a restart window opening about a minute ahead holds two changes across a watcher restart and applies them as one rollout at the opening',
  { skip },
  async (t) => {
    const ns = await freshNamespace(t, cluster, 'node-window');
    // The opening: the start of the first minute at least 60 s away (cron has minute resolution).
    const opensAt = Math.ceil((Date.now() + 60_000) / 60_000) * 60_000;
    const opening = new Date(opensAt);
    const policy = JSON.stringify({ timezone: 'UTC', windows: [{ cron: `${opening.getUTCMinutes()} ${opening.getUTCHours()} * * *`, duration: '10m' }] });
    await ok(cluster, ['apply', '-f', '-'], trackedApp(ns, cluster.image, 'hello', 'one'));
    await rolledOut(cluster, ns, 'app');
    await ok(cluster, ['annotate', 'deployment', 'app', '-n', ns, `configstamp.io/restart-window=${policy}`]);
    await sleep(2_000);
    await ok(cluster, ['patch', 'configmap', 'app-config', '-n', ns, '--type=merge', '-p', '{"data":{"GREETING":"bonjour"}}']);
    await waitFor(
      'the hold said',
      async () => (await ok(cluster, ['get', 'events', '-n', ns, '--field-selector=reason=ConfigstampRolloutPendingWindow', '-o', 'name'])).trim() !== '',
      {
        timeoutMs: 30_000,
        intervalMs: 500,
      },
    );
    t.equal((await replicaSets(cluster, ns, 'app')).length, 1, 'outside the window: held');

    // Both watcher pods go (the leader too); the new ones find the drift and the window closed.
    await ok(cluster, ['delete', 'pods', '-n', CONFIGSTAMP_NAMESPACE, '-l', 'app.kubernetes.io/component=watcher', '--wait=true']);
    await configstampReady(cluster, ['configstamp-watcher']);
    await ok(cluster, ['patch', 'configmap', 'app-config', '-n', ns, '--type=merge', '-p', '{"data":{"GREETING":"hola"}}']);
    await sleep(3_000);
    t.ok(Date.now() < opensAt, `the restart and the second change came before the opening (${Math.round((opensAt - Date.now()) / 1000)} s ahead)`);
    t.equal((await replicaSets(cluster, ns, 'app')).length, 1, 'still held across the watcher restart');
    const events = (await ok(cluster, ['get', 'events', '-n', ns, '--field-selector=reason=ConfigstampRolloutPendingWindow', '-o', 'name'])).trim().split('\n');
    t.equal(events.length, 1, 'one Event for the hold: not one per change, nor one per watcher');

    await waitFor('the rollout at the opening', async () => (await replicaSets(cluster, ns, 'app')).length >= 2, {
      timeoutMs: opensAt - Date.now() + 60_000,
      intervalMs: 250,
    });
    t.ok(Date.now() >= opensAt, `not before the opening (${Date.now() - opensAt} ms after it)`);
    await rolledOut(cluster, ns, 'app');
    const [pod] = await currentPods(cluster, ns, 'app');
    t.equal(await greetingOf(cluster, ns, pod!.metadata.name), 'hola', 'the pod reads the latest value');
    await sleep(4_000);
    t.equal((await replicaSets(cluster, ns, 'app')).length, 2, 'both changes: one rollout');
  },
);
