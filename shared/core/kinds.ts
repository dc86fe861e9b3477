/**
 * The two kind tables, one row each: the source kinds configstamp digests (how the API names them,
 * how a stamp writes them, how their data is encoded, what never counts) and the workload kinds it
 * stamps (where the kind lives in the API and where its pod template sits). Nothing else in the
 * code switches on kind: adding one is adding a row (docs/design.md, "Adding a kind").
 */

import type { ProgressRule } from './progress.js';

export type SourceKind = 'ConfigMap' | 'Secret' | 'SecretProviderClass';

/** In source-id order (source-table.ts lists by kind in this order): "Secret/…" sorts before "SecretProviderClass/…". */
export const SOURCE_KINDS: readonly SourceKind[] = ['ConfigMap', 'Secret', 'SecretProviderClass'];

/** Helm keeps release history in Secrets of this type; they never drive a rollout. */
export const HELM_RELEASE_TYPE = 'helm.sh/release.v1';

export interface SourceKindRow {
  readonly kind: SourceKind;
  /** The API resource (core group, v1), also its spelling in --resources-to-ignore. */
  readonly plural: string;
  /** How a stamp names the kind: `configmap/app-config=…`. */
  readonly token: string;
  /** How `data` values are written on the wire: text (ConfigMap) or base64 bytes (Secret). */
  readonly dataEncoding: 'utf8' | 'base64';
  /** Whether the kind has a `binaryData` section (base64). */
  readonly hasBinaryData: boolean;
  /** The field selector for lists and watches: objects of the kind that never drive a rollout. */
  readonly listFieldSelector: string | undefined;
  /**
   * Set for a kind whose state is not an object of its own but what per-pod status objects of a
   * CRD report (the Secrets Store CSI driver writes one SecretProviderClassPodStatus per pod and
   * class, its `status.objects` the ids and versions mounted): the watcher folds them into one
   * state per source (shared/core/csi.ts). Consumed through CSI volumes of `driver`, naming the
   * source in `volumeAttributes[attribute]`. Such a source is never "absent": until some pod has
   * reported it, it is unknown and left out of the stamp, so a new workload's first pods roll nothing.
   */
  readonly podStatus?: {
    readonly group: string;
    readonly version: string;
    readonly plural: string;
    readonly driver: string;
    readonly attribute: string;
  };
}

export const SOURCE_KIND_TABLE: Readonly<Record<SourceKind, SourceKindRow>> = Object.freeze({
  ConfigMap: { kind: 'ConfigMap', plural: 'configmaps', token: 'configmap', dataEncoding: 'utf8', hasBinaryData: true, listFieldSelector: undefined },
  Secret: { kind: 'Secret', plural: 'secrets', token: 'secret', dataEncoding: 'base64', hasBinaryData: false, listFieldSelector: `type!=${HELM_RELEASE_TYPE}` },
  SecretProviderClass: {
    kind: 'SecretProviderClass',
    plural: 'secretproviderclasses',
    token: 'secretproviderclass',
    // The folded state is written as `data`: object id → version (csi.ts).
    dataEncoding: 'utf8',
    hasBinaryData: false,
    listFieldSelector: undefined,
    podStatus: {
      group: 'secrets-store.csi.x-k8s.io',
      version: 'v1',
      plural: 'secretproviderclasspodstatuses',
      driver: 'secrets-store.csi.k8s.io',
      attribute: 'secretProviderClass',
    },
  },
});

/** Whether per-pod status objects report the kind's state (SourceKindRow.podStatus), not objects of its own. */
export function isPodStatusKind(kind: SourceKind): boolean {
  return SOURCE_KIND_TABLE[kind].podStatus !== undefined;
}

/** The source kinds whose state per-pod status objects report. */
export const POD_STATUS_SOURCE_KINDS: readonly SourceKind[] = SOURCE_KINDS.filter(isPodStatusKind);

/** The source kinds that are objects of their own (ConfigMaps, Secrets): read and listed from the API. */
export const OBJECT_SOURCE_KINDS: readonly SourceKind[] = SOURCE_KINDS.filter((k) => !isPodStatusKind(k));

/** A source kind by its stamp token; undefined for anything else (own properties only). */
export function sourceKindByToken(token: string): SourceKind | undefined {
  return SOURCE_KINDS.find((k) => SOURCE_KIND_TABLE[k].token === token);
}

/** A source kind by the names users write in flags: `configMaps`, `secret`… (any case, singular or plural). */
export function sourceKindByName(name: string): SourceKind | undefined {
  const n = name.toLowerCase();
  return SOURCE_KINDS.find((k) => SOURCE_KIND_TABLE[k].plural === n || k.toLowerCase() === n);
}

