/**
 * The one order of source names and keys: by UTF-16 code unit, as `<` and a plain sort() compare
 * strings. Lists the core reads mostly arrive in that order already (the API server writes map
 * keys sorted; references are collected sorted), so sorting looks before it sorts.
 */

export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function isAscending(items: Iterable<string>): boolean {
  let previous: string | undefined;
  for (const item of items) {
    if (previous !== undefined && previous > item) return false;
    previous = item;
  }
  return true;
}

/**
 * Sorts `items` in place unless they are in order already; returns them. A plain sort() compares
 * strings by code unit too, and faster than with a comparator.
 */
export function sortCodeUnits(items: string[]): string[] {
  return isAscending(items) ? items : items.sort();
}
