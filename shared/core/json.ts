/**
 * Defensive readers for untrusted JSON. Everything the core reads arrives from outside (an
 * AdmissionReview, a watch event), so a field of the wrong type reads as absent, never throws.
 */

export type JsonRecord = Record<string, unknown>;

export function asRecord(value: unknown): JsonRecord | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonRecord) : undefined;
}

export function asArray(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

/** A finite number, or undefined for anything else. */
export function asNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Reads a nested field; any non-object on the way yields undefined. */
export function getPath(root: unknown, path: readonly string[]): unknown {
  let node: unknown = root;
  for (const segment of path) {
    const record = asRecord(node);
    if (record === undefined || !Object.hasOwn(record, segment)) return undefined;
    node = record[segment];
  }
  return node;
}

/** A string-to-string map (annotations, labels, ConfigMap data); non-string values are dropped. */
export function asStringMap(value: unknown): Readonly<Record<string, string>> {
  const record = asRecord(value);
  if (record === undefined) return {};
  const out: Record<string, string> = {};
  for (const [key, entry] of Object.entries(record)) {
    if (typeof entry === 'string') out[key] = entry;
  }
  return out;
}

/** Structural equality of JSON values; object key order does not matter. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]));
  }
  const ra = a as JsonRecord;
  const rb = b as JsonRecord;
  const keys = Object.keys(ra);
  if (keys.length !== Object.keys(rb).length) return false;
  return keys.every((key) => Object.hasOwn(rb, key) && jsonEqual(ra[key], rb[key]));
}
