/**
 * What the webhook does with one decoded admission request: fetch → core → patch. The plan comes
 * from the shared core (admissionAction): CREATE and template-changing UPDATEs get fresh digests,
 * an UPDATE that left the template alone but dropped the stamp gets it back, anything else passes
 * untouched. Every failure is returned as a fail-open outcome, never thrown.
 */
import { admissionAction, droppedVersions } from '../shared/core/admission.js';
import { Ours } from '../shared/core/annotations.js';
import { templateAnnotations, templateRefOf } from '../shared/core/workload.js';
import { evaluateWorkload } from '../shared/core/evaluate.js';
import { getPath } from '../shared/core/json.js';
import { workloadKindByResource } from '../shared/core/kinds.js';
import type { WorkloadKind } from '../shared/core/kinds.js';
import { buildMetadataAnnotationPatch, buildStampJsonPatch } from '../shared/core/patch.js';
import type { JsonPatchOp } from '../shared/core/patch.js';
import type { PolicyOptions } from '../shared/core/policy.js';
import { formatStamp } from '../shared/core/stamp.js';
import { versionsAnnotation, versionsText } from '../shared/core/versions.js';
import { errorCode, errorMessage } from '../shared/errors.js';
import type { ErrorCode } from '../shared/errors.js';
import type { AdmissionRequest } from './decode.js';
import type { NamespaceLookup } from './namespaces.js';
import type { SourceReader } from './reads.js';
import type { AdmissionResult } from './metrics.js';

export interface AdmitDeps {
  readonly policy: PolicyOptions;
  readonly namespaces: NamespaceLookup;
  /** The per-cluster key, or undefined while it is not loaded. */
  readonly hashKey: () => Uint8Array | undefined;
  readonly readSources: SourceReader;
}

export interface AdmitOutcome {
  readonly result: AdmissionResult;
  readonly reason: string;
  /** The workload kind when it is one of ours. */
  readonly kind: WorkloadKind | undefined;
  readonly patch: readonly JsonPatchOp[];
  readonly warnings: readonly string[];
  readonly error?: { readonly code: ErrorCode; readonly message: string };
}

function outcome(result: AdmissionResult, reason: string, kind: WorkloadKind | undefined, patch: readonly JsonPatchOp[] = []): AdmitOutcome {
  return { result, reason, kind, patch, warnings: [] };
}

/** The warning the API server relays to the client; names the error, never a value. */
export function failOpenWarning(code: ErrorCode, message: string): string {
  return `configstamp: not stamped (${code}: ${message}); allowed unchanged, the watcher will repair it`;
}

export async function admit(request: AdmissionRequest, deps: AdmitDeps): Promise<AdmitOutcome> {
  const { group, version, resource } = request.resource;
  const kind = workloadKindByResource(group, version, resource, deps.policy.workloadKinds);
  if (kind === undefined) return outcome('skipped', `resource ${group}/${version}/${resource} is not a workload kind`, undefined);
  if (request.subResource !== '') return outcome('skipped', `subresource ${request.subResource}`, kind);
  if (request.object === null) return outcome('skipped', 'request carries no object', kind);
  // Its template is another workload's (an Argo Rollout's workloadRef): nothing here to stamp; the watcher restarts it.
  if (templateRefOf(kind, request.object, deps.policy.workloadKinds) !== undefined)
    return outcome('skipped', `runs the template of the workload its ${kind.templateRefPath!.join('.')} names`, kind);
  const plan = admissionAction(kind, request.operation, request.object, request.oldObject);
  const incoming = templateAnnotations(kind, request.object)[Ours.stamp];
  if (plan.action === 'skip') {
    const versions = droppedVersions(kind, request.object, request.oldObject, incoming);
    if (versions === undefined) return outcome('skipped', plan.reason, kind);
    return outcome('restored', `${plan.reason}; source versions dropped by the writer`, kind, versionsPatch(request.object, versions));
  }
  if (plan.action === 'restore') {
    const versions = droppedVersions(kind, request.object, request.oldObject, plan.stamp);
    return outcome('restored', plan.reason, kind, [...buildStampJsonPatch(kind, request.object, plan.stamp), ...versionsPatch(request.object, versions)]);
  }

  try {
    const namespace = request.namespace || String(getPath(request.object, ['metadata', 'namespace']) ?? '');
    if (namespace === '') return outcome('skipped', 'no namespace', kind);
    const ns = await deps.namespaces.get(namespace);
    const {
      plan: tracking,
      stamp,
      versions,
      seal,
    } = await evaluateWorkload({ kind, object: request.object, namespace: ns, policy: deps.policy }, deps.readSources(namespace, deps.hashKey));
    if (!tracking.tracked) return outcome('skipped', tracking.reason, kind);
    if (stamp.length === 0 && incoming === undefined) return outcome('unchanged', `${plan.reason}; tracked (${tracking.reason}) but no source is`, kind);
    const value = formatStamp(stamp);
    // The versions the digests were taken at go beside them, sealed under the key, so a new hash
    // key re-keys rather than rolls and a restart of the watcher can trust them.
    const recorded = versionsText(stamp, versions, seal) ?? undefined;
    const versionsOp = recorded === versionsAnnotation(request.object) ? [] : versionsPatch(request.object, recorded);
    if (value === incoming) {
      if (versionsOp.length === 0) return outcome('unchanged', `${plan.reason}; stamp already current`, kind);
      return outcome('stamped', `${plan.reason}; stamp already current, source versions recorded`, kind, versionsOp);
    }
    return outcome('stamped', `${plan.reason}; tracked (${tracking.reason})`, kind, [...buildStampJsonPatch(kind, request.object, value), ...versionsOp]);
  } catch (err) {
    return failOpen(kind, request, plan.fallback, incoming, err);
  }
}

function versionsPatch(object: unknown, versions: string | undefined): JsonPatchOp[] {
  return versions === undefined ? [] : buildMetadataAnnotationPatch(object, Ours.sourceVersions, versions);
}

/**
 * Allowed unchanged, except that a stamp the writer dropped is put back (the watcher compares
 * against it), with the versions recorded beside it.
 */
function failOpen(kind: WorkloadKind, request: AdmissionRequest, fallback: string | undefined, incoming: string | undefined, err: unknown): AdmitOutcome {
  const code = errorCode(err);
  const message = errorMessage(err);
  const object = request.object;
  const patch = [
    ...(fallback !== undefined && fallback !== incoming ? buildStampJsonPatch(kind, object, fallback) : []),
    ...versionsPatch(object, droppedVersions(kind, object, request.oldObject, fallback)),
  ];
  return {
    result: 'failed_open',
    reason: 'could not compute fresh digests',
    kind,
    patch,
    warnings: [failOpenWarning(code, message)],
    error: { code, message },
  };
}
