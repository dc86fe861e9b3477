/**
 * reconcileWorkload against a fake API (fast unit tests of the I/O path; the real thing is in
 * test/e2e/watcher-*.test.ts): adopt, roll, stale cache, churn guard, leader gate, errors.
 */
import t from 'tap';
import { Writable } from 'node:stream';
import { DEFAULT_POLICY } from '../../shared/core/policy.js';
import { workloadKindByName } from '../../shared/core/kinds.js';
import { KubeApiError } from '../../shared/kube/client.js';
import { createLogger } from '../../shared/log.js';
import { ClusterCache, workloadKey } from '../../watcher/cache.js';
import { ChurnGuard } from '../../watcher/churn-guard.js';
import { ManualClock } from '../support/manual-clock.js';
import { DigestCache, selectionId } from '../../watcher/digest-cache.js';
import { ALL_KEYS } from '../../shared/core/references.js';
import { createWatcherMetrics } from '../../watcher/metrics.js';
import { TokenBucket } from '../../watcher/rate-limiter.js';
import { reconcileWorkload } from '../../watcher/reconcile.js';
import { HoldNotices } from '../../watcher/hold-notices.js';
import type { Notifier, ReconcileDeps } from '../../watcher/reconcile.js';
import type { NotifyChange, RolloutAlert, WorkloadRef } from '../../watcher/alerts.js';

const KIND = workloadKindByName('Deployment')!;

function deploymentObject(rv: string, templateAnnotations: Record<string, string> = {}, own: Record<string, string> = {}) {
  return {
    metadata: { name: 'web', namespace: 'ns', resourceVersion: rv, annotations: { 'configstamp.io/track': 'true', ...own } as Record<string, string> },
    spec: { template: { metadata: { annotations: templateAnnotations }, spec: { containers: [{ name: 'c', envFrom: [{ configMapRef: { name: 'cfg' } }] }] } } },
  };
}

function setup(
  options: {
    leader?: boolean;
    intervalMs?: number;
    rollOnDelete?: boolean;
    patchMs?: number;
    log?: Writable;
    notifier?: Notifier;
    alerts?: (a: RolloutAlert) => void;
    startMs?: number;
  } = {},
) {
  const clock = new ManualClock(options.startMs);
  const cache = new ClusterCache();
  const state = {
    workload: deploymentObject('1') as unknown,
    cm: { metadata: { resourceVersion: '10' }, data: { a: '1' } } as unknown,
    patchError: undefined as unknown,
  };
  const patches: unknown[] = [];
  const events: { type: string; reason: string; message: string }[] = [];
  let fetches = 0;
  let gets = 0;
  const digests = new DigestCache(new Uint8Array(32).fill(7), async (_ns, keys) => {
    fetches++;
    return new Map(keys.map((k) => [`${k.kind}/${k.name}`, k.name === 'cfg' ? state.cm : null]));
  });
  const key = workloadKey(KIND, 'ns', 'web');
  const deps: ReconcileDeps = {
    cache,
    digests,
    policy: DEFAULT_POLICY,
    rollOnDelete: options.rollOnDelete ?? false,
    guard: new ChurnGuard(options.intervalMs ?? 0, clock),
    limiter: new TokenBucket(100, 100, clock),
    events: { post: async (_w, type, reason, message) => void events.push({ type, reason, message }) },
    notifier: options.notifier,
    alerts: options.alerts,
    metrics: createWatcherMetrics(),
    log: options.log ? createLogger('info', 'test', options.log) : createLogger('silent', 'test'),
    clock,
    isLeader: () => options.leader ?? true,
    windows: new HoldNotices(),
    api: {
      get: async () => {
        gets++;
        return state.workload;
      },
      patch: async (_w, body) => {
        if (options.patchMs !== undefined) await clock.advance(options.patchMs);
        if (state.patchError) throw state.patchError;
        patches.push(body);
        // Apply the merge patch's annotations as the API would.
        const b = body as {
          metadata?: { annotations?: Record<string, string | null> };
          spec?: { template: { metadata: { annotations: Record<string, string> } } };
        };
        const w = structuredClone(state.workload) as ReturnType<typeof deploymentObject>;
        for (const [k, v] of Object.entries(b.metadata?.annotations ?? {}))
          if (v === null) delete w.metadata.annotations[k];
          else w.metadata.annotations[k] = v;
        Object.assign(w.spec.template.metadata.annotations, b.spec?.template.metadata.annotations ?? {});
        w.metadata.resourceVersion = String(Number(w.metadata.resourceVersion) + 1);
        state.workload = w;
        setWorkload(w);
      },
    },
  };
  const setWorkload = (object: unknown) => cache.setWorkload({ key, kind: KIND, namespace: 'ns', name: 'web', object: structuredClone(object) });
  const setSourceRv = (rv: string) => cache.setSource('ConfigMap', 'ns', 'cfg', { resourceVersion: rv, labels: {}, annotations: {} });
  setWorkload(state.workload);
  setSourceRv('10');
  const run = () => reconcileWorkload(deps, key, { since: clock.now() });
  /** The ConfigMap's data changes: its new object, and the cache sees its new resourceVersion. */
  const changeSource = (rv: string, a: string): void => {
    state.cm = { metadata: { resourceVersion: rv }, data: { a } };
    setSourceRv(rv);
  };
  return { clock, state, patches, events, deps, run, setSourceRv, changeSource, setWorkload, fetches: () => fetches, gets: () => gets };
}

