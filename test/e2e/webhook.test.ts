// The webhook on a real control plane, driven through the real kubectl (issue 4, scenarios 1–5
// and 8): a Deployment is stamped at creation and rolls out once; re-apply and replace never
// roll it; a change of config and image together rolls it once; undo rolls once with the stamp of
// the sources as they are now; a Secret's value never shows up anywhere the webhook writes.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { Ours } from '../../shared/core/annotations.js';
import { currentStamp } from '../fixtures/index.js';
import { extractReferences, sourceId } from '../../shared/core/references.js';
import { formatStamp, parseStamp } from '../../shared/core/stamp.js';
import { KubeClient } from '../../shared/kube/client.js';
import { ensureHashKey } from '../../shared/kube/hashkey.js';
import { sourcePath } from '../../shared/kube/paths.js';
import { freshNamespace, withControlPlane } from '../cluster/fixtures.js';
import { eventually, sleep } from '../support/poll.js';
import { replicaSetsOf } from '../support/rollouts.js';
import { registerWebhook, startWebhookProcess } from '../support/webhook-registration.js';

const cluster = await withControlPlane(t);
const client = await KubeClient.create(cluster.access, 'configstamp-e2e');
t.teardown(() => client.close());
await cluster.kubectl(['create', 'namespace', 'configstamp']);
const { key: hashKey } = await ensureHashKey(client, { namespace: 'configstamp', name: 'configstamp-hash-key' });
const webhook = await startWebhookProcess(cluster);
t.teardown(() => webhook.process.stop());
await registerWebhook(cluster, webhook.port, webhook.caPem);

const ns = await freshNamespace(t, cluster, 'wh');
const canary = `canary-${randomBytes(12).toString('hex')}`;
/** Everything kubectl printed on stderr (admission warnings arrive there as "Warning: ..."). */
const kubectlStderr: string[] = [];

interface Workload {
  metadata: { generation?: number; annotations?: Record<string, string> };
  spec: { template: { metadata?: { annotations?: Record<string, string> }; spec: unknown } };
}

function configMap(name: string, data: Record<string, string>): unknown {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data };
}

function deployment(image: string): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: ns, annotations: { [Ours.track]: 'true' } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            {
              name: 'web',
              image,
              env: [{ name: 'LEVEL', valueFrom: { configMapKeyRef: { name: 'app-config', key: 'level' } } }],
              envFrom: [{ secretRef: { name: 'db-credentials' } }],
              volumeMounts: [{ name: 'bundle', mountPath: '/etc/bundle' }],
            },
          ],
          volumes: [
            {
              name: 'bundle',
              projected: {
                sources: [{ configMap: { name: 'bundle-config' } }, { secret: { name: 'bundle-secret', items: [{ key: 'token', path: 'token' }] } }],
              },
            },
          ],
        },
      },
    },
  };
}

async function kubectl(args: string[], objects?: unknown[]): Promise<string> {
  const input = objects ? JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }) : undefined;
  const result = await cluster.kubectl(args, { input });
  kubectlStderr.push(result.stderr);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

async function getDeployment(): Promise<Workload> {
  return client.request<Workload>('GET', `/apis/apps/v1/namespaces/${ns}/deployments/web`);
}

function templateStamp(w: { spec?: { template?: { metadata?: { annotations?: Record<string, string> } } } }): string | undefined {
  return w.spec?.template?.metadata?.annotations?.[Ours.stamp];
}

/** Waits for `expected` ReplicaSets, then makes sure no further one appears for a while. */
async function settledReplicaSets(expected: number): Promise<Awaited<ReturnType<typeof replicaSetsOf>>> {
  await eventually(`${expected} ReplicaSet(s)`, async () => ((await replicaSetsOf(client, ns, 'web')).length >= expected ? true : undefined));
  await sleep(2_000);
  return replicaSetsOf(client, ns, 'web');
}

/** The stamp the core computes from the sources as they are in the API now. */
async function expectedStamp(w: Workload): Promise<string> {
  const refs = extractReferences(w.spec.template);
  const objects = new Map<string, unknown>();
  for (const ref of refs) objects.set(sourceId(ref.kind, ref.name), await client.getOrNull(sourcePath(ref.kind, ns, ref.name)));
  return formatStamp(currentStamp(hashKey, ns, refs, (k, n) => objects.get(sourceId(k, n)) ?? null));
}

