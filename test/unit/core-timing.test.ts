/**
 * Per-workload timing: configstamp.io/debounce and configstamp.io/min-rollout-interval on a
 * workload or its namespace, read as untrusted input; the router's per-key debounce and the
 * churn guard's per-key interval.
 */
import t from 'tap';
import { DEFAULT_POLICY, MAX_TIMING_MS, Ours, timingAnnotations, timingOverrides, workloadKindByName } from '../../shared/core/index.js';
import { createLogger } from '../../shared/log.js';
import { ChurnGuard } from '../../watcher/churn-guard.js';
import { DigestCache } from '../../watcher/digest-cache.js';
import { EventRouter } from '../../watcher/event-router.js';
import type { WorkQueue } from '../../watcher/queue.js';
import { ManualClock } from '../support/manual-clock.js';

const withAnnotations = (annotations: Record<string, unknown>) => ({ metadata: { annotations } });

t.test('the workload wins over its namespace; Go durations from 0 to 24h; anything else is said and ignored', async (t) => {
  t.same(timingOverrides(withAnnotations({}), {}), { problems: [] });
  t.same(timingOverrides(withAnnotations({ [Ours.debounce]: '0s', [Ours.minRolloutInterval]: '10m' }), {}), {
    debounceMs: 0,
    minRolloutIntervalMs: 600_000,
    problems: [],
  });
  t.same(timingOverrides(withAnnotations({ [Ours.debounce]: '250ms' }), { [Ours.debounce]: '5s', [Ours.minRolloutInterval]: '1m' }), {
    debounceMs: 250,
    minRolloutIntervalMs: 60_000,
    problems: [],
  });
  t.same(timingOverrides({}, { [Ours.debounce]: '1.5s' }), { debounceMs: 1500, problems: [] }, 'the namespace alone');
  for (const bad of ['soon', '-1s', '25h', '', '5', 'NaNs']) {
    const o = timingOverrides(withAnnotations({ [Ours.debounce]: bad }), {});
    t.equal(o.debounceMs, undefined, `"${bad}" is not used`);
    t.equal(o.problems.length, 1, `"${bad}" is said`);
  }
  t.equal(timingOverrides(withAnnotations({ [Ours.debounce]: '24h' }), {}).debounceMs, MAX_TIMING_MS);
  t.equal(
    timingOverrides(withAnnotations({ [Ours.debounce]: 7 }), { [Ours.debounce]: '1s' }).debounceMs,
    1000,
    'a non-string value on the workload is not set',
  );
  t.match(
    timingOverrides(withAnnotations({ [Ours.debounce]: 'x'.repeat(500) }), {}).problems[0]!,
    /^workload annotation configstamp\.io\/debounce="x{64}" is not/,
  );
  t.same(timingAnnotations({ [Ours.debounce]: '1s', other: 'x', [Ours.minRolloutInterval]: '2s' }), { [Ours.debounce]: '1s', [Ours.minRolloutInterval]: '2s' });
  t.same(timingAnnotations(undefined), {});
});

t.test("the router enqueues a workload with its own debounce; a bad value is warned once and the flag's applies", async (t) => {
  const adds: [string, number | undefined][] = [];
  const lines: string[] = [];
  const log = createLogger('warn', 'test', { write: (s: string) => void lines.push(s) });
  const router = new EventRouter({
    queue: { add: (key: string, delay?: number) => void adds.push([key, delay]) } as unknown as WorkQueue,
    digests: new DigestCache(new Uint8Array(32), async () => new Map()),
    guard: new ChurnGuard(0, new ManualClock()),
    policy: DEFAULT_POLICY,
    log,
  });
  const deployment = (name: string, annotations: Record<string, string>) => ({
    metadata: { name, namespace: 'ns', resourceVersion: '1', annotations: { [Ours.track]: 'true', ...annotations } },
    spec: { template: { spec: { containers: [{ name: 'c', envFrom: [{ configMapRef: { name: 'cm' } }] }] } } },
  });
  router.namespaceHandlers().replace([{ metadata: { name: 'ns', labels: {}, annotations: { [Ours.debounce]: '3s', unrelated: 'x' } } }], true);
  router.sourceHandlers('ConfigMap').replace([{ metadata: { name: 'cm', namespace: 'ns', resourceVersion: '1' } }], true);
  router.sourceHandlers('Secret').replace([], true);
  router
    .workloadHandlers(workloadKindByName('Deployment')!)
    .replace([deployment('fast', { [Ours.debounce]: '0s' }), deployment('inherits', {}), deployment('typo', { [Ours.debounce]: 'soon' })], true);
  router.markSynced();
  router.activate();
  adds.length = 0;
  router.sourceHandlers('ConfigMap').event('MODIFIED', { metadata: { name: 'cm', namespace: 'ns', resourceVersion: '2' } });
  router.sourceHandlers('ConfigMap').event('MODIFIED', { metadata: { name: 'cm', namespace: 'ns', resourceVersion: '3' } });
  t.same(adds.sort(([a], [b]) => a.localeCompare(b)).slice(0, 3), [
    ['Deployment/ns/fast', 0],
    ['Deployment/ns/fast', 0],
    ['Deployment/ns/inherits', 3000],
  ]);
  t.same(
    adds.filter(([k]) => k.endsWith('/typo')).map(([, d]) => d),
    [3000, 3000],
    "a bad workload value: the namespace's applies",
  );
  t.equal(lines.filter((l) => l.includes('soon')).length, 1, 'said once');
});

t.test("the churn guard takes a workload's own interval", async (t) => {
  const clock = new ManualClock();
  const guard = new ChurnGuard(0, clock);
  guard.record('a');
  t.same(guard.check('a'), { allowed: true }, 'the flag says 0: no guard');
  const held = guard.check('a', 60_000);
  t.equal(held.allowed, false, 'its own interval holds it');
  if (!held.allowed) t.equal(held.waitMs, 60_000);
  await clock.advance(60_000);
  t.same(guard.check('a', 60_000), { allowed: true });
});