t.test('an unstamped workload is adopted on its metadata, then left alone', async (t) => {
  const s = setup();
  await s.run();
  t.equal(s.patches.length, 1);
  t.match(s.patches[0], { metadata: { annotations: { 'configstamp.io/adopted-stamp': /^v1:configmap\/cfg=[0-9a-f]{16}$/ }, resourceVersion: '1' } });
  t.notOk((s.patches[0] as { spec?: unknown }).spec, 'no template change: no rollout');
  await s.run();
  t.equal(s.patches.length, 1, 'nothing more to do');
});

t.test('adoption and rollout lines carry patchMs: how long the API server took to answer the patch', async (t) => {
  const lines: Record<string, unknown>[] = [];
  const log = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const s = setup({ patchMs: 40, log });
  await s.run();
  s.changeSource('11', '2');
  await s.run();
  t.match(
    lines.filter((l) => typeof l.patchMs === 'number'),
    [
      { msg: /^adopted: /, patchMs: 40 },
      { msg: 'rollout: stamp patched', patchMs: 40 },
    ],
  );
});

t.test('an adoption is written as planned, under the cached resourceVersion, with no second read', async (t) => {
  const s = setup();
  await s.run();
  t.equal(s.gets(), 0, 'the workload is not read again: the patch is guarded by resourceVersion instead');
  t.equal(s.fetches(), 1, 'the source is read once, for planning');
  t.match(s.patches[0], { metadata: { resourceVersion: '1' } });
});

t.test('an adoption refused for a changed workload (409) is retried, not lost', async (t) => {
  const s = setup();
  s.state.patchError = new KubeApiError(409, 'Conflict', 'the object has been modified');
  t.same(await s.run(), { retry: true });
  t.equal(s.patches.length, 0);
  s.state.patchError = undefined;
  await s.run();
  t.equal(s.patches.length, 1, 'adopted on the retry');
});

t.test('the cached workload is pruned: reconciles plan on references and annotations only', async (t) => {
  const s = setup();
  const big = deploymentObject('1');
  (big.metadata.annotations as Record<string, string>)['kubectl.kubernetes.io/last-applied-configuration'] = 'x'.repeat(10_000);
  s.setWorkload(big);
  const kept = JSON.stringify(s.deps.cache.workload(workloadKey(KIND, 'ns', 'web'))!.object);
  t.notOk(kept.includes('last-applied'), 'the last-applied copy is not kept');
  await s.run();
  t.equal(s.patches.length, 1, 'still adopted');
});

t.test('a changed source rolls once, with a Normal Event naming short old→new digests', async (t) => {
  const s = setup();
  await s.run();
  s.changeSource('11', '2');
  await s.run();
  t.equal(s.patches.length, 2);
  t.match(s.patches[1], {
    spec: { template: { metadata: { annotations: { 'configstamp.io/stamp': /^v1:configmap\/cfg=/ } } } },
    metadata: { annotations: { 'configstamp.io/adopted-stamp': null } },
  });
  t.match(s.events, [{ type: 'Normal', reason: 'ConfigstampRollout', message: /ConfigMap\/cfg [0-9a-f]{8}→[0-9a-f]{8}/ }]);
  t.notMatch(s.events[0]!.message, /a.?=.?2/, 'no value in the Event');
  await s.run();
  t.equal(s.patches.length, 2, 'exactly one rollout');
});

