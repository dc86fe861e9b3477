/**
 * Accessors for a workload's pod template, at the path its kind's row gives (kinds.ts): its
 * annotations, and whether two versions differ beyond configstamp's own stamp. Both admission and
 * the watcher's decisions read templates only through these.
 */
import { Ours } from './annotations.js';
import { asRecord, asString, asStringMap, getPath, jsonEqual } from './json.js';
import type { JsonRecord } from './json.js';
import { WORKLOAD_KINDS, apiVersionOf } from './kinds.js';
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

/** The workload an object runs the pod template of (kinds with templateRefPath). */
export interface TemplateRef {
  readonly kind: WorkloadKind;
  readonly name: string;
}

/**
 * The workload whose template `object` runs instead of its own (an Argo Rollout's workloadRef),
 * among `kinds` that have a template of their own; undefined when it names none, or one that is
 * not a workload kind of this install.
 */
export function templateRefOf(kind: WorkloadKind, object: unknown, kinds: readonly WorkloadKind[] = WORKLOAD_KINDS): TemplateRef | undefined {
  if (kind.templateRefPath === undefined) return undefined;
  const ref = asRecord(getPath(object, kind.templateRefPath));
  const name = asString(ref?.name);
  if (ref === undefined || name === undefined || name === '') return undefined;
  const target = kinds.find((k) => k.templateRefPath === undefined && k.kind === ref.kind && apiVersionOf(k) === ref.apiVersion);
  return target === undefined ? undefined : { kind: target, name };
}

/**
 * `object` as the evaluation reads it when it runs another workload's template (templateRefOf):
 * a shallow copy carrying that template at its own template path. `referenced` undefined (not
 * found), or tracked by configstamp itself: the object as it is, with no template, so it
 * consumes nothing.
 */
export function withReferencedTemplate(kind: WorkloadKind, object: unknown, ref: TemplateRef, referenced: unknown): unknown {
  const template = asRecord(getPath(referenced, ref.kind.templatePath));
  if (template === undefined) return object;
  // configstamp tracks the referenced workload itself (it carries our stamp, or was adopted): its
  // rollouts change the template this object runs, which its controller rolls. Restarting it
  // too would roll it twice, so it follows, consuming nothing of its own.
  const own = asRecord(getPath(referenced, ['metadata', 'annotations']));
  if (Object.hasOwn(asRecord(template.metadata)?.annotations ?? {}, Ours.stamp) || (own !== undefined && Object.hasOwn(own, Ours.adoptedStamp))) return object;
  const annotations = asRecord(asRecord(template.metadata)?.annotations);
  let grafted: JsonRecord = template;
  if (annotations !== undefined && Object.hasOwn(annotations, Ours.stamp)) {
    const { [Ours.stamp]: _stamp, ...rest } = annotations;
    grafted = { ...template, metadata: { ...asRecord(template.metadata), annotations: rest } };
  }
  // Copy the records on the template path, then set the template at its end.
  const root: JsonRecord = { ...(asRecord(object) ?? {}) };
  let at = root;
  const path = kind.templatePath;
  for (let i = 0; i < path.length - 1; i++) {
    const next: JsonRecord = { ...(asRecord(at[path[i]!]) ?? {}) };
    at[path[i]!] = next;
    at = next;
  }
  at[path[path.length - 1]!] = grafted;
  return root;
}
