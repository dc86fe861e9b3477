/**
 * Helpers for the watcher's end-to-end tests (not a test file itself): one control plane per
 * file, the watcher as a real process, manifests applied with the real kubectl, and rollouts
 * counted the way a user sees them (ReplicaSets, ControllerRevisions, template generations).
 */
import { KubeClient } from '../../shared/kube/client.js';
import { withControlPlane } from '../cluster/fixtures.js';
import { kubectlOk as kubectl } from '../cluster/kubectl.js';
import type { TeardownTarget } from '../cluster/fixtures.js';
import type { ControlPlane } from '../cluster/controlplane.js';
import { startConfigstamp } from '../support/process.js';
import type { ConfigstampProcess } from '../support/process.js';
import { controllerRevisionsOf, replicaSetsOf } from '../support/rollouts.js';

export interface WatcherCluster {
  readonly cluster: ControlPlane;
  readonly client: KubeClient;
}

/** One control plane for the test file, and an admin client for it. */
export async function startCluster(t: TeardownTarget): Promise<WatcherCluster> {
  const cluster = await withControlPlane(t);
  const client = await KubeClient.create(cluster.access, 'configstamp-e2e');
  t.teardown(() => client.close());
  return { cluster, client };
}

export { kubectl };

export async function apply(cluster: ControlPlane, namespace: string, manifests: readonly unknown[]): Promise<void> {
  await kubectl(cluster, ['apply', '-n', namespace, '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifests }));
}

export async function createNamespace(cluster: ControlPlane, name: string, labels: Record<string, string> = {}): Promise<string> {
  await apply(cluster, 'default', [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } }]);
  return name;
}

export function configMap(name: string, data: Record<string, string>, extra: Record<string, unknown> = {}): unknown {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...extra }, data };
}

export function secret(name: string, stringData: Record<string, string>): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name },
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(stringData).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}

/** A pod template consuming the given sources (envFrom for whole sources, keyRef for one key). */
export function podTemplate(app: string, uses: { configMap?: string; key?: string; secret?: string; secretKey?: string }): unknown {
  const env: unknown[] = [];
  const envFrom: unknown[] = [];
  if (uses.configMap && uses.key) env.push({ name: 'CM', valueFrom: { configMapKeyRef: { name: uses.configMap, key: uses.key } } });
  else if (uses.configMap) envFrom.push({ configMapRef: { name: uses.configMap } });
  if (uses.secret && uses.secretKey) env.push({ name: 'SEC', valueFrom: { secretKeyRef: { name: uses.secret, key: uses.secretKey } } });
  else if (uses.secret) envFrom.push({ secretRef: { name: uses.secret } });
  return {
    metadata: { labels: { app } },
    spec: { containers: [{ name: 'c', image: 'registry.invalid/app:1', env, envFrom }], terminationGracePeriodSeconds: 0 },
  };
}

const TRACK = { 'configstamp.io/track': 'true' };

export function deployment(name: string, uses: Parameters<typeof podTemplate>[1], annotations: Record<string, string> = TRACK): unknown {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, annotations },
    spec: { replicas: 0, selector: { matchLabels: { app: name } }, template: podTemplate(name, uses) },
  };
}

export function statefulSet(name: string, uses: Parameters<typeof podTemplate>[1]): unknown {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, annotations: TRACK },
    spec: { replicas: 0, serviceName: name, selector: { matchLabels: { app: name } }, template: podTemplate(name, uses) },
  };
}

export function daemonSet(name: string, uses: Parameters<typeof podTemplate>[1]): unknown {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, annotations: TRACK },
    spec: { selector: { matchLabels: { app: name } }, template: podTemplate(name, uses) },
  };
}

export function cronJob(name: string, uses: Parameters<typeof podTemplate>[1]): unknown {
  const template = podTemplate(name, uses) as { spec: Record<string, unknown> };
  template.spec.restartPolicy = 'Never';
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name, annotations: TRACK },
    spec: { schedule: '0 0 1 1 *', suspend: true, jobTemplate: { spec: { template } } },
  };
}

export function rollout(name: string, uses: Parameters<typeof podTemplate>[1]): unknown {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name, annotations: TRACK },
    spec: { replicas: 0, selector: { matchLabels: { app: name } }, template: podTemplate(name, uses) },
  };
}