t.test('a stale read never rolls: the drift is confirmed with fresh reads first', async (t) => {
  const s = setup();
  await s.run();
  // The cache says a new version exists, but a fresh GET still returns the recorded data.
  s.setSourceRv('12');
  await s.run();
  t.equal(s.patches.length, 1, 'no rollout: fresh data matches the stamp');
});

t.test('a rollout reads each source once (the plan read confirms it) and never the workload', async (t) => {
  const s = setup();
  await s.run();
  const before = s.fetches();
  s.changeSource('11', '2');
  await s.run();
  t.equal(s.patches.length, 2, 'rolled');
  t.equal(s.fetches() - before, 1, 'the changed source read once, for the plan and the confirmation alike');
  t.equal(s.gets(), 0, 'no GET of the workload: the patch is guarded by the cached resourceVersion');
  t.match(s.patches[1], { metadata: { resourceVersion: '2' } });
});

t.test('a digest the plan took from the cache is read again before anything rolls', async (t) => {
  const s = setup();
  await s.run();
  // A digest known for version 11 (from an earlier read), but the API server holds the recorded data.
  s.deps.digests.remember('ConfigMap', 'ns', 'cfg', '11', selectionId(ALL_KEYS), 'ffffffffffffffff');
  s.setSourceRv('11');
  const before = s.fetches();
  await s.run();
  t.equal(s.fetches() - before, 1, 'the confirmation read it');
  t.equal(s.patches.length, 1, 'fresh data matches the record: no rollout');
});

t.test('digests are cached per source version: unchanged versions cost no read', async (t) => {
  const s = setup();
  await s.run();
  const before = s.fetches();
  await s.run();
  await s.run();
  t.equal(s.fetches(), before, 'no reads while nothing changed');
});

t.test('the churn guard holds a second rollout back, warns once, then applies the latest state', async (t) => {
  const s = setup({ intervalMs: 10_000 });
  await s.run();
  for (const [rv, v] of [
    ['11', '2'],
    ['12', '3'],
  ] as const) {
    s.changeSource(rv, v);
    const r = await s.run();
    if (rv === '12') t.match(r, { requeueAfterMs: Number }, 'requeued for when the interval has passed');
  }
  t.equal(s.patches.length, 2, 'adopt + one rollout');
  s.changeSource('13', '4');
  await s.run();
  t.equal(s.events.filter((e) => e.reason === 'ConfigstampRolloutHeldBack').length, 1, 'one Warning Event per hold');
  await s.clock.advance(10_000);
  await s.run();
  t.equal(s.patches.length, 3, 'the latest state applied once the interval passed');
  t.match(s.events.at(-1)!.message, /ConfigMap\/cfg/);
});

t.test('a standby writes nothing', async (t) => {
  const s = setup({ leader: false });
  await s.run();
  t.equal(s.patches.length, 0);
});

t.test('409/429/5xx are retried; other errors are surfaced as a Warning Event without retry', async (t) => {
  const s = setup();
  s.state.patchError = new KubeApiError(409, 'Conflict', 'conflict');
  t.same(await s.run(), { retry: true });
  s.state.patchError = new KubeApiError(503, 'ServiceUnavailable', 'down');
  t.same(await s.run(), { retry: true });
  s.state.patchError = new KubeApiError(403, 'Forbidden', 'forbidden');
  t.equal(await s.run(), undefined);
  t.match(s.events, [{ type: 'Warning', reason: 'ConfigstampError', message: /forbidden/ }]);
});

t.test('a deleted source rolls nothing unless --roll-on-delete', async (t) => {
  for (const rollOnDelete of [false, true]) {
    const s = setup({ rollOnDelete });
    await s.run();
    s.state.cm = null;
    s.deps.cache.deleteSource('ConfigMap', 'ns', 'cfg');
    await s.run();
    t.equal(s.patches.length, rollOnDelete ? 2 : 1, `rollOnDelete=${rollOnDelete}`);
  }
});

