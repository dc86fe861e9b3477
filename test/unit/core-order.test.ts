// The one order of names and keys (shared/core/order.ts), and SourceTable listing in it: sorting
// that skips lists already in order must give what a plain sort gives, in order or not.
import t from 'tap';
import fc from 'fast-check';
import { compareCodeUnits, isAscending, sortCodeUnits } from '../../shared/core/order.js';
import { SourceTable } from '../../shared/core/source-table.js';
import type { SourceKind } from '../../shared/core/index.js';

// Names that share prefixes and differ in case, digits and non-ASCII, so that order is tested.
const nameArb = fc.string({ unit: fc.constantFrom('a', 'b', 'B', '-', '.', '0', 'é', '\u{1F600}'), maxLength: 4 });

t.test('property: sortCodeUnits gives what a plain sort() gives, sorted input or not', async (t) => {
  fc.assert(
    fc.property(fc.array(nameArb, { maxLength: 12 }), fc.boolean(), (names, presort) => {
      const input = presort ? [...names].sort() : names;
      const expected = [...names].sort();
      const ascending = input.every((n, i) => i === 0 || input[i - 1]! <= n);
      return isAscending(input) === ascending && JSON.stringify(sortCodeUnits([...input])) === JSON.stringify(expected);
    }),
    { numRuns: 1000 },
  );
  t.equal(compareCodeUnits('a', 'b'), -1);
  t.equal(compareCodeUnits('b', 'a'), 1);
  t.equal(compareCodeUnits('a', 'a'), 0);
});

t.test('property: SourceTable.sorted() lists by source id, whatever the insertion order', async (t) => {
  const entry = fc.tuple(fc.constantFrom<SourceKind>('ConfigMap', 'Secret'), nameArb);
  fc.assert(
    fc.property(fc.array(entry, { maxLength: 12 }), (entries) => {
      const table = new SourceTable<string>();
      for (const [kind, name] of entries) table.set(kind, name, `${kind}/${name}`);
      const ids = [...new Set(entries.map(([kind, name]) => `${kind}/${name}`))].sort();
      return table.size === ids.length && JSON.stringify(table.sorted()) === JSON.stringify(ids);
    }),
    { numRuns: 1000 },
  );
  t.pass('every insertion order listed alike');
});