export interface WorkloadKind {
  readonly kind: string;
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  /** Path from the object's root to its PodTemplateSpec. */
  readonly templatePath: readonly string[];
  /** Served only when a CRD is installed: a 404 on list means "not here", not an error. */
  readonly crd: boolean;
  /** Where a timestamp restarts the pods without a template change (Argo's spec.restartAt), if the kind has one. */
  readonly restartPath?: readonly string[];
  /** Where the kind can be paused (a Deployment's spec.paused), for the pause period. */
  readonly pausePath?: readonly string[];
  /**
   * Rolled by deleting the object and creating it again (a Job: its template is immutable once
   * created), and only when it opts in (PolicyOptions.recreateJobs, or its own annotation):
   * recreating destroys the old object, its pods and their logs.
   */
  readonly recreate?: boolean;
  /**
   * Where an object of the kind may name another workload whose pod template it runs instead of
   * its own (an Argo Rollout's spec.workloadRef: {apiVersion, kind, name}). Such an object has no
   * template to stamp: its sources are read from the referenced template, and it is restarted
   * through restartPath, which its controller accepts.
   */
  readonly templateRefPath?: readonly string[];
  /** How its rollout's progress is read from its status (progress.ts); none: nothing to wait for. */
  readonly progress?: ProgressRule;
}

export const WORKLOAD_KINDS: readonly WorkloadKind[] = [
  {
    kind: 'Deployment',
    group: 'apps',
    version: 'v1',
    plural: 'deployments',
    templatePath: ['spec', 'template'],
    crd: false,
    pausePath: ['spec', 'paused'],
    progress: 'replicas',
  },
  { kind: 'StatefulSet', group: 'apps', version: 'v1', plural: 'statefulsets', templatePath: ['spec', 'template'], crd: false, progress: 'statefulSet' },
  { kind: 'DaemonSet', group: 'apps', version: 'v1', plural: 'daemonsets', templatePath: ['spec', 'template'], crd: false, progress: 'daemonSet' },
  { kind: 'CronJob', group: 'batch', version: 'v1', plural: 'cronjobs', templatePath: ['spec', 'jobTemplate', 'spec', 'template'], crd: false },
  {
    kind: 'Rollout',
    group: 'argoproj.io',
    version: 'v1alpha1',
    plural: 'rollouts',
    templatePath: ['spec', 'template'],
    crd: true,
    restartPath: ['spec', 'restartAt'],
    templateRefPath: ['spec', 'workloadRef'],
    progress: 'phase',
  },
  {
    kind: 'DeploymentConfig',
    group: 'apps.openshift.io',
    version: 'v1',
    plural: 'deploymentconfigs',
    templatePath: ['spec', 'template'],
    crd: true,
    progress: 'replicas',
  },
  { kind: 'Job', group: 'batch', version: 'v1', plural: 'jobs', templatePath: ['spec', 'template'], crd: false, recreate: true },
];

/** Finds a kind by its admission GroupVersionResource, among `kinds` (the built-in rows by default); undefined when not ours. */
export function workloadKindByResource(
  group: string,
  version: string,
  plural: string,
  kinds: readonly WorkloadKind[] = WORKLOAD_KINDS,
): WorkloadKind | undefined {
  return kinds.find((k) => k.group === group && k.version === version && k.plural === plural);
}

const EXTRA_KIND =
  /^(?:([a-z0-9]([-a-z0-9.]*[a-z0-9])?)\/)?(v[0-9][a-z0-9]*)\/([a-z][-a-z0-9]*):([A-Z][A-Za-z0-9]*):([A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*)$/;

/**
 * A row for a pod-template kind the user names (--extra-workload-kinds): `group/version/resource:Kind:path`,
 * e.g. `serving.knative.dev/v1/services:Service:spec.template` (`v1/resource` for the core group).
 * It is served by a CRD as far as the watcher knows (a 404 on list means not installed). Undefined
 * for a malformed entry, or one that names a built-in kind's resource.
 */
export function parseExtraWorkloadKind(entry: string): WorkloadKind | undefined {
  const m = EXTRA_KIND.exec(entry.trim());
  if (m === null) return undefined;
  const row: WorkloadKind = { kind: m[5]!, group: m[1] ?? '', version: m[3]!, plural: m[4]!, templatePath: m[6]!.split('.'), crd: true };
  return workloadKindByResource(row.group, row.version, row.plural) === undefined && WORKLOAD_KINDS.every((k) => k.kind !== row.kind) ? row : undefined;
}

export function workloadKindByName(kind: string): WorkloadKind | undefined {
  return WORKLOAD_KINDS.find((k) => k.kind === kind);
}

export function apiVersionOf(kind: WorkloadKind): string {
  return kind.group === '' ? kind.version : `${kind.group}/${kind.version}`;
}