t.test('compactSource keeps what policy reads of a source and never its data or last-applied copy', async (t) => {
  const { compactSource } = await import('../../watcher/cache.js');
  const kept = compactSource({
    metadata: {
      name: 'db',
      namespace: 'ns',
      resourceVersion: '9',
      labels: { team: 'a' },
      managedFields: [{ manager: 'kubectl' }],
      annotations: { 'configstamp.io/ignore': 'true', 'kubectl.kubernetes.io/last-applied-configuration': '{"data":{"password":"hunter2"}}' },
    },
    type: 'Opaque',
    data: { password: 'aHVudGVyMg==' },
  });
  t.same(kept, {
    metadata: { name: 'db', namespace: 'ns', resourceVersion: '9', labels: { team: 'a' }, annotations: { 'configstamp.io/ignore': 'true' } },
    type: 'Opaque',
  });
  t.notOk(JSON.stringify(kept).includes('hunter2'));
  t.notOk(JSON.stringify(kept).includes('aHVudGVy'));
});

/** Changes the consumed ConfigMap's data, as a new version of it. */
function changeSource(s: ReturnType<typeof setup>, rv: string, a: string): void {
  s.changeSource(rv, a);
  s.deps.digests.forget('ConfigMap', 'ns', 'cfg');
}

t.test('notify mode: a change is delivered once and recorded on the metadata; the template never changes', async (t) => {
  const delivered: { workload: WorkloadRef; changes: readonly NotifyChange[] }[] = [];
  let fail = false;
  const s = setup({
    notifier: {
      deliver: async (workload, changes) => {
        if (fail) throw new Error('receiver answered 500');
        delivered.push({ workload, changes });
      },
    },
  });
  await s.run();
  t.equal(s.patches.length, 1, 'adopted first, as in roll mode');
  changeSource(s, '11', '2');
  fail = true;
  t.same(await s.run(), { retry: true }, 'a failed delivery is retried');
  t.equal(s.patches.length, 1, 'and not recorded as sent');
  fail = false;
  await s.run();
  t.equal(delivered.length, 1);
  t.match(delivered[0], {
    workload: { kind: 'Deployment', namespace: 'ns', name: 'web' },
    changes: [{ kind: 'ConfigMap', name: 'cfg', digest: /^[0-9a-f]{16}$/ }],
  });
  t.match(s.patches[1], { metadata: { annotations: { 'configstamp.io/notified-stamp': /^v1:configmap\/cfg=[0-9a-f]{16}$/ } } });
  t.notOk((s.patches[1] as { spec?: unknown }).spec, 'nothing rolls');
  t.match(s.events.at(-1), { type: 'Normal', reason: 'ConfigstampNotified' });
  await s.run();
  t.equal(delivered.length, 1, 'not delivered twice (a restart reads the same record)');
  changeSource(s, '12', '1');
  await s.run();
  t.equal(delivered.length, 1, 'changed back to what the pods run: nothing to notify');
  t.match(s.patches.at(-1), { metadata: { annotations: { 'configstamp.io/notified-stamp': null } } }, 'the record is tidied');
  changeSource(s, '13', '2');
  await s.run();
  t.equal(delivered.length, 2, 'changed again: notified again');
  t.match(await s.deps.metrics.registry.getSingleMetricAsString('reloader_reload_executed_total'), /reloader_reload_executed_total\{success="true"\} 2/);
});

