/**
 * Kubernetes label selectors in their string form (`a=b,c!=d,e in (f,g),h notin (i),j,!k`), as
 * users pass them in flags such as --namespace-selector. Parsing reports the first bad term.
 */

type Requirement =
  | { readonly op: 'eq' | 'neq'; readonly key: string; readonly value: string }
  | { readonly op: 'in' | 'notin'; readonly key: string; readonly values: ReadonlySet<string> }
  | { readonly op: 'exists' | 'absent'; readonly key: string };

export interface LabelSelector {
  readonly source: string;
  readonly requirements: readonly Requirement[];
}

const KEY = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$/;
const VALUE = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?)?$/;

/** Splits on commas that are not inside parentheses. */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  terms.push(current);
  return terms.map((t) => t.trim());
}

/** Whether `key` is a label (or annotation) key: an optional DNS prefix and `/`, then a name of up to 63 characters. */
export function isLabelKey(key: string): boolean {
  if (!KEY.test(key)) return false;
  const slash = key.indexOf('/');
  return slash < 0 ? key.length <= 63 : slash <= 253 && key.length - slash - 1 <= 63;
}

function checkKey(key: string): string {
  if (!KEY.test(key)) throw new Error(`invalid label key "${key}"`);
  return key;
}

function checkValue(value: string): string {
  if (!VALUE.test(value) || value.length > 63) throw new Error(`invalid label value "${value}"`);
  return value;
}

function parseTerm(term: string): Requirement {
  const set = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(term);
  if (set) {
    const values = new Set(set[3]!.split(',').map((v) => checkValue(v.trim())));
    return { op: set[2] as 'in' | 'notin', key: checkKey(set[1]!), values };
  }
  const cmp = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
  if (cmp) return { op: cmp[2] === '!=' ? 'neq' : 'eq', key: checkKey(cmp[1]!), value: checkValue(cmp[3]!) };
  if (term.startsWith('!')) return { op: 'absent', key: checkKey(term.slice(1).trim()) };
  return { op: 'exists', key: checkKey(term) };
}

/**
 * Reloader's selector flags also take `key:value` (its legacy form) and `key=*` (any value); both
 * become the standard syntax here. A term in the standard syntax is left as it is (label keys and
 * values hold no `:`, so a `:` term cannot be one).
 */
export function normaliseSelector(text: string): string {
  return splitTerms(text)
    .filter((term) => term !== '')
    .map((term) => {
      const any = /^([^=!:\s(),]+)\s*(?:==?|:)\s*\*$/.exec(term);
      if (any) return any[1]!;
      const legacy = /^([^=!:\s(),]+):([^=!:\s(),]*)$/.exec(term);
      return legacy ? `${legacy[1]}=${legacy[2]}` : term;
    })
    .join(',');
}

/** Parses a selector; an empty string selects everything. Throws Error naming the bad term. */
export function parseLabelSelector(text: string): LabelSelector {
  const trimmed = text.trim();
  if (trimmed === '') return { source: '', requirements: [] };
  const requirements = splitTerms(trimmed).map((term) => {
    if (term === '') throw new Error(`empty term in label selector "${text}"`);
    try {
      return parseTerm(term);
    } catch (err) {
      throw new Error(`label selector "${text}": ${(err as Error).message}`);
    }
  });
  return { source: trimmed, requirements };
}

export function matchesLabels(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  return selector.requirements.every((r) => {
    const has = Object.hasOwn(labels, r.key);
    const value = labels[r.key];
    switch (r.op) {
      case 'eq':
        return has && value === r.value;
      case 'neq':
        return !has || value !== r.value;
      case 'in':
        return has && r.values.has(value!);
      case 'notin':
        return !has || !r.values.has(value!);
      case 'exists':
        return has;
      case 'absent':
        return !has;
    }
  });
}
