/** Leader election against an in-memory Lease with resourceVersion guards and a manual clock. */
import t from 'tap';
import { ManualClock } from '../support/manual-clock.js';
import { LeaderElector } from '../../watcher/leader.js';
import type { LeaseRecord, LeaseStore } from '../../watcher/leader.js';
import { createLogger } from '../../shared/log.js';

class MemoryLease implements LeaseStore {
  record: LeaseRecord | null = null;
  rv = 0;
  down = false;
  async get() {
    if (this.down) throw new Error('unreachable');
    return this.record === null ? null : { record: { ...this.record }, resourceVersion: String(this.rv) };
  }
  async create(record: LeaseRecord) {
    if (this.down) throw new Error('unreachable');
    if (this.record !== null) throw new Error('409 AlreadyExists');
    this.record = { ...record };
    this.rv++;
  }
  async update(record: LeaseRecord, resourceVersion: string) {
    if (this.down) throw new Error('unreachable');
    if (resourceVersion !== String(this.rv)) throw new Error('409 Conflict');
    this.record = { ...record };
    this.rv++;
  }
}

const log = createLogger('silent', 'test');
const options = (identity: string, clock: ManualClock) => ({ identity, leaseDurationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 250, clock, log });

t.test('one leader at a time; a standby takes over only after a full lease duration without renewals', async (t) => {
  const clock = new ManualClock();
  const store = new MemoryLease();
  const a = new LeaderElector(store, options('a', clock));
  const b = new LeaderElector(store, options('b', clock));
  t.equal(await a.tryAcquireOrRenew(), true, 'a creates the lease');
  t.equal(await b.tryAcquireOrRenew(), false, 'b stands by');
  await clock.advance(1_900);
  t.equal(await b.tryAcquireOrRenew(), false, 'not yet expired as b sees it');
  t.equal(await a.tryAcquireOrRenew(), true, 'a renews');
  await clock.advance(1_900);
  t.equal(await b.tryAcquireOrRenew(), false, 'a renewal b sees restarts its wait (its own clock, no skew)');
  await clock.advance(1_999);
  t.equal(await b.tryAcquireOrRenew(), false);
  await clock.advance(1);
  t.equal(await b.tryAcquireOrRenew(), true, 'b takes over a full lease duration after it last saw a renewal');
  t.equal(store.record?.holderIdentity, 'b');
  t.equal(store.record?.leaseTransitions, 1);
  t.equal(await a.tryAcquireOrRenew(), false, 'a sees b holding a live lease');
});

t.test('racing writers: the resourceVersion guard lets only one win', async (t) => {
  const clock = new ManualClock();
  const store = new MemoryLease();
  await store.create({ holderIdentity: '', leaseDurationSeconds: 1, acquireTime: '', renewTime: '', leaseTransitions: 0 });
  const a = new LeaderElector(store, options('a', clock));
  const b = new LeaderElector(store, options('b', clock));
  const results = await Promise.allSettled([a.tryAcquireOrRenew(), b.tryAcquireOrRenew()]);
  t.equal(results.filter((r) => r.status === 'fulfilled' && r.value).length, 1, 'exactly one acquires');
});

t.test('run: leads, stops writing when renewals fail past the deadline, hands the lease back on shutdown', async (t) => {
  const clock = new ManualClock();
  const store = new MemoryLease();
  const a = new LeaderElector(store, options('a', clock));
  const events: string[] = [];
  const abort = new AbortController();
  const done = a.run(
    abort.signal,
    () => events.push('started'),
    (reason) => events.push(`stopped: ${reason}`),
  );
  await clock.advance(0);
  t.same(events, ['started']);
  t.equal(a.isLeader(), true);
  store.down = true;
  await clock.advance(1_000);
  t.equal(a.isLeader(), true, 'still within the renew deadline');
  await clock.advance(600);
  t.equal(a.isLeader(), false, 'past the renew deadline: no more writes');
  await clock.advance(500);
  await done;
  t.match(events[1], /lease lost/);

  store.down = false;
  const b = new LeaderElector(store, options('b', clock));
  const abortB = new AbortController();
  const runB = b.run(
    abortB.signal,
    () => events.push('b started'),
    (reason) => events.push(`b stopped: ${reason}`),
  );
  await clock.advance(3_000);
  t.equal(b.isLeader(), true, 'b took over the expired lease');
  abortB.abort();
  await clock.advance(500);
  await runB;
  t.equal(store.record?.holderIdentity, '', 'released on shutdown');
  const c = new LeaderElector(store, options('c', clock));
  t.equal(await c.tryAcquireOrRenew(), true, 'a released lease is taken at once');
  abort.abort();
});
