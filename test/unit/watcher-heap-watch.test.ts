/** The heap-ceiling warning: once on the way up past 80 %, once back under 70 %, never a flood. */
import t from 'tap';
import { createLogger } from '../../shared/log.js';
import { checkHeap, startHeapWatch } from '../../watcher/heap-watch.js';

function captured(): { log: ReturnType<typeof createLogger>; lines: () => { level: number; msg: string; usedMiB: number; limitMiB: number }[] } {
  const out: string[] = [];
  const log = createLogger('info', 'watcher', { write: (s: string) => void out.push(s) });
  return { log, lines: () => out.map((l) => JSON.parse(l) as { level: number; msg: string; usedMiB: number; limitMiB: number }) };
}

const MiB = 2 ** 20;
const at = (usedMiB: number) => ({ used_heap_size: usedMiB * MiB, heap_size_limit: 384 * MiB });

t.test('warns once when the used heap passes 80 % of the ceiling, says so once when back under 70 %', async (t) => {
  const { log, lines } = captured();
  let near = false;
  for (const used of [100, 250, 310, 330, 300, 290, 260, 250, 320]) near = checkHeap(near, at(used), log);
  const seen = lines();
  t.same(
    seen.map((l) => [l.level, l.usedMiB]),
    [
      [40, 310],
      [30, 260],
      [40, 320],
    ],
    'a warning at 310 MiB (81 %), nothing while it hovers, back at 260 MiB (68 %), a warning again at 320',
  );
  t.match(seen[0]!.msg, /maxOldSpaceMiB/, 'the warning says what to raise');
  t.equal(seen[0]!.limitMiB, 384);
  t.equal(near, true);
});

t.test('a ceiling the runtime does not report is no reason to warn', async (t) => {
  const { log, lines } = captured();
  t.equal(checkHeap(false, { used_heap_size: 10 * MiB, heap_size_limit: 0 }, log), false);
  t.same(lines(), []);
});

t.test('the periodic check reads the stats it is given and stops when asked', async (t) => {
  const { log, lines } = captured();
  let reads = 0;
  const stop = startHeapWatch({
    log,
    intervalMs: 5,
    stats: () => {
      reads++;
      return at(350);
    },
  });
  await new Promise((r) => setTimeout(r, 60));
  stop();
  const after = reads;
  await new Promise((r) => setTimeout(r, 30));
  t.ok(after >= 2, `checked more than once (${after})`);
  t.equal(reads, after, 'no check after stop');
  t.equal(lines().length, 1, 'one warning for a heap that stayed high');
});
