/**
 * What admission does with a workload, before any source is read. A CREATE gets fresh digests.
 * An UPDATE that changes the pod template rolls the pods anyway, so it gets fresh digests too.
 * An UPDATE that leaves the template alone keeps the stamp the object already had, even when the
 * incoming object dropped it (kubectl replace, a Helm or GitOps re-render), so the template stays
 * byte-identical and nothing rolls.
 */
import { Ours } from './annotations.js';
import { versionsAnnotation } from './versions.js';
import { templateAnnotations, templatesEqualIgnoringStamp } from './workload.js';
import type { WorkloadKind } from './kinds.js';

export type AdmissionAction =
  | { readonly action: 'skip'; readonly reason: string }
  | {
      readonly action: 'stamp';
      readonly reason: string;
      /** The stamp to keep if fresh digests cannot be had (the watcher repairs later). */
      readonly fallback: string | undefined;
    }
  | { readonly action: 'restore'; readonly reason: string; readonly stamp: string };

/**
 * The record's versions (versions.ts) to put back when an UPDATE keeps the old template stamp
 * (`kept`) but the writer dropped them, as a server-side apply does with what the webhook added
 * for its manager; undefined when nothing is to be put back.
 */
export function droppedVersions(kind: WorkloadKind, object: unknown, oldObject: unknown, kept: string | undefined): string | undefined {
  if (kept === undefined || kept !== templateAnnotations(kind, oldObject)[Ours.stamp]) return undefined;
  return versionsAnnotation(object) === undefined ? versionsAnnotation(oldObject) : undefined;
}

export function admissionAction(kind: WorkloadKind, operation: string, object: unknown, oldObject: unknown): AdmissionAction {
  if (operation === 'CREATE') return { action: 'stamp', reason: 'created', fallback: undefined };
  if (operation !== 'UPDATE') return { action: 'skip', reason: `operation ${operation}` };
  const incoming = templateAnnotations(kind, object)[Ours.stamp];
  const previous = templateAnnotations(kind, oldObject)[Ours.stamp];
  if (!templatesEqualIgnoringStamp(kind, object, oldObject)) {
    return { action: 'stamp', reason: 'pod template changed', fallback: incoming ?? previous };
  }
  if (incoming !== undefined) return { action: 'skip', reason: 'pod template unchanged, stamp present' };
  if (previous !== undefined) return { action: 'restore', reason: 'pod template unchanged, stamp dropped by the writer', stamp: previous };
  return { action: 'skip', reason: 'pod template unchanged and never stamped (adopted workload)' };
}
