/** API paths for the objects configstamp reads and writes, from the one kind table. */
import type { SourceKind, WorkloadKind } from '../core/kinds.js';
import { SOURCE_KIND_TABLE } from '../core/kinds.js';

function seg(value: string): string {
  return encodeURIComponent(value);
}

/** /api/v1[/namespaces/NS]/configmaps[/NAME] */
export function sourcePath(kind: SourceKind, namespace?: string, name?: string): string {
  let path = '/api/v1';
  if (namespace !== undefined) path += `/namespaces/${seg(namespace)}`;
  path += `/${SOURCE_KIND_TABLE[kind].plural}`;
  return name === undefined ? path : `${path}/${seg(name)}`;
}

/** /apis/GROUP/VERSION[/namespaces/NS]/PLURAL[/NAME] (/api/VERSION/… for the core group) */
export function groupPath(group: string, version: string, plural: string, namespace?: string, name?: string): string {
  let path = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
  if (namespace !== undefined) path += `/namespaces/${seg(namespace)}`;
  path += `/${plural}`;
  return name === undefined ? path : `${path}/${seg(name)}`;
}

/** A workload kind's path (groupPath of its row). */
export function workloadPath(kind: WorkloadKind, namespace?: string, name?: string): string {
  return groupPath(kind.group, kind.version, kind.plural, namespace, name);
}

export function namespacePath(name?: string): string {
  return name === undefined ? '/api/v1/namespaces' : `/api/v1/namespaces/${seg(name)}`;
}

/**
 * The field selector for listing and watching sources of a kind (its table row): Helm's release
 * Secrets (one per revision, often large, never consumed by a pod) are left out.
 */
export function sourceFieldSelector(kind: SourceKind): string | undefined {
  return SOURCE_KIND_TABLE[kind].listFieldSelector;
}
