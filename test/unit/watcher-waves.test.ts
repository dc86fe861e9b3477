/**
 * Health-gated waves through reconcileWorkload against a fake API (the real thing, pods that
 * become Ready or fail, is test/e2e/node-failures.test.ts): four consumers of one ConfigMap in
 * waves of 2. The first wave rolls; the second waits while the first rolls, goes once it has
 * completed, and is halted when one of it failed, with a Warning on the workload and on the
 * source; a resume token continues; a fix starts again from the first wave. Waking is by status
 * change of a consumer, for the next wave only.
 */
import t from 'tap';
import { DEFAULT_POLICY } from '../../shared/core/policy.js';
import { workloadKindByName } from '../../shared/core/kinds.js';
import { createLogger } from '../../shared/log.js';
import { ClusterCache, workloadKey } from '../../watcher/cache.js';
import { ChurnGuard } from '../../watcher/churn-guard.js';
import { DigestCache } from '../../watcher/digest-cache.js';
import { HoldNotices } from '../../watcher/hold-notices.js';
import { createWatcherMetrics } from '../../watcher/metrics.js';
import { TokenBucket } from '../../watcher/rate-limiter.js';
import { reconcileWorkload } from '../../watcher/reconcile.js';
import type { ReconcileDeps } from '../../watcher/reconcile.js';
import { ReverseIndex } from '../../watcher/reverse-index.js';
import { Waves } from '../../watcher/waves.js';
import { ManualClock } from '../support/manual-clock.js';

const KIND = workloadKindByName('Deployment')!;
const NAMES = ['w1', 'w2', 'w3', 'w4'];
type Obj = {
  metadata: { name: string; namespace: string; uid: string; resourceVersion: string; generation: number; annotations: Record<string, string> };
  spec: { replicas: number; paused?: boolean; template: { metadata: { annotations: Record<string, string> }; spec: unknown } };
  status: Record<string, unknown>;
};

function deployment(name: string, order?: number): Obj {
  return {
    metadata: {
      name,
      namespace: 'ns',
      uid: `uid-${name}`,
      resourceVersion: '1',
      generation: 1,
      annotations: { 'configstamp.io/track': 'true', ...(order === undefined ? {} : { 'configstamp.io/wave-order': String(order) }) },
    },
    spec: { replicas: 1, template: { metadata: { annotations: {} }, spec: { containers: [{ name: 'c', envFrom: [{ configMapRef: { name: 'cfg' } }] }] } } },
    status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 },
  };
}

