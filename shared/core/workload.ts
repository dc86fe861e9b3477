/**
 * Accessors for a workload's pod template, at the path its kind's row gives (kinds.ts): its
 * annotations, and whether two versions differ beyond configstamp's own stamp. Both admission and
 * the watcher's decisions read templates only through these.
 */
import { Ours } from './annotations.js';
import { asStringMap, getPath, jsonEqual } from './json.js';
import type { JsonRecord } from './json.js';
import type { WorkloadKind } from './kinds.js';

export function templateAnnotations(kind: WorkloadKind, object: unknown): Readonly<Record<string, string>> {
  return asStringMap(getPath(object, [...kind.templatePath, 'metadata', 'annotations']));
}

/**
 * A pod template with configstamp's stamp taken out, for comparing what the user changed. Only
 * the objects on the way to the stamp are copied (shallowly); the rest is shared with the input,
 * which is only read.
 */
function templateWithoutStamp(kind: WorkloadKind, object: unknown): unknown {
  const template = getPath(object, kind.templatePath);
  if (!Object.hasOwn(templateAnnotations(kind, object), Ours.stamp)) return template;
  // The stamp was found there, so the template, its metadata and annotations are records.
  const { metadata, ...rest } = template as { metadata: { annotations: JsonRecord } };
  const { annotations, ...otherMetadata } = metadata;
  const { [Ours.stamp]: _stamp, ...otherAnnotations } = annotations;
  return { ...rest, metadata: Object.keys(otherAnnotations).length === 0 ? otherMetadata : { ...otherMetadata, annotations: otherAnnotations } };
}

/** Whether two versions of a workload have the same pod template, ignoring the stamp. */
export function templatesEqualIgnoringStamp(kind: WorkloadKind, a: unknown, b: unknown): boolean {
  return jsonEqual(templateWithoutStamp(kind, a), templateWithoutStamp(kind, b));
}
