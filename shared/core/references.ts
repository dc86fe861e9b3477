/**
 * Which ConfigMaps and Secrets a pod template consumes, and which of their keys. Volumes
 * (including projected ones) and envFrom consume every key unless `items` names some;
 * env[].valueFrom key refs consume one key. Containers, initContainers and ephemeralContainers
 * all count. A CSI volume of a pod-status kind's driver (the Secrets Store CSI driver) consumes
 * the SecretProviderClass its volumeAttributes name, whole. Malformed entries are skipped: the
 * template is untrusted input.
 */
import { asArray, asRecord, asString, getPath } from './json.js';
import { POD_STATUS_SOURCE_KINDS, SOURCE_KIND_TABLE } from './kinds.js';
import type { SourceKind } from './kinds.js';
import { SourceTable } from './source-table.js';

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

/** One source's references so far: its key set grows in place, as it is this set's own. */
interface Collected {
  readonly kind: SourceKind;
  readonly name: string;
  /** Undefined once some reference consumes every key. */
  keys: Set<string> | undefined;
  optional: boolean;
}

/** Collects references, merging duplicates: key sets union, "all" wins, required wins. */
class ReferenceSet {
  private readonly refs = new SourceTable<Collected>();

  /** Adds a reference to every key (`keys` undefined) or to the named keys. */
  add(kind: SourceKind, name: string | undefined, keys: Iterable<string> | undefined, optional: unknown): void {
    if (name === undefined) return;
    const isOptional = optional === true;
    let ref = this.refs.get(kind, name);
    if (ref === undefined) {
      // Only a valid name is ever collected, so a name seen before needs no second check.
      if (!isSourceName(name)) return;
      ref = { kind, name, keys: keys === undefined ? undefined : new Set<string>(), optional: isOptional };
      this.refs.set(kind, name, ref);
    } else {
      ref.optional &&= isOptional;
      if (keys === undefined) ref.keys = undefined;
    }
    if (ref.keys !== undefined && keys !== undefined) for (const key of keys) ref.keys.add(key);
  }

  toArray(): SourceRef[] {
    return this.refs.sorted().map(({ kind, name, keys, optional }) => ({ kind, name, keys: keys === undefined ? ALL_KEYS : { all: false, keys }, optional }));
  }
}

/**
 * `items` listing keys means only those keys (undefined: every key); absent or empty means all,
 * as the kubelet projects.
 */
function itemKeys(items: unknown): string[] | undefined {
  if (!Array.isArray(items) || items.length === 0) return undefined;
  const keys: string[] = [];
  for (const item of items) {
    const key = asString(asRecord(item)?.key);
    if (key !== undefined) keys.push(key);
  }
  return keys;
}

function addVolumeSource(set: ReferenceSet, kind: SourceKind, source: unknown, nameField: string): void {
  const record = asRecord(source);
  if (record === undefined) return;
  set.add(kind, asString(record[nameField]), itemKeys(record.items), record.optional);
}

/** A CSI volume naming a source of a pod-status kind (a SecretProviderClass): every key, never optional. */
function addCsiVolume(set: ReferenceSet, csi: unknown): void {
  const record = asRecord(csi);
  if (record === undefined) return;
  const driver = asString(record.driver);
  for (const kind of POD_STATUS_SOURCE_KINDS) {
    const status = SOURCE_KIND_TABLE[kind].podStatus!;
    if (driver === status.driver) set.add(kind, asString(asRecord(record.volumeAttributes)?.[status.attribute]), undefined, false);
  }
}

function addVolumes(set: ReferenceSet, podSpec: unknown): void {
  for (const volume of asArray(getPath(podSpec, ['volumes']))) {
    const v = asRecord(volume);
    if (v === undefined) continue;
    addVolumeSource(set, 'ConfigMap', v.configMap, 'name');
    addVolumeSource(set, 'Secret', v.secret, 'secretName');
    if (v.csi !== undefined) addCsiVolume(set, v.csi);
    for (const projection of asArray(getPath(v, ['projected', 'sources']))) {
      const p = asRecord(projection);
      if (p === undefined) continue;
      addVolumeSource(set, 'ConfigMap', p.configMap, 'name');
      addVolumeSource(set, 'Secret', p.secret, 'name');
    }
  }
}

/** A one-key reference (env[].valueFrom.configMapKeyRef or secretKeyRef). */
function addKeyRef(set: ReferenceSet, kind: SourceKind, value: unknown): void {
  const ref = asRecord(value);
  const key = asString(ref?.key);
  if (ref === undefined || key === undefined) return;
  set.add(kind, asString(ref.name), [key], ref.optional);
}

/** An every-key reference (envFrom[].configMapRef or secretRef). */
function addAllKeysRef(set: ReferenceSet, kind: SourceKind, value: unknown): void {
  const ref = asRecord(value);
  if (ref !== undefined) set.add(kind, asString(ref.name), undefined, ref.optional);
}

function addContainer(set: ReferenceSet, container: unknown): void {
  const c = asRecord(container);
  if (c === undefined) return;
  for (const env of asArray(c.env)) {
    const from = asRecord(getPath(env, ['valueFrom']));
    if (from === undefined) continue;
    addKeyRef(set, 'ConfigMap', from.configMapKeyRef);
    addKeyRef(set, 'Secret', from.secretKeyRef);
  }
  for (const envFrom of asArray(c.envFrom)) {
    const e = asRecord(envFrom);
    if (e === undefined) continue;
    addAllKeysRef(set, 'ConfigMap', e.configMapRef);
    addAllKeysRef(set, 'Secret', e.secretRef);
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