function setup(names: readonly string[] = NAMES) {
  const clock = new ManualClock();
  const cache = new ClusterCache();
  const index = new ReverseIndex();
  const objects = new Map<string, Obj>(names.map((n) => [workloadKey(KIND, 'ns', n), deployment(n)]));
  let cm = { metadata: { resourceVersion: '10' }, data: { a: '1' } };
  let cmAnnotations: Record<string, string> = { 'configstamp.io/wave-size': '2' };
  const events: { on: string; type: string; reason: string; message: string }[] = [];
  const woken: string[][] = [];
  const said = new Set<string>();
  const say = (on: string, type: string, reason: string, message: string, once: string | undefined): void => {
    if (once !== undefined && said.has(`${on}|${reason}|${once}`)) return;
    if (once !== undefined) said.add(`${on}|${reason}|${once}`);
    events.push({ on, type, reason, message });
  };
  const digests = new DigestCache(new Uint8Array(32).fill(3), async (_ns, keys) => new Map(keys.map((k) => [`${k.kind}/${k.name}`, cm])));
  const sync = (key: string): void => {
    const o = objects.get(key)!;
    cache.setWorkload({ key, kind: KIND, namespace: 'ns', name: o.metadata.name, object: structuredClone(o) });
  };
  const setSource = (): void =>
    void cache.setSource('ConfigMap', 'ns', 'cfg', { resourceVersion: cm.metadata.resourceVersion, labels: {}, annotations: cmAnnotations });
  for (const key of objects.keys()) {
    sync(key);
    index.set(key, 'ns', [{ kind: 'ConfigMap', name: 'cfg' }], []);
  }
  setSource();
  const waves = new Waves({
    cache,
    digests,
    policy: DEFAULT_POLICY,
    rollOnDelete: false,
    clock,
    defaults: { size: 0, timeoutMs: 60_000 },
    consumers: (kind, ns, name) => index.lookup(ns, kind, name),
    wake: (keys) => void woken.push([...keys].sort()),
  });
  const deps: ReconcileDeps = {
    cache,
    digests,
    policy: DEFAULT_POLICY,
    rollOnDelete: false,
    guard: new ChurnGuard(0, clock),
    limiter: new TokenBucket(100, 100, clock),
    events: {
      // As the API server does with said-once Events (a name of their own): a second is refused.
      post: async (w, type, reason, message, o) => say(w.name, type, reason, message, o?.once),
      postOn: async (target, type, reason, message, o) => say(`${target.kind}/${target.name}`, type, reason, message, o?.once),
    },
    metrics: createWatcherMetrics(),
    log: createLogger('silent', 'test'),
    clock,
    isLeader: () => true,
    waves: { gate: waves, notices: new HoldNotices() },
    api: {
      get: async (w) => structuredClone(objects.get(w.key)!),
      patch: async (w, body) => {
        const o = objects.get(w.key)!;
        const b = body as {
          metadata?: { annotations?: Record<string, string | null> };
          spec?: { template?: { metadata?: { annotations?: Record<string, string> } } };
        };
        for (const [k, v] of Object.entries(b.metadata?.annotations ?? {})) {
          if (v === null) delete o.metadata.annotations[k];
          else o.metadata.annotations[k] = v;
        }
        if (b.spec?.template?.metadata?.annotations !== undefined) {
          Object.assign(o.spec.template.metadata.annotations, b.spec.template.metadata.annotations);
          o.metadata.generation++;
        }
        o.metadata.resourceVersion = String(Number(o.metadata.resourceVersion) + 1);
        sync(w.key);
      },
    },
  };
  const key = (n: string): string => workloadKey(KIND, 'ns', n);
  const run = (n: string) => reconcileWorkload(deps, key(n), { since: clock.now() });
  const generations = (): number[] => names.map((n) => objects.get(key(n))!.metadata.generation);
  /** The controller's status for one workload, as its informer would deliver it. */
  const status = (n: string, s: 'progressing' | 'complete' | 'failed'): void => {
    const o = objects.get(key(n))!;
    o.status =
      s === 'complete'
        ? { observedGeneration: o.metadata.generation, replicas: 1, updatedReplicas: 1, availableReplicas: 1 }
        : s === 'progressing'
          ? { observedGeneration: o.metadata.generation, replicas: 2, updatedReplicas: 1, availableReplicas: 1 }
          : {
              observedGeneration: o.metadata.generation,
              replicas: 2,
              updatedReplicas: 1,
              availableReplicas: 1,
              conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }],
            };
    o.metadata.resourceVersion = String(Number(o.metadata.resourceVersion) + 1);
    sync(key(n));
    waves.observe(key(n));
  };
  const change = (value: string, rv: string): void => {
    cm = { metadata: { resourceVersion: rv }, data: { a: value } };
    setSource();
    digests.forget('ConfigMap', 'ns', 'cfg');
  };
  const annotateSource = (annotations: Record<string, string>): void => {
    cmAnnotations = { ...cmAnnotations, ...annotations };
    cm = { ...cm, metadata: { resourceVersion: String(Number(cm.metadata.resourceVersion) + 1) } };
    setSource();
  };
  const pause = (n: string): void => {
    const o = objects.get(key(n))!;
    o.spec.paused = true;
    o.metadata.resourceVersion = String(Number(o.metadata.resourceVersion) + 1);
    sync(key(n));
    waves.observe(key(n));
  };
  /** Reconciles every workload once, in name order. */
  const runAll = async (): Promise<void> => {
    for (const n of names) await run(n);
  };
  return { objects, events, woken, run, runAll, generations, status, change, annotateSource, clock, waves, key, pause };
}

t.test('waves of 2 over 4 consumers: wait, go, halt on a failure, resume, and a fix starts from the first wave', async (t) => {
  const s = setup();
  await s.runAll();
  t.same(s.generations(), [1, 1, 1, 1], 'adopted: nothing rolled');

  s.change('2', '11');
  await s.runAll();
  t.same(s.generations(), [2, 2, 1, 1], 'the first wave (w1, w2) rolled; w3, w4 wait');
  const waiting = s.events.filter((e) => e.reason === 'ConfigstampWaveWaiting');
  t.same(
    waiting.map((e) => e.on),
    ['w3', 'w4'],
    'one Event each for the wait',
  );
  t.match(waiting[0]!.message, /wave 2 of 2 of ConfigMap\/cfg: waiting for Deployment\/ns\/w1, Deployment\/ns\/w2 to complete/);

  s.status('w1', 'progressing');
  s.status('w2', 'progressing');
  t.same(s.woken.at(-1), [s.key('w3'), s.key('w4')], "a first-wave workload's status change wakes the next wave");
  await s.run('w3');
  t.same(s.generations(), [2, 2, 1, 1], 'still rolling: w3 waits');
  t.equal(s.events.filter((e) => e.reason === 'ConfigstampWaveWaiting').length, 2, 'and says nothing more');

  s.status('w1', 'complete');
  s.status('w2', 'failed');
  await s.run('w3');
  await s.run('w4');
  t.same(s.generations(), [2, 2, 1, 1], 'w2 failed: the second wave is halted');
  const halted = s.events.filter((e) => e.reason === 'ConfigstampWavesHalted');
  t.same(halted.map((e) => e.on).sort(), ['ConfigMap/cfg', 'w3', 'w4'], 'a Warning on each held workload and one on the source');
  t.ok(
    halted.every((e) => e.type === 'Warning'),
    'Warnings',
  );
  const resume = /configstamp\.io\/waves-resume=(\S+)/.exec(halted[0]!.message)?.[1];
  t.match(resume, /^Deployment\/w2@[0-9a-f]{8}$/, 'the Event says how to continue: the failed workload and its digest');
  await s.run('w3');
  t.equal(s.events.filter((e) => e.reason === 'ConfigstampWavesHalted').length, 3, 'a re-check says nothing more');

  s.annotateSource({ 'configstamp.io/waves-resume': resume! });
  await s.run('w3');
  await s.run('w4');
  t.same(s.generations(), [2, 2, 2, 2], "w2's failure accepted: the rest rolled");

  s.status('w3', 'complete');
  s.status('w4', 'complete');
  s.change('3', '20');
  await s.runAll();
  t.same(s.generations(), [3, 3, 2, 2], 'the fix, a new change: the first wave again (the accepted token was for the old digest)');
  s.status('w1', 'complete');
  s.status('w2', 'complete');
  await s.run('w3');
  await s.run('w4');
  t.same(s.generations(), [3, 3, 3, 3], 'the first wave completed: the second rolled');
});