t.test("a rollout is alerted (names only) and counted under Reloader's metric names", async (t) => {
  const alerts: RolloutAlert[] = [];
  const s = setup({ alerts: (a) => alerts.push(a) });
  await s.run();
  t.equal(alerts.length, 0, 'an adoption is no rollout: no alert');
  changeSource(s, '11', '2');
  s.state.patchError = new KubeApiError(500, 'InternalError', 'etcd leader changed');
  t.same(await s.run(), { retry: true });
  s.state.patchError = undefined;
  await s.run();
  t.match(alerts, [{ workload: { kind: 'Deployment', namespace: 'ns', name: 'web' }, sources: [{ kind: 'ConfigMap', name: 'cfg' }] }]);
  const text = await s.deps.metrics.registry.metrics();
  t.match(text, /reloader_reload_executed_total\{success="true"\} 1/);
  t.match(text, /reloader_reload_executed_total\{success="false"\} 1/);
  t.match(text, /reloader_action_total\{workload_kind="Deployment",result="success"\} 1/);
  t.match(text, /reloader_action_total\{workload_kind="Deployment",result="error"\} 1/);
  t.notMatch(text, /reloader_reload_executed_total_by_namespace/, 'by namespace only when asked for');
  const byNs = createWatcherMetrics({ countByNamespace: true });
  t.match(await byNs.registry.metrics(), /# TYPE reloader_reload_executed_total_by_namespace counter/);
});

t.test('a restart window holds a rollout until it opens: one Event, a requeue at the opening, then one rollout with the latest state', async (t) => {
  const window = JSON.stringify({ timezone: 'Europe/Berlin', windows: [{ cron: '0 2 * * *', duration: '1h' }] });
  const s = setup({ startMs: Date.parse('2026-12-01T22:00:00Z') });
  s.state.workload = deploymentObject('1', {}, { 'configstamp.io/restart-window': window });
  s.setWorkload(s.state.workload);
  await s.run();
  t.equal(s.patches.length, 1, 'an adoption restarts nothing: never held');
  const results = [];
  for (const [rv, v] of [
    ['11', '2'],
    ['12', '3'],
  ] as const) {
    s.changeSource(rv, v);
    results.push(await s.run());
  }
  t.equal(s.patches.length, 1, 'outside the window: nothing rolled');
  const opens = Date.parse('2026-12-02T01:00:00Z');
  t.same(results.at(-1), { requeueAfterMs: 3_600_000 }, 'requeued at most an hour away');
  const held = s.events.filter((e) => e.reason === 'ConfigstampRolloutPendingWindow');
  t.equal(held.length, 1, 'one Event for the hold, not one per change');
  t.match(held[0], {
    type: 'Normal',
    message: /pending until 2026-12-02 02:00 Europe\/Berlin \(restart window, workload annotation configstamp\.io\/restart-window\).*ConfigMap\/cfg/,
  });
  t.equal(s.deps.windows!.size, 1);
  await s.clock.advance(opens - s.clock.now() - 60_000);
  t.same(await s.run(), { requeueAfterMs: 60_050 }, 'within the hour: requeued for the opening itself');
  await s.clock.advance(60_050);
  await s.run();
  t.equal(s.patches.length, 2, 'the window open: one rollout');
  t.match(s.patches[1], { spec: { template: { metadata: { annotations: { 'configstamp.io/stamp': /configmap\/cfg=/ } } } } });
  t.equal(s.deps.windows!.size, 0, 'no longer held');
  t.equal(s.events.filter((e) => e.reason === 'ConfigstampRollout').length, 1);
  await s.run();
  t.equal(s.patches.length, 2, 'and nothing more');
});

t.test('an unreadable restart window holds (fail closed) with one Warning; removing it releases the rollout', async (t) => {
  const s = setup();
  s.state.workload = deploymentObject('1', {}, { 'reloader.stakater.com/restart-window': '{"timezone":"Local","windows":[]}' });
  s.setWorkload(s.state.workload);
  await s.run();
  s.changeSource('11', '2');
  t.same(await s.run(), { requeueAfterMs: 3_600_000 }, 'looked at again hourly (an edit is seen at once anyway)');
  await s.run();
  t.equal(s.patches.length, 1, 'held: only the adoption');
  const warnings = s.events.filter((e) => e.reason === 'ConfigstampRestartWindowInvalid');
  t.equal(warnings.length, 1, 'one Warning');
  t.match(warnings[0], {
    type: 'Warning',
    message:
      /its restart window \(workload annotation reloader\.stakater\.com\/restart-window\) cannot be read: timezone: an explicit IANA time zone is required.*; fix or remove it and it rolls once/,
  });
  const stamped = structuredClone(s.state.workload) as ReturnType<typeof deploymentObject>;
  delete stamped.metadata.annotations['reloader.stakater.com/restart-window'];
  s.state.workload = stamped;
  s.setWorkload(stamped);
  await s.run();
  t.equal(s.patches.length, 2, 'the policy removed: rolled');
});
