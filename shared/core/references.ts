/**
 * Which ConfigMaps and Secrets a pod template consumes, and which of their keys. Volumes
 * (including projected ones) and envFrom consume every key unless `items` names some;
 * env[].valueFrom key refs consume one key. Containers, initContainers and ephemeralContainers
 * all count. Malformed entries are skipped: the template is untrusted input.
 */
import { asArray, asRecord, asString, getPath } from './json.js';
import type { SourceKind } from './kinds.js';

/** The keys a pod consumes from one source: every key, or the named ones. */
export type KeySelection = { readonly all: true } | { readonly all: false; readonly keys: ReadonlySet<string> };

export const ALL_KEYS: KeySelection = Object.freeze({ all: true });

export interface SourceRef {
  readonly kind: SourceKind;
  readonly name: string;
  readonly keys: KeySelection;
  /** True only when every reference to the source is optional. */
  readonly optional: boolean;
}

/** Stable identity of a source inside one namespace, e.g. "ConfigMap/app-config". */
export function sourceId(kind: SourceKind, name: string): string {
  return `${kind}/${name}`;
}

/** A ConfigMap's or Secret's name: a DNS subdomain (lower case, digits, `-`, `.`; 253 at most). */
const SOURCE_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/**
 * Whether a string can name a ConfigMap or Secret. Anything else can never exist, and the stamp
 * could not record it (parseStamp refuses such names), so it is never a source.
 */
export function isSourceName(name: string): boolean {
  return SOURCE_NAME.test(name);
}

export function mergeSelections(a: KeySelection, b: KeySelection): KeySelection {
  if (a.all || b.all) return ALL_KEYS;
  return { all: false, keys: new Set([...a.keys, ...b.keys]) };
}

/** Collects references, merging duplicates: key sets union, "all" wins, required wins. */
class ReferenceSet {
  private readonly refs = new Map<string, SourceRef>();

  add(kind: SourceKind, name: string | undefined, keys: KeySelection, optional: unknown): void {
    if (name === undefined || !isSourceName(name)) return;
    const id = sourceId(kind, name);
    const isOptional = optional === true;
    const prev = this.refs.get(id);
    this.refs.set(id, prev === undefined
      ? { kind, name, keys, optional: isOptional }
      : { kind, name, keys: mergeSelections(prev.keys, keys), optional: prev.optional && isOptional });
  }

  toArray(): SourceRef[] {
    return [...this.refs.values()].sort((a, b) => compareIds(sourceId(a.kind, a.name), sourceId(b.kind, b.name)));
  }
}

export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `items` listing keys means only those keys; absent or empty means all (as the kubelet projects). */
function itemsSelection(items: unknown): KeySelection {
  if (!Array.isArray(items) || items.length === 0) return ALL_KEYS;
  const keys = new Set<string>();
  for (const item of items) {
    const key = asString(asRecord(item)?.key);
    if (key !== undefined) keys.add(key);
  }
  return { all: false, keys };
}

function addVolumeSource(set: ReferenceSet, kind: SourceKind, source: unknown, nameField: string): void {
  const record = asRecord(source);
  if (record === undefined) return;
  set.add(kind, asString(record[nameField]), itemsSelection(record.items), record.optional);
}

function addVolumes(set: ReferenceSet, podSpec: unknown): void {
  for (const volume of asArray(getPath(podSpec, ['volumes']))) {
    const v = asRecord(volume);
    if (v === undefined) continue;
    addVolumeSource(set, 'ConfigMap', v.configMap, 'name');
    addVolumeSource(set, 'Secret', v.secret, 'secretName');
    for (const projection of asArray(getPath(v, ['projected', 'sources']))) {
      const p = asRecord(projection);
      if (p === undefined) continue;
      addVolumeSource(set, 'ConfigMap', p.configMap, 'name');
      addVolumeSource(set, 'Secret', p.secret, 'name');
    }
  }
}

function addContainer(set: ReferenceSet, container: unknown): void {
  const c = asRecord(container);
  if (c === undefined) return;
  for (const env of asArray(c.env)) {
    const from = asRecord(getPath(env, ['valueFrom']));
    if (from === undefined) continue;
    for (const [field, kind] of [['configMapKeyRef', 'ConfigMap'], ['secretKeyRef', 'Secret']] as const) {
      const ref = asRecord(from[field]);
      const key = asString(ref?.key);
      if (ref === undefined || key === undefined) continue;
      set.add(kind, asString(ref.name), { all: false, keys: new Set([key]) }, ref.optional);
    }
  }
  for (const envFrom of asArray(c.envFrom)) {
    const e = asRecord(envFrom);
    if (e === undefined) continue;
    for (const [field, kind] of [['configMapRef', 'ConfigMap'], ['secretRef', 'Secret']] as const) {
      const ref = asRecord(e[field]);
      if (ref !== undefined) set.add(kind, asString(ref.name), ALL_KEYS, ref.optional);
    }
  }
}

const CONTAINER_LISTS = ['containers', 'initContainers', 'ephemeralContainers'] as const;

/** Every source a PodTemplateSpec consumes, sorted by kind then name. */
export function extractReferences(podTemplate: unknown): SourceRef[] {
  const set = new ReferenceSet();
  const podSpec = getPath(podTemplate, ['spec']);
  addVolumes(set, podSpec);
  for (const list of CONTAINER_LISTS) {
    for (const container of asArray(getPath(podSpec, [list]))) addContainer(set, container);
  }
  return set.toArray();
}