/** An OpenShift DeploymentConfig (apps.openshift.io/v1), as a CRD of that shape: no OpenShift here. */
export function deploymentConfig(name: string, uses: Parameters<typeof podTemplate>[1]): unknown {
  return {
    apiVersion: 'apps.openshift.io/v1',
    kind: 'DeploymentConfig',
    metadata: { name, annotations: TRACK },
    spec: { replicas: 0, selector: { app: name }, triggers: [{ type: 'ConfigChange' }], template: podTemplate(name, uses) },
  };
}

export const DEPLOYMENT_CONFIG_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'deploymentconfigs.apps.openshift.io' },
  spec: {
    group: 'apps.openshift.io',
    scope: 'Namespaced',
    names: { kind: 'DeploymentConfig', plural: 'deploymentconfigs', singular: 'deploymentconfig', listKind: 'DeploymentConfigList', shortNames: ['dc'] },
    versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
  },
};

/** A minimal Argo Rollout CRD: enough for the API server to serve argoproj.io/v1alpha1 rollouts. */
export const ROLLOUT_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'rollouts.argoproj.io' },
  spec: {
    group: 'argoproj.io',
    scope: 'Namespaced',
    names: { kind: 'Rollout', plural: 'rollouts', singular: 'rollout', listKind: 'RolloutList' },
    versions: [
      { name: 'v1alpha1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } },
    ],
  },
};

export async function rolloutCount(client: KubeClient, namespace: string, kind: string, name: string): Promise<number> {
  if (kind === 'Deployment') return (await replicaSetsOf(client, namespace, name)).length;
  if (kind === 'StatefulSet' || kind === 'DaemonSet') return (await controllerRevisionsOf(client, namespace, kind, name)).length;
  const path =
    kind === 'CronJob'
      ? `/apis/batch/v1/namespaces/${namespace}/cronjobs/${name}`
      : kind === 'DeploymentConfig'
        ? `/apis/apps.openshift.io/v1/namespaces/${namespace}/deploymentconfigs/${name}`
        : `/apis/argoproj.io/v1alpha1/namespaces/${namespace}/rollouts/${name}`;
  const obj = await client.request<{ metadata: { generation: number } }>('GET', path);
  return obj.metadata.generation;
}

export interface RunningWatcher {
  readonly proc: ConfigstampProcess;
  readonly opsPort: number;
  /** Rollout log records so far. */
  rollouts(): Record<string, unknown>[];
}

/** Starts `configstamp watcher` with short test timings and waits until it leads and has synced. */
export async function startWatcher(cluster: ControlPlane, ownNamespace: string, extra: readonly string[] = [], waitLeading = true): Promise<RunningWatcher> {
  const proc = startConfigstamp([
    'watcher',
    `--kubeconfig=${cluster.kubeconfigPath}`,
    `--namespace=${ownNamespace}`,
    '--debounce=300ms',
    '--health-port=0',
    '--lease-duration=2s',
    '--renew-deadline=1500ms',
    '--retry-period=250ms',
    '--min-rollout-interval=0',
    '--log-level=debug',
    ...extra,
  ]);
  if (process.env.CONFIGSTAMP_E2E_LOGS === '1') proc.child.stdout?.on('data', (c: Buffer) => process.stderr.write(c));
  const ops = await proc.waitFor((r) => r.msg === 'ops serving');
  await proc.waitFor((r) => r.msg === 'synced: listed namespaces, sources and workloads', 60_000);
  if (waitLeading) await proc.waitFor((r) => r.msg === 'became leader' || r.msg === 'leading: reconciling every workload (restart sync)', 30_000);
  return { proc, opsPort: ops.port as number, rollouts: () => proc.records().filter((r) => r.msg === 'rollout: stamp patched') };
}

export async function annotationsOf(client: KubeClient, path: string): Promise<{ own: Record<string, string>; template: Record<string, string> }> {
  const obj = await client.request<{
    metadata: { annotations?: Record<string, string> };
    spec: { template?: { metadata?: { annotations?: Record<string, string> } } };
  }>('GET', path);
  return { own: obj.metadata.annotations ?? {}, template: obj.spec.template?.metadata?.annotations ?? {} };
}
