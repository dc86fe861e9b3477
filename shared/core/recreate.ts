/**
 * The object that replaces a workload rolled by re-creation (a Job, whose template is immutable):
 * the old one as the API has it, less what the API server owns (identity, status, the generated
 * selector and the labels it derives from the old object's UID), with the current stamp on its
 * template. Created under the same name, it runs the same work again with what its sources hold now.
 */
import { Ours } from './annotations.js';
import { asRecord, getPath } from './json.js';
import type { JsonRecord } from './json.js';
import type { WorkloadKind } from './kinds.js';

/** Metadata the API server sets on an object; a create must not carry it. */
const SERVER_METADATA = [
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
];
/** Labels the Job controller derives from the old Job's UID and name (both spellings). */
const DERIVED_LABELS = ['controller-uid', 'batch.kubernetes.io/controller-uid', 'job-name', 'batch.kubernetes.io/job-name'];
/** configstamp's own records on the workload's metadata: the new object starts from its template stamp. */
const OWN_RECORDS = [Ours.adoptedStamp, Ours.notifiedStamp, Ours.restartedStamp, Ours.restartedBase, Ours.sourceVersions];

function dropKeys(record: unknown, keys: readonly string[]): void {
  const r = asRecord(record);
  if (r !== undefined) for (const k of keys) delete r[k];
}

/** The replacement for `object`, stamped `stamp`; undefined when `object` is not one. */
/** `sourceVersions`: the versions annotation the new object's record is true at (versions.ts), null for none. */
export function recreatedObject(kind: WorkloadKind, object: unknown, stamp: string, sourceVersions: string | null = null): JsonRecord | undefined {
  if (asRecord(object) === undefined || asRecord(getPath(object, kind.templatePath)) === undefined) return undefined;
  const copy = structuredClone(object) as JsonRecord;
  delete copy.status;
  const metadata = asRecord(copy.metadata) ?? (copy.metadata = {});
  dropKeys(metadata, SERVER_METADATA);
  dropKeys(metadata.labels, DERIVED_LABELS);
  dropKeys(metadata.annotations, OWN_RECORDS);
  const spec = asRecord(copy.spec);
  // A selector the user wrote (manualSelector) stays; the generated one names the old UID.
  if (spec !== undefined && spec.manualSelector !== true) {
    delete spec.selector;
    dropKeys(getPath(copy, [...kind.templatePath, 'metadata', 'labels']), DERIVED_LABELS);
  }
  const template = asRecord(getPath(copy, kind.templatePath))!;
  const templateMeta = asRecord(template.metadata) ?? (template.metadata = {});
  const annotations = asRecord(templateMeta.annotations) ?? (templateMeta.annotations = {});
  annotations[Ours.stamp] = stamp;
  if (sourceVersions !== null) (asRecord(metadata.annotations) ?? (metadata.annotations = {}))[Ours.sourceVersions] = sourceVersions;
  return copy;
}
