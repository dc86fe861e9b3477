/** The work queue: debounce coalescing, one reconcile in flight per key, requeue, retry backoff. */
import t from 'tap';
import { ManualClock } from '../support/manual-clock.js';
import { WorkQueue } from '../../watcher/queue.js';
import type { ReconcileResult } from '../../watcher/queue.js';

function setup(debounceMs = 100, workers = 2, debounceMaxMs = 1_000) {
  const clock = new ManualClock();
  const depths: number[] = [];
  const queue = new WorkQueue({ clock, debounceMs, debounceMaxMs, workers, retryBaseMs: 50, retryMaxMs: 400, onDepth: (d) => depths.push(d) });
  const runs: { key: string; at: number; since: number }[] = [];
  return { clock, queue, runs, depths };
}

t.test('adds coalesce by a quiet period: each add restarts the wait; a lone add waits the period only', async (t) => {
  const { clock, queue, runs } = setup();
  queue.start(async (key, ctx) => void runs.push({ key, at: clock.now(), since: ctx.since }));
  const start = clock.now();
  queue.add('a');
  await clock.advance(40);
  queue.add('a');
  await clock.advance(40);
  queue.add('a');
  await clock.advance(99);
  t.equal(runs.length, 0, 'nothing until the sources have been quiet for the period');
  await clock.advance(1);
  t.same(
    runs.map((r) => [r.at - start, r.since - start]),
    [[180, 0]],
    'one reconcile, 100 ms after the last add; since = the first add, for latency',
  );
  await clock.advance(500);
  t.equal(runs.length, 1);
  const lone = clock.now();
  queue.add('b');
  await clock.advance(100);
  t.same(
    runs.slice(1).map((r) => [r.key, r.at - lone]),
    [['b', 100]],
    'a lone add: the quiet period, no more',
  );
  await queue.shutDown();
});

t.test('a stream of adds is bounded by the maximum after the first; 0 runs at once; a longer own period is its own bound', async (t) => {
  const { clock, queue, runs } = setup(100, 2, 250);
  queue.start(async (key, ctx) => void runs.push({ key, at: clock.now(), since: ctx.since }));
  const start = clock.now();
  for (let i = 0; i < 10; i++) {
    queue.add('a');
    await clock.advance(60);
  }
  t.same(
    runs.map((r) => [r.key, r.at - start]),
    [
      ['a', 250],
      ['a', 550],
    ],
    'never more than 250 ms after the first add of each wait',
  );
  runs.length = 0;
  const t0 = clock.now();
  queue.add('c');
  await clock.advance(30);
  queue.add('c', 0);
  await clock.advance(0);
  t.same(
    runs.map((r) => [r.key, r.at - t0]),
    [['c', 30]],
    'an add of 0 (a restart sync) does not wait out the period',
  );
  runs.length = 0;
  const t1 = clock.now();
  queue.add('d', 400);
  await clock.advance(300);
  queue.add('d', 400);
  await clock.advance(400);
  t.same(
    runs.map((r) => [r.key, r.at - t1]),
    [['d', 400]],
    "a workload's own period longer than the maximum: the bound is its period, counted from the first add",
  );
  await queue.shutDown();
});

t.test('a restart sync: 50,000 keys made ready at once run once each, oldest first', async (t) => {
  const { clock, queue } = setup(0, 16);
  const order: string[] = [];
  queue.start(async (key) => void order.push(key));
  const keys = Array.from({ length: 50_000 }, (_, i) => `k${i}`);
  for (const key of keys) queue.add(key, 0);
  for (let i = 0; i < 200 && order.length < keys.length; i++) await clock.advance(0);
  t.equal(order.length, keys.length, 'every key ran');
  t.equal(new Set(order).size, keys.length, 'each once');
  t.same(order.slice(0, 3), ['k0', 'k1', 'k2'], 'oldest first');
  t.equal(queue.depth, 0);
  await queue.shutDown();
});

t.test('different keys run independently; debounce 0 runs at once', async (t) => {
  const { clock, queue, runs } = setup(0);
  queue.start(async (key) => void runs.push({ key, at: clock.now(), since: 0 }));
  queue.add('a');
  queue.add('b');
  await clock.advance(0);
  t.same(runs.map((r) => r.key).sort(), ['a', 'b']);
  await queue.shutDown();
});

t.test('one reconcile in flight per key; an add during it runs it again once after', async (t) => {
  const { clock, queue } = setup(0, 4);
  let inFlight = 0;
  let maxInFlight = 0;
  let calls = 0;
  let release!: () => void;
  queue.start(async () => {
    calls++;
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    if (calls === 1) await new Promise<void>((r) => (release = r));
    inFlight--;
  });
  queue.add('a');
  await clock.advance(0);
  queue.add('a');
  queue.add('a');
  await clock.advance(10);
  t.equal(calls, 1, 'not started again while in flight');
  release();
  await clock.advance(10);
  t.equal(calls, 2, 'ran once more for the adds made meanwhile');
  t.equal(maxInFlight, 1);
  await queue.shutDown();
});

t.test('retry backs off exponentially up to the maximum, and success resets it', async (t) => {
  const { clock, queue } = setup(0, 1);
  const at: number[] = [];
  let fail = 5;
  queue.start(async (): Promise<ReconcileResult> => {
    at.push(clock.now());
    return fail-- > 0 ? { retry: true } : undefined;
  });
  queue.add('a');
  await clock.advance(2_000);
  const gaps = at.slice(1).map((v, i) => v - at[i]!);
  t.same(gaps, [50, 100, 200, 400, 400], 'doubles from --retry-base, capped at --retry-max');
  await queue.shutDown();
});

t.test('a thrown error counts as a retry; requeueAfter runs the key later', async (t) => {
  const { clock, queue } = setup(0, 1);
  const at: number[] = [];
  queue.start(async (): Promise<ReconcileResult> => {
    at.push(clock.now());
    if (at.length === 1) throw new Error('boom');
    if (at.length === 2) return { requeueAfterMs: 1_000 };
    return undefined;
  });
  const t0 = clock.now();
  queue.add('a');
  await clock.advance(3_000);
  t.same(
    at.map((v) => v - t0),
    [0, 50, 1_050],
  );
});

t.test('depth counts waiting keys; shutDown drains and stops', async (t) => {
  const { clock, queue, depths } = setup(100);
  queue.add('a');
  queue.add('b');
  t.equal(queue.depth, 2);
  queue.start(async () => undefined);
  await clock.advance(200);
  t.equal(queue.depth, 0);
  t.equal(depths.at(-1), 0);
  await queue.shutDown();
  queue.add('c');
  t.equal(queue.depth, 0, 'no adds after shutdown');
});
