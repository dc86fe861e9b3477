/**
 * Secrets Store CSI sources on a real control plane, with the driver's CRDs installed (written
 * from its published API types, secrets-store.csi.x-k8s.io/v1) and status objects written by the
 * test as the driver writes them: one SecretProviderClassPodStatus per pod and class, named
 * `<pod>-<namespace>-<class>`, `status.objects` the ids and versions mounted. No driver runs here,
 * and no pods: the status objects carry no owner reference (the garbage collector would delete
 * them, their pods not existing), which changes nothing configstamp reads.
 *
 * What must hold: a new workload's first pods reporting roll nothing; a rotation seen in several
 * pods is one rollout; the pods that rollout creates do not roll it again; a ConfigMap change
 * applied with a rotation is one rollout; a rotation while the watcher is down is found at boot
 * (one rollout), and a boot with nothing changed rolls nothing; an Event names the class.
 */
import t from 'tap';
import type { Test } from 'tap';
import { eventually, sleep } from '../support/poll.js';
import { registerWebhook, startWebhookProcess } from '../support/webhook-registration.js';
import { replicaSetsOf } from '../support/rollouts.js';
import { MERGE_PATCH } from '../../shared/kube/client.js';
import { annotationsOf, apply, configMap, createNamespace, kubectl, startCluster, startWatcher } from './watcher-support.js';
import type { RunningWatcher } from './watcher-support.js';

