/**
 * The writes configstamp makes, as data: a JSON Patch for admission responses and a merge patch
 * for the watcher, each on the right path for the workload's kind.
 */
import { Ours } from './annotations.js';
import { asRecord, getPath } from './json.js';
import type { JsonRecord } from './json.js';
import type { WorkloadKind } from './kinds.js';

export interface JsonPatchOp {
  readonly op: 'add' | 'replace' | 'remove';
  readonly path: string;
  readonly value?: unknown;
}

/** RFC 6901: `~` becomes `~0` and `/` becomes `~1`, in that order. */
export function escapePointerSegment(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

export function pointer(segments: readonly string[]): string {
  return segments.map((s) => `/${escapePointerSegment(s)}`).join('');
}

/**
 * JSON Patch that sets one annotation of the pod template, creating `metadata` and
 * `annotations` when the object lacks them. Empty when the object has no pod template.
 */
export function buildTemplateAnnotationPatch(kind: WorkloadKind, object: unknown, key: string, value: string): JsonPatchOp[] {
  const template = asRecord(getPath(object, kind.templatePath));
  if (template === undefined) return [];
  const metadataPath = [...kind.templatePath, 'metadata'];
  const metadata = asRecord(template.metadata);
  if (metadata === undefined) return [{ op: 'add', path: pointer(metadataPath), value: { annotations: { [key]: value } } }];
  if (asRecord(metadata.annotations) === undefined) {
    return [{ op: 'add', path: pointer([...metadataPath, 'annotations']), value: { [key]: value } }];
  }
  return [{ op: 'add', path: pointer([...metadataPath, 'annotations', key]), value }];
}

/** JSON Patch that sets one annotation of the object's own metadata, creating what it lacks. */
export function buildMetadataAnnotationPatch(object: unknown, key: string, value: string): JsonPatchOp[] {
  const metadata = asRecord(getPath(object, ['metadata']));
  if (metadata === undefined) return [{ op: 'add', path: '/metadata', value: { annotations: { [key]: value } } }];
  if (asRecord(metadata.annotations) === undefined) return [{ op: 'add', path: '/metadata/annotations', value: { [key]: value } }];
  return [{ op: 'add', path: pointer(['metadata', 'annotations', key]), value }];
}

export function buildStampJsonPatch(kind: WorkloadKind, object: unknown, stampValue: string): JsonPatchOp[] {
  return buildTemplateAnnotationPatch(kind, object, Ours.stamp, stampValue);
}

/** Sets `value` at `path` under `root`, creating the records on the way. */
export function setIn(root: JsonRecord, path: readonly string[], value: unknown): void {
  let node = root;
  for (const segment of path.slice(0, -1)) node = (node[segment] ??= {}) as JsonRecord;
  node[path[path.length - 1]!] = value;
}

function nest(path: readonly string[], leaf: JsonRecord): JsonRecord {
  return path.reduceRight<JsonRecord>((inner, segment) => ({ [segment]: inner }), leaf);
}

export interface MergePatchInput {
  /** New template stamp (a rollout), or undefined to leave the template alone. */
  readonly templateStamp?: string | undefined;
  /** New adopted stamp on the workload's metadata; null removes it; undefined leaves it. */
  readonly adoptedStamp?: string | null | undefined;
  /** New notified stamp on the workload's metadata (notify mode); null removes it; undefined leaves it. */
  readonly notifiedStamp?: string | null | undefined;
  /** Guards the write: the API answers 409 if the workload changed since it was read. */
  readonly resourceVersion?: string | undefined;
  /** Restart strategy: the timestamp to write at the kind's restartPath, and what it applies. */
  readonly restart?: { readonly path: readonly string[]; readonly at: string; readonly stamp: string; readonly base: string } | undefined;
  /** Re-keying: digests recorded over the template stamp `base` (as a restart's are), the template left alone. */
  readonly over?: { readonly stamp: string; readonly base: string } | undefined;
  /** The resourceVersions the written record is true at (versions.ts); null removes them; undefined leaves them. */
  readonly sourceVersions?: string | null | undefined;
}

/** A minimal JSON merge patch (RFC 7386) touching only configstamp's annotations. */
export function buildStampMergePatch(kind: WorkloadKind, input: MergePatchInput): JsonRecord {
  const metadata: JsonRecord = {};
  const annotations: JsonRecord = {};
  if (input.adoptedStamp !== undefined) annotations[Ours.adoptedStamp] = input.adoptedStamp;
  if (input.notifiedStamp !== undefined) annotations[Ours.notifiedStamp] = input.notifiedStamp;
  const over = input.restart ?? input.over;
  if (over !== undefined) {
    annotations[Ours.restartedStamp] = over.stamp;
    annotations[Ours.restartedBase] = over.base;
  }
  if (input.sourceVersions !== undefined) annotations[Ours.sourceVersions] = input.sourceVersions;
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  if (input.resourceVersion !== undefined) metadata.resourceVersion = input.resourceVersion;
  const patch: JsonRecord = Object.keys(metadata).length > 0 ? { metadata } : {};
  if (input.restart !== undefined) setIn(patch, input.restart.path, input.restart.at);
  if (input.templateStamp !== undefined) {
    const templatePatch = nest([...kind.templatePath, 'metadata', 'annotations'], { [Ours.stamp]: input.templateStamp });
    Object.assign(patch, templatePatch);
  }
  return patch;
}