const sources = [configMap('app-config', { level: 'info', unused: 'x' }), configMap('bundle-config', { 'app.yaml': 'a: 1\n' })];
let firstStamp = '';

t.test('1. kubectl apply of a new Deployment: stamped at creation, exactly one ReplicaSet', async (t) => {
  // Secrets through `kubectl create`: `kubectl apply` would copy their values into its own
  // last-applied-configuration annotation, and the canary test searches every annotation.
  await kubectl(['create', 'secret', 'generic', 'db-credentials', '-n', ns, `--from-literal=DB_PASSWORD=${canary}`]);
  await kubectl(['create', 'secret', 'generic', 'bundle-secret', '-n', ns, `--from-literal=token=${canary}-token`, '--from-literal=other=o']);
  await kubectl(['apply', '-f', '-'], [...sources, deployment('registry.invalid/web:1')]);
  const created = await getDeployment();
  firstStamp = templateStamp(created) ?? '';
  t.ok(parseStamp(firstStamp), `template stamped: ${firstStamp}`);
  t.same(
    parseStamp(firstStamp)?.map((e) => `${e.kind}/${e.name}`),
    ['ConfigMap/app-config', 'ConfigMap/bundle-config', 'Secret/bundle-secret', 'Secret/db-credentials'],
    'every consumed source listed',
  );
  t.equal(firstStamp, await expectedStamp(created), "digests are the core's keyed digests of the sources");
  const versionOf = async (kind: 'ConfigMap' | 'Secret', name: string): Promise<string> =>
    ((await client.getOrNull(sourcePath(kind, ns, name))) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  const recordedVersions = created.metadata.annotations?.[Ours.sourceVersions];
  t.match(recordedVersions, /^v2:[0-9a-f]{32}:/, 'sealed under the hash key');
  t.equal(
    recordedVersions?.replace(/^v2:[0-9a-f]{32}:/, ''),
    `configmap/app-config=${await versionOf('ConfigMap', 'app-config')},configmap/bundle-config=${await versionOf('ConfigMap', 'bundle-config')},` +
      `secret/bundle-secret=${await versionOf('Secret', 'bundle-secret')},secret/db-credentials=${await versionOf('Secret', 'db-credentials')}`,
    'beside them, the resourceVersion each was digested at',
  );
  const replicaSets = await settledReplicaSets(1);
  t.equal(replicaSets.length, 1, 'one ReplicaSet, not two');
  t.equal(templateStamp(replicaSets[0]!), firstStamp, 'its pods carry the stamp');
  t.equal((await getDeployment()).metadata.generation, 1);
});

t.test('2. the same kubectl apply again: no new ReplicaSet, generation unchanged', async (t) => {
  await kubectl(['apply', '-f', '-'], [...sources, deployment('registry.invalid/web:1')]);
  t.equal((await settledReplicaSets(1)).length, 1);
  const after = await getDeployment();
  t.equal(after.metadata.generation, 1);
  t.equal(templateStamp(after), firstStamp);
});

t.test('3. kubectl replace with a manifest lacking the stamp: stamp kept, no new ReplicaSet', async (t) => {
  const before = await getDeployment();
  await kubectl(['replace', '-f', '-'], [deployment('registry.invalid/web:1')]);
  const after = await getDeployment();
  t.equal(templateStamp(after), firstStamp, 'the dropped stamp was restored');
  t.equal(after.metadata.annotations?.[Ours.sourceVersions], before.metadata.annotations?.[Ours.sourceVersions], 'and the versions beside it');
  t.same(after.spec, before.spec, 'the spec, pod template included, stayed byte-identical');
  // The Deployment strategy bumps generation when the workload's own annotations change, and
  // replace drops kubectl's last-applied-configuration: that is the API server's doing, not a
  // rollout (no new ReplicaSet below).
  const dropped = Object.keys(before.metadata.annotations ?? {}).filter((k) => !Object.hasOwn(after.metadata.annotations ?? {}, k));
  t.ok(
    after.metadata.generation === before.metadata.generation || dropped.length > 0,
    `generation moves only with metadata annotations (dropped: ${dropped.join(', ')})`,
  );
  t.equal((await settledReplicaSets(1)).length, 1);
});

let secondStamp = '';
t.test('4. helm-style upgrade (ConfigMap and image in one apply): exactly one new ReplicaSet with the new digests', async (t) => {
  const generation = (await getDeployment()).metadata.generation ?? 0;
  await kubectl(['apply', '-f', '-'], [configMap('app-config', { level: 'debug', unused: 'x' }), deployment('registry.invalid/web:2')]);
  const replicaSets = await settledReplicaSets(2);
  t.equal(replicaSets.length, 2, 'one new ReplicaSet');
  const after = await getDeployment();
  secondStamp = templateStamp(after) ?? '';
  t.not(secondStamp, firstStamp);
  t.equal(secondStamp, await expectedStamp(after), 'the new template carries the new digests');
  const changed = parseStamp(secondStamp)!.filter((e, i) => e.digest !== parseStamp(firstStamp)![i]!.digest);
  t.same(
    changed.map((e) => e.name),
    ['app-config'],
    "only the changed ConfigMap's digest moved",
  );
  t.ok(
    replicaSets.some((rs) => templateStamp(rs) === secondStamp),
    'the new ReplicaSet has the new stamp',
  );
  t.equal(after.metadata.generation, generation + 1, 'one spec change');
});

t.test('5. kubectl rollout undo: exactly one new ReplicaSet; the stamp describes the sources as they are now', async (t) => {
  await kubectl(['rollout', 'undo', 'deployment/web', '-n', ns]);
  const replicaSets = await settledReplicaSets(3);
  t.equal(replicaSets.length, 3, 'one new ReplicaSet');
  const after = await getDeployment();
  t.equal(templateStamp(after), secondStamp, "stamped with the current digests, not the old ReplicaSet's");
  t.match(JSON.stringify(after.spec.template.spec), /web:1/, 'the old image is back');
});

t.test('8. the Secret canary never appears in logs, warnings, metrics or annotations', async (t) => {
  // A server-side dry run too: answered the same way, nothing stored.
  const dryRun = await kubectl(
    ['apply', '--dry-run=server', '-o', 'json', '-f', '-'],
    [{ ...deployment('registry.invalid/web:3'), metadata: { name: 'web-dry', namespace: ns, annotations: { [Ours.track]: 'true' } } }],
  );
  const printed = JSON.parse(dryRun) as Workload & { kind?: string; items?: Workload[] };
  t.equal(templateStamp(printed.kind === 'List' ? printed.items![0]! : printed), secondStamp, 'dry run stamped like a real create');
  t.equal(await client.getOrNull(`/apis/apps/v1/namespaces/${ns}/deployments/web-dry`), null, 'and not stored');
  const metrics = await webhook.metrics();
  t.match(metrics, /configstamp_webhook_admissions_total\{kind="Deployment",operation="CREATE",result="stamped"\} \d+/);
  t.match(metrics, /configstamp_webhook_source_read_duration_seconds_count \d+/);
  const everything = await kubectl(['get', 'all,configmaps,secrets,controllerrevisions,events', '-n', ns, '-o', 'json']);
  const annotations = JSON.stringify(
    JSON.parse(everything).items.map((i: { metadata?: { annotations?: unknown }; spec?: { template?: { metadata?: unknown } } }) => [
      i.metadata?.annotations,
      i.spec?.template?.metadata,
    ]),
  );
  const encoded = Buffer.from(canary).toString('base64');
  const haystacks = { logs: webhook.process.lines.join('\n'), warnings: kubectlStderr.join('\n'), metrics, annotations };
  t.ok(webhook.process.lines.length > 0, 'the webhook logged');
  t.match(annotations, /configstamp\.io\/stamp/, 'annotations were collected');
  for (const [where, text] of Object.entries(haystacks)) {
    t.notOk(text.includes(canary), `no canary in ${where}`);
    t.notOk(text.includes(encoded.slice(0, 16)), `no base64 canary in ${where}`);
  }
});
