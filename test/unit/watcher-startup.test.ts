/**
 * The start-up sequence (watcher/startup.ts): the warm-up runs after every informer's first list,
 * a failed warm-up still lets the restart sync begin (it only costs reads), and a warm-up stopped
 * by shutdown does not.
 */
import t from 'tap';
import { createLogger } from '../../shared/log.js';
import type { Informer } from '../../shared/kube/informer.js';
import { systemClock } from '../../watcher/clock.js';
import type { EventRouter } from '../../watcher/event-router.js';
import { syncAfterLists } from '../../watcher/startup.js';
import type { WarmupResult } from '../../watcher/warmup.js';

const RESULT: WarmupResult = { lists: 0, digested: 0, failedLists: 0, seeded: 0, trustedRecords: 0, untrustedRecords: 0 };

function run(warm: () => Promise<WarmupResult>) {
  const lines: string[] = [];
  let synced = 0;
  const controller = { markSynced: () => void synced++, cache: { workloadKeys: () => [] }, index: { size: 0 } } as unknown as EventRouter;
  const done = syncAfterLists(
    {
      informers: [{ listed: Promise.resolve() } as unknown as Informer],
      controller,
      warm,
      log: createLogger('info', 'test', { write: (line: string) => void lines.push(line) }),
      clock: systemClock,
    },
    new Promise<string>(() => undefined),
  );
  return { done, lines, synced: () => synced };
}

t.test('warmed, then synced', async (t) => {
  const r = run(async () => RESULT);
  await r.done;
  t.equal(r.synced(), 1);
  t.match(r.lines.join(''), /warmed the digest cache from workload records and lists.*synced: listed/s);
});

t.test('a failed warm-up is logged and the restart sync still begins', async (t) => {
  const r = run(async () => {
    throw new Error('lists refused');
  });
  await r.done;
  t.equal(r.synced(), 1);
  t.match(r.lines.join(''), /warm-up failed; sources will be read one by one/);
});

t.test('a warm-up stopped by shutdown: no restart sync, no failure logged', async (t) => {
  const abort = new AbortController();
  abort.abort();
  const r = run(async () => {
    abort.signal.throwIfAborted();
    return RESULT;
  });
  await r.done;
  t.equal(r.synced(), 0);
  t.notMatch(r.lines.join(''), /warm-up failed/);
});