t.test('a rollout of an earlier wave not complete within the wave timeout counts as failed', async (t) => {
  const s = setup();
  await s.runAll();
  s.change('2', '11');
  await s.runAll();
  s.status('w1', 'complete');
  s.status('w2', 'progressing');
  await s.run('w3');
  t.same(s.generations(), [2, 2, 1, 1], 'w2 rolling: waiting');
  await s.clock.advance(60_000);
  await s.run('w3');
  t.same(s.generations(), [2, 2, 1, 1]);
  t.match(
    s.events.find((e) => e.reason === 'ConfigstampWavesHalted' && e.on === 'w3')?.message,
    /Deployment\/ns\/w2 did not complete in time/,
    'the timeout halts',
  );
});

t.test('a halt in wave 2 reaches wave 3 at once: the workloads still waiting are woken to be told', async (t) => {
  const six = ['w1', 'w2', 'w3', 'w4', 'w5', 'w6'];
  const s = setup(six);
  await s.runAll();
  s.change('2', '11');
  await s.runAll();
  t.same(s.generations(), [2, 2, 1, 1, 1, 1], 'wave 1 rolled');
  s.status('w1', 'failed');
  t.same(s.woken.at(-1), [s.key('w3'), s.key('w4')], 'a status change wakes the next wave only (w3, w4), not wave 3');
  await s.run('w3');
  t.same(s.woken.at(-1), [s.key('w5'), s.key('w6')], 'w3 halted: wave 3 (w5, w6), still waiting, is woken to be halted too');
  await s.run('w5');
  t.match(
    s.events.find((e) => e.on === 'w5' && e.reason === 'ConfigstampWavesHalted')?.message,
    /held: wave 3 of 3 of ConfigMap\/cfg; Deployment\/ns\/w1 failed/,
  );
  const wakes = s.woken.length;
  await s.run('w6');
  t.equal(s.woken.length, wakes, 'once all are halted, a halt wakes nobody more');
});

t.test('a paused first-wave Deployment has not run the change: the next wave waits (with no timeout)', async (t) => {
  const s = setup();
  await s.runAll();
  s.change('2', '11');
  await s.runAll();
  s.status('w1', 'complete');
  s.status('w2', 'complete');
  s.pause('w1');
  await s.run('w3');
  t.same(s.generations(), [2, 2, 1, 1], 'w1 is paused (kubectl rollout pause, or its pause period): wave 2 waits');
  await s.clock.advance(120_000);
  await s.run('w3');
  t.notOk(
    s.events.some((e) => e.reason === 'ConfigstampWavesHalted'),
    'a pause is no failure, however long',
  );
});

t.test("the wave timeout runs per rollout: a fix's rollout starts a fresh clock", async (t) => {
  const s = setup();
  await s.runAll();
  s.change('2', '11');
  await s.runAll();
  s.status('w1', 'complete');
  s.status('w2', 'progressing');
  await s.run('w3');
  await s.clock.advance(60_000);
  await s.run('w3');
  t.ok(
    s.events.some((e) => e.on === 'w3' && e.reason === 'ConfigstampWavesHalted'),
    'w2 timed out: halted',
  );
  s.change('3', '20');
  await s.run('w2');
  await s.run('w1');
  t.same(s.generations().slice(0, 2), [3, 3], 'the fix rolled the first wave');
  s.status('w2', 'progressing');
  await s.run('w3');
  t.same(s.generations(), [3, 3, 1, 1], "w2's new rollout is just under way: w3 waits, not halted by the old clock");
  const halts = s.events.filter((e) => e.on === 'w3' && e.reason === 'ConfigstampWavesHalted').length;
  t.equal(halts, 1, 'no second halt');
});
