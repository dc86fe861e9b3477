/** The patch token bucket (never exceeded) and the per-workload churn guard. */
import t from 'tap';
import { ChurnGuard } from '../../watcher/churn-guard.js';
import { ManualClock } from '../support/manual-clock.js';
import { TokenBucket } from '../../watcher/rate-limiter.js';

t.test('token bucket: burst at once, then qps; never more than burst + qps·t', async (t) => {
  const clock = new ManualClock();
  const bucket = new TokenBucket(10, 5, clock);
  const done: number[] = [];
  const t0 = clock.now();
  for (let i = 0; i < 40; i++) void bucket.take().then(() => done.push(clock.now() - t0));
  await clock.advance(0);
  t.equal(done.length, 5, 'the burst passes at once');
  await clock.advance(5_000);
  t.equal(done.length, 40, 'all pass eventually');
  for (const end of [0, 100, 250, 1_000, 3_000]) {
    const started = done.filter((d) => d <= end).length;
    t.ok(started <= 5 + Math.floor((10 * end) / 1000), `by ${end} ms: ${started} ≤ burst + qps·t`);
  }
  t.equal(done.at(-1), 3_500, 'the 40th token is due after (40-5)/10 s');
});

t.test('token bucket refills while idle, up to the burst only', async (t) => {
  const clock = new ManualClock();
  const bucket = new TokenBucket(2, 3, clock);
  for (let i = 0; i < 3; i++) t.equal(bucket.reserve(), 0);
  t.equal(bucket.reserve(), 500, 'the 4th waits 1/qps');
  await clock.advance(60_000);
  for (let i = 0; i < 3; i++) t.equal(bucket.reserve(), 0, 'refilled to the burst');
  t.equal(bucket.reserve(), 500, 'not beyond it');
});

t.test('churn guard: one rollout per interval; warns once per hold; forgets', async (t) => {
  const clock = new ManualClock();
  const guard = new ChurnGuard(10_000, clock);
  t.same(guard.check('w'), { allowed: true }, 'first rollout allowed');
  guard.record('w');
  await clock.advance(3_000);
  t.same(guard.check('w'), { allowed: false, waitMs: 7_000, firstHold: true });
  await clock.advance(1_000);
  t.same(guard.check('w'), { allowed: false, waitMs: 6_000, firstHold: false }, 'warn only once');
  t.same(guard.check('other'), { allowed: true }, 'per workload');
  await clock.advance(6_000);
  t.same(guard.check('w'), { allowed: true }, 'allowed once the interval passed');
  guard.record('w');
  t.equal((guard.check('w') as { firstHold: boolean }).firstHold, true, 'a new hold warns again');
  guard.forget('w');
  t.same(guard.check('w'), { allowed: true });
  t.same(new ChurnGuard(0, clock).check('w'), { allowed: true }, 'interval 0 disables the guard');
});
