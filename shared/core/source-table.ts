/**
 * Values keyed by source (kind and name), for the sets the core builds within one call. Keyed by
 * name inside each kind, so a lookup hashes a name the JSON already holds (V8 keeps a string's
 * hash) instead of building an id string per lookup.
 */
import { SOURCE_KINDS } from './kinds.js';
import { isAscending } from './order.js';
import type { SourceKind } from './kinds.js';

export class SourceTable<T> {
  private readonly byKind = new Map<SourceKind, Map<string, T>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(kind: SourceKind, name: string): T | undefined {
    return this.byKind.get(kind)?.get(name);
  }

  set(kind: SourceKind, name: string, value: T): void {
    let names = this.byKind.get(kind);
    if (names === undefined) this.byKind.set(kind, (names = new Map()));
    if (!names.has(name)) this.count++;
    names.set(name, value);
  }

  /**
   * The values in source-id order ("ConfigMap/a" < "ConfigMap/b" < "Secret/a"): by kind, then by
   * name (order.ts), which is the same order: where one kind's name is a prefix of another's
   * ("Secret", "SecretProviderClass"), the "/" after the shorter sorts before any letter.
   */
  sorted(): T[] {
    const out: T[] = [];
    for (const kind of SOURCE_KINDS) {
      const names = this.byKind.get(kind);
      if (names === undefined) continue;
      if (isAscending(names.keys())) for (const value of names.values()) out.push(value);
      else for (const name of [...names.keys()].sort()) out.push(names.get(name)!);
    }
    return out;
  }
}
