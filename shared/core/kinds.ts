/**
 * The workload kinds configstamp stamps, one row each: where the kind lives in the API and where
 * its pod template sits. Nothing else in the code switches on kind.
 */

export type SourceKind = 'ConfigMap' | 'Secret';

/** In source-id order (source-table.ts lists by kind in this order). */
export const SOURCE_KINDS: readonly SourceKind[] = ['ConfigMap', 'Secret'];

export interface WorkloadKind {
  readonly kind: string;
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  /** Path from the object's root to its PodTemplateSpec. */
  readonly templatePath: readonly string[];
  /** Whether a change of the template restarts running pods (a CronJob's only shapes new Jobs). */
  readonly rollsPods: boolean;
}

export const WORKLOAD_KINDS: readonly WorkloadKind[] = [
  { kind: 'Deployment', group: 'apps', version: 'v1', plural: 'deployments', templatePath: ['spec', 'template'], rollsPods: true },
  { kind: 'StatefulSet', group: 'apps', version: 'v1', plural: 'statefulsets', templatePath: ['spec', 'template'], rollsPods: true },
  { kind: 'DaemonSet', group: 'apps', version: 'v1', plural: 'daemonsets', templatePath: ['spec', 'template'], rollsPods: true },
  { kind: 'CronJob', group: 'batch', version: 'v1', plural: 'cronjobs', templatePath: ['spec', 'jobTemplate', 'spec', 'template'], rollsPods: false },
  { kind: 'Rollout', group: 'argoproj.io', version: 'v1alpha1', plural: 'rollouts', templatePath: ['spec', 'template'], rollsPods: true },
];

/** Finds a kind by its admission GroupVersionResource (or group + kind); undefined when not ours. */
export function workloadKindByResource(group: string, version: string, plural: string): WorkloadKind | undefined {
  return WORKLOAD_KINDS.find((k) => k.group === group && k.version === version && k.plural === plural);
}

export function workloadKindByName(kind: string): WorkloadKind | undefined {
  return WORKLOAD_KINDS.find((k) => k.kind === kind);
}

export function apiVersionOf(kind: WorkloadKind): string {
  return kind.group === '' ? kind.version : `${kind.group}/${kind.version}`;
}
