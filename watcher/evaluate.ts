/**
 * One workload through the pure core: references → tracking plan → tracked sources → stamp →
 * decision. The watcher's reconcile and `configstamp plan` both go through here, so what plan
 * prints is what the watcher would do.
 */
import { decideReconcile } from '../shared/core/decide.js';
import type { ReconcileDecision } from '../shared/core/decide.js';
import { getPath } from '../shared/core/json.js';
import type { WorkloadKind } from '../shared/core/kinds.js';
import { planTracking, selectTrackedSources } from '../shared/core/policy.js';
import type { NamespaceView, PolicyOptions, SourceCatalog, TrackedSource, TrackingPlan } from '../shared/core/policy.js';
import { extractReferences } from '../shared/core/references.js';
import type { Stamp } from '../shared/core/stamp.js';
import type { SourceDigests, VersionLookup } from './digests.js';

export interface Tracking {
  readonly plan: TrackingPlan;
  readonly tracked: readonly TrackedSource[];
}

export function trackingOf(kind: WorkloadKind, object: unknown, namespace: NamespaceView, catalog: SourceCatalog, policy: PolicyOptions): Tracking {
  const refs = extractReferences(getPath(object, kind.templatePath));
  const plan = planTracking({ kind, object }, refs, namespace, policy);
  return { plan, tracked: selectTrackedSources(plan, catalog, policy) };
}

export interface Evaluation extends Tracking {
  readonly stamp: Stamp;
  readonly decision: ReconcileDecision;
}

export interface EvaluateInput {
  readonly kind: WorkloadKind;
  readonly object: unknown;
  readonly namespace: string;
  readonly namespaceView: NamespaceView;
  readonly catalog: SourceCatalog;
  readonly policy: PolicyOptions;
  readonly rollOnDelete: boolean;
  /** Notify mode: drift is notified, not rolled (docs/watcher.md). */
  readonly notify?: boolean | undefined;
  readonly digests: SourceDigests;
  /** Use cached digests of these versions; undefined reads every source afresh. */
  readonly versions?: VersionLookup | undefined;
}

export async function evaluateWorkload(input: EvaluateInput): Promise<Evaluation> {
  const tracking = trackingOf(input.kind, input.object, input.namespaceView, input.catalog, input.policy);
  if (!tracking.plan.tracked) return { ...tracking, stamp: [], decision: { action: 'none' } };
  const stamp = await input.digests.stamp(input.namespace, tracking.tracked, input.versions);
  const decision = decideReconcile(input.kind, input.object, stamp, { rollOnDelete: input.rollOnDelete, notify: input.notify });
  return { ...tracking, stamp, decision };
}
