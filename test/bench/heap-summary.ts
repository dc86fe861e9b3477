/**
 * What a V8 heap snapshot holds, summed by kind of node: the live heap behind an RSS figure.
 * Take the snapshot from a running watcher started with NODE_OPTIONS=--heapsnapshot-signal=SIGUSR2
 * (`kill -USR2 <pid>` writes Heap.*.heapsnapshot into its working directory), then:
 *
 *   node --import tsx test/bench/heap-summary.ts Heap.*.heapsnapshot [top=20]
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

const STRINGS = new Set(['string', 'concatenated string', 'sliced string']);

export function summarize(snapshot: Snapshot): { totalBytes: number; rows: { kind: string; bytes: number; count: number }[] } {
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number];
  const bytes = new Map<string, number>();
  const count = new Map<string, number>();
  let totalBytes = 0;
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const type = types[snapshot.nodes[i + typeAt]!] ?? '?';
    const kind = STRINGS.has(type) ? type : `${type} ${snapshot.strings[snapshot.nodes[i + nameAt]!] ?? ''}`.trim();
    const size = snapshot.nodes[i + sizeAt]!;
    totalBytes += size;
    bytes.set(kind, (bytes.get(kind) ?? 0) + size);
    count.set(kind, (count.get(kind) ?? 0) + 1);
  }
  const rows = [...bytes].map(([kind, b]) => ({ kind, bytes: b, count: count.get(kind) ?? 0 })).sort((a, b) => b.bytes - a.bytes);
  return { totalBytes, rows };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node --import tsx test/bench/heap-summary.ts FILE.heapsnapshot [top]');
    process.exit(2);
  }
  const top = Number(process.argv[3] ?? 20);
  const { totalBytes, rows } = summarize(JSON.parse(readFileSync(file, 'utf8')) as Snapshot);
  const mb = (b: number) => (b / 2 ** 20).toFixed(2).padStart(8);
  console.log(`${mb(totalBytes)} MB live heap in all`);
  for (const r of rows.slice(0, top)) console.log(`${mb(r.bytes)} MB ${String(r.count).padStart(9)}  ${r.kind}`);
}