const GROUP = 'secrets-store.csi.x-k8s.io';
const str = { type: 'string' };
const crd = (kind: string, plural: string, properties: Record<string, unknown>) => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${plural}.${GROUP}` },
  spec: {
    group: GROUP,
    scope: 'Namespaced',
    names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
    versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties } } }],
  },
});
// SecretProviderClass: spec.provider, spec.parameters, spec.secretObjects (apis/v1/secretproviderclass_types.go).
const SPC_CRD = crd('SecretProviderClass', 'secretproviderclasses', {
  apiVersion: str,
  kind: str,
  metadata: { type: 'object' },
  spec: {
    type: 'object',
    properties: {
      provider: str,
      parameters: { type: 'object', additionalProperties: str },
      secretObjects: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            secretName: str,
            type: str,
            labels: { type: 'object', additionalProperties: str },
            annotations: { type: 'object', additionalProperties: str },
            data: { type: 'array', items: { type: 'object', properties: { objectName: str, key: str } } },
          },
        },
      },
    },
  },
  status: { type: 'object' },
});
// SecretProviderClassPodStatus: status only, no status subresource (apis/v1/secretproviderclasspodstatus_types.go).
const SPCPS_CRD = crd('SecretProviderClassPodStatus', 'secretproviderclasspodstatuses', {
  apiVersion: str,
  kind: str,
  metadata: { type: 'object' },
  status: {
    type: 'object',
    properties: {
      podName: str,
      secretProviderClassName: str,
      mounted: { type: 'boolean' },
      targetPath: str,
      objects: { type: 'array', items: { type: 'object', properties: { id: str, version: str } } },
    },
  },
});

const { cluster, client } = await startCluster(t);
await apply(cluster, 'default', [SPC_CRD, SPCPS_CRD]);
for (const c of [SPC_CRD, SPCPS_CRD]) await kubectl(cluster, ['wait', '--for=condition=Established', `crd/${c.metadata.name}`, '--timeout=60s']);
await createNamespace(cluster, 'configstamp');
const ns = await createNamespace(cluster, 'csi');
const SPCPS = `/apis/${GROUP}/v1/namespaces/${ns}/secretproviderclasspodstatuses`;

let watcher: RunningWatcher = await startWatcher(cluster, 'configstamp');
t.teardown(() => watcher.proc.stop());
const webhook = await startWebhookProcess(cluster, ['--namespace=configstamp']);
t.teardown(() => webhook.process.stop());
await webhook.process.waitFor((r) => r.msg === 'hash key loaded', 30_000);
t.teardown(await registerWebhook(cluster, webhook.port, webhook.caPem));

const csiVolume = (spc: string) => ({
  name: 'secrets',
  csi: { driver: 'secrets-store.csi.k8s.io', readOnly: true, volumeAttributes: { secretProviderClass: spc } },
});
function csiDeployment(name: string, spc: string, annotations: Record<string, string>) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, annotations },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'registry.invalid/app:1',
              envFrom: [{ configMapRef: { name: 'settings' } }],
              volumeMounts: [{ name: 'secrets', mountPath: '/mnt/secrets', readOnly: true }],
            },
          ],
          volumes: [csiVolume(spc)],
        },
      },
    },
  };
}

/** Writes one pod's status object as the driver does (create, else update the whole object). */
async function report(pod: string, spc: string, versions: Record<string, string>): Promise<void> {
  const name = `${pod}-${ns}-${spc}`;
  const status = {
    podName: pod,
    secretProviderClassName: spc,
    mounted: true,
    targetPath: `/var/lib/kubelet/pods/${pod}/volumes/kubernetes.io~csi/secrets/mount`,
    objects: Object.entries(versions).map(([id, version]) => ({ id, version })),
  };
  const existing = await client.getOrNull<{ metadata: Record<string, unknown> }>(`${SPCPS}/${name}`);
  const body = {
    apiVersion: `${GROUP}/v1`,
    kind: 'SecretProviderClassPodStatus',
    metadata: { ...(existing?.metadata ?? {}), name, namespace: ns, labels: { 'internal.secrets-store.csi.k8s.io/node-name': 'node-1' } },
    status,
  };
  if (existing === null) await client.request('POST', SPCPS, { body });
  else await client.request('PUT', `${SPCPS}/${name}`, { body });
}

async function unmount(pod: string, spc: string): Promise<void> {
  await client.request('DELETE', `${SPCPS}/${pod}-${ns}-${spc}`);
}

const replicaSets = async (name: string): Promise<number> => (await replicaSetsOf(client, ns, name)).length;
/** Waits for `name` to have `want` ReplicaSets, then holds a while to see that no more come. */
async function expectReplicaSets(t: Test, name: string, want: number, label: string): Promise<void> {
  await eventually(`${name}: ${want} ReplicaSet(s)`, async () => ((await replicaSets(name)) >= want ? true : undefined), 20_000);
  await sleep(1_500);
  t.equal(await replicaSets(name), want, label);
}

const DEPLOY = `/apis/apps/v1/namespaces/${ns}/deployments`;
await apply(cluster, ns, [
  configMap('settings', { level: 'info' }),
  { apiVersion: `${GROUP}/v1`, kind: 'SecretProviderClass', metadata: { name: 'vault-db' }, spec: { provider: 'vault', parameters: { roleName: 'web' } } },
  csiDeployment('web', 'vault-db', { 'secretproviderclass.reloader.stakater.com/auto': 'true', 'configmap.reloader.stakater.com/auto': 'true' }),
  csiDeployment('untracked', 'vault-db', {}),
  csiDeployment('other-class', 'vault-api', { 'reloader.stakater.com/auto': 'true' }),
]);

t.test("a new workload's first pods reporting roll nothing: the class is adopted", async (t) => {
  const admitted = await annotationsOf(client, `${DEPLOY}/web`);
  t.match(admitted.template['configstamp.io/stamp'], /^v1:configmap\/settings=[0-9a-f]{16}$/, 'stamped at admission; the class no pod reports yet is left out');
  await report('web-aaa', 'vault-db', { 'secret/db-password': '1' });
  await report('web-bbb', 'vault-db', { 'secret/db-password': '1' });
  await report('untracked-aaa', 'vault-db', { 'secret/db-password': '1' });
  await report('other-class-aaa', 'vault-api', { 'secret/api-key': '5' });
  await eventually('web adopted the class', async () =>
    /secretproviderclass\/vault-db=/.test((await annotationsOf(client, `${DEPLOY}/web`)).own['configstamp.io/adopted-stamp'] ?? '') ? true : undefined,
  );
  await expectReplicaSets(t, 'web', 1, 'web: no rollout for its first pods');
  t.equal(await replicaSets('other-class'), 1, 'other-class: no rollout either');
});

t.test('one rotation seen in several pods is one rollout; the pods it creates do not roll it again', async (t) => {
  await report('web-aaa', 'vault-db', { 'secret/db-password': '2' });
  await expectReplicaSets(t, 'web', 2, 'the rotation rolled web once');
  const rolled = await annotationsOf(client, `${DEPLOY}/web`);
  t.match(rolled.template['configstamp.io/stamp'], /secretproviderclass\/vault-db=[0-9a-f]{16}/, 'the class is on the template stamp now');
  t.notMatch(JSON.stringify(rolled), /db-password/, 'no object id on the workload: a keyed digest only');
  await report('web-bbb', 'vault-db', { 'secret/db-password': '2' });
  await report('untracked-aaa', 'vault-db', { 'secret/db-password': '2' });
  await report('web-ccc', 'vault-db', { 'secret/db-password': '2' });
  await report('web-ddd', 'vault-db', { 'secret/db-password': '2' });
  await unmount('web-aaa', 'vault-db');
  await unmount('web-bbb', 'vault-db');
  await expectReplicaSets(t, 'web', 2, "the other pod's report, the new pods and the old ones going: no second rollout");
  t.equal(await replicaSets('untracked'), 1, 'an untracked consumer is never rolled');
  t.equal(await replicaSets('other-class'), 1, 'another class rolls nothing');
  const events = await client.request<{ items: { involvedObject: { name: string }; message: string }[] }>('GET', `/api/v1/namespaces/${ns}/events`);
  t.ok(
    events.items.some((e) => e.involvedObject.name === 'web' && /SecretProviderClass\/vault-db/.test(e.message)),
    'an Event on web names the class that changed',
  );
});

t.test('a ConfigMap change applied with a rotation is one rollout', async (t) => {
  // Both writes straight to the API server, so they land well inside the debounce: kubectl's own
  // start-up can take longer than the test watcher's 300 ms on a loaded machine.
  await Promise.all([
    client.request('PATCH', `/api/v1/namespaces/${ns}/configmaps/settings`, { body: { data: { level: 'debug' } }, contentType: MERGE_PATCH }),
    report('web-ccc', 'vault-db', { 'secret/db-password': '3' }),
  ]);
  await expectReplicaSets(t, 'web', 3, 'both changes, one rollout');
  await expectReplicaSets(t, 'other-class', 2, 'other-class (auto) rolled for the ConfigMap alone');
  const last = watcher
    .rollouts()
    .filter((r) => r.workload === `Deployment/${ns}/web`)
    .at(-1);
  t.match(String(last?.changed), /ConfigMap\/settings/, 'the rollout names the ConfigMap');
  t.match(String(last?.changed), /SecretProviderClass\/vault-db/, 'and the class');
});

t.test('restart sync: a rotation while the watcher was down rolls once at boot; a boot with nothing changed rolls nothing', async (t) => {
  await watcher.proc.stop();
  await report('web-ccc', 'vault-db', { 'secret/db-password': '4' });
  await report('web-eee', 'vault-db', { 'secret/db-password': '4' });
  watcher = await startWatcher(cluster, 'configstamp');
  await expectReplicaSets(t, 'web', 4, 'the missed rotation, found at boot: one rollout');
  await watcher.proc.stop();
  watcher = await startWatcher(cluster, 'configstamp');
  await sleep(1_000);
  await expectReplicaSets(t, 'web', 4, 'nothing changed while down: nothing rolled');
  t.equal(await replicaSets('other-class'), 2, 'other-class: nothing at either boot');
});
