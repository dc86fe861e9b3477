/**
 * The rollout budget: slots by observed status, fair order, a slot freed only by a later
 * generation's completion (or failure), released when the roll did not happen; and the rules that
 * read a rollout's progress from untrusted status.
 */
import t from 'tap';
import { WAVES_READING, rolloutProgress, workloadKindByName } from '../../shared/core/index.js';
import { RolloutBudget } from '../../watcher/rollout-budget.js';

t.test('at most N at once; the rest wait in the order they asked; slots free by status', async (t) => {
  const woken: string[][] = [];
  const budget = new RolloutBudget(2, { wake: (keys) => void woken.push([...keys]) });
  t.same(budget.admit('a', 1), { allowed: true });
  t.same(budget.admit('b', 1), { allowed: true });
  t.same(budget.admit('c', 1), { allowed: false, firstHold: true });
  t.same(budget.admit('d', 1), { allowed: false, firstHold: true });
  t.same(budget.admit('c', 1), { allowed: false, firstHold: false }, 'asked again: still waiting, said once');
  t.equal(budget.inProgress, 2);
  t.equal(budget.waitingCount, 2);
  budget.observe('a', 1, 'complete');
  t.same(woken, [], "a's own generation complete: that is the state before its rollout; no slot freed");
  budget.observe('a', 2, 'progressing');
  budget.observe('a', 2, 'complete');
  t.same(woken, [['c']], 'a later generation complete: the oldest waiter is woken');
  t.same(budget.admit('e', 1), { allowed: false, firstHold: true }, 'a newcomer does not jump the queue');
  t.same(budget.admit('d', 1), { allowed: false, firstHold: false }, 'nor does the second waiter before the first');
  t.same(budget.admit('c', 1), { allowed: true }, 'the woken one takes the slot');
  budget.observe('b', 2, 'failed');
  t.same(woken.at(-1), ['d'], 'a failed rollout frees its slot too (a stuck one must not hold the budget)');
  budget.release('c');
  t.same(woken.at(-1), ['d', 'e'], 'a roll that did not happen gives its slot back');
  budget.forget('d');
  t.same(budget.admit('e', 1), { allowed: true }, 'a forgotten waiter leaves the line');
});

t.test('a tracked workload rolling on its own holds a slot until it completes; no budget: everything passes', async (t) => {
  const budget = new RolloutBudget(1);
  budget.observe('boot', 5, 'progressing');
  t.equal(budget.inProgress, 1, 'seen mid-rollout (a boot): holds a slot');
  t.same(budget.admit('x', 1), { allowed: false, firstHold: true });
  budget.observe('boot', 5, 'complete');
  t.equal(budget.inProgress, 0, 'its completion frees it');
  budget.observe('cron', 1, undefined);
  t.equal(budget.inProgress, 0, 'a kind with nothing to wait for takes no slot');
  const none = new RolloutBudget(0);
  for (let i = 0; i < 10; i++) t.same(none.admit(`k${i}`, 1), { allowed: true });
  none.observe('k1', 2, 'progressing');
  t.equal(none.inProgress, 0, 'disabled: counts nothing');
});

t.test('from the review: a woken waiter that needs no slot leaves the line; a waiter rolling on its own leaves it too; timeouts; counts', async (t) => {
  const woken: string[][] = [];
  const counts: [number, number][] = [];
  let now = 0;
  const budget = new RolloutBudget(1, {
    wake: (keys) => void woken.push([...keys]),
    count: (a, b) => void counts.push([a, b]),
    timeoutMs: 1_000,
    now: () => now,
  });
  t.same(budget.admit('a', 1), { allowed: true });
  budget.settle('a');
  t.same(budget.admit('b', 1), { allowed: false, firstHold: true });
  budget.settle('b');
  t.same(budget.admit('c', 1), { allowed: false, firstHold: true });
  budget.settle('c');
  budget.observe('a', 2, 'complete');
  t.same(woken.at(-1), ['b']);
  budget.settle('b'); // b's reconcile found nothing to roll (its change was reverted)
  t.same(woken.at(-1), ['c'], 'b left the line, and c is woken: no stale waiter blocks a free slot');
  t.same(budget.admit('c', 1), { allowed: true });
  budget.settle('c');
  // a waiter seen rolling on its own takes a slot and leaves the line
  t.same(budget.admit('d', 1), { allowed: false, firstHold: true });
  budget.settle('d');
  budget.observe('c', 2, 'complete');
  budget.observe('d', 2, 'progressing');
  t.equal(budget.waitingCount, 0, 'd is rolling: out of the line');
  t.same(budget.admit('d', 2), { allowed: true }, 'and it may roll: the slot now waits for this generation');
  budget.observe('d', 2, 'complete');
  t.equal(budget.inProgress, 1, "d's own earlier rollout completing does not free the slot its new rollout took");
  t.same(budget.admit('e', 1), { allowed: false, firstHold: true });
  budget.settle('e');
  now = 1_500;
  t.ok(budget.wouldAdmit('e'), 'a slot held past the timeout is freed');
  budget.observe('f', 1, 'unavailable');
  t.equal(budget.inProgress, 0, 'unavailable pods with every pod updated are not a rollout: no slot');
  t.ok(counts.length > 0 && counts.every(([a, w]) => a >= 0 && w >= 0), 'counts are reported');
  budget.forget('e');
  t.equal(budget.waitingCount, 0);
});

t.test('progress read from status, as kubectl rollout status reads it; malformed status never throws', async (t) => {
  const d = workloadKindByName('Deployment')!;
  const deployment = (status: Record<string, unknown>, generation = 2, replicas = 2) => ({ metadata: { generation }, spec: { replicas }, status });
  t.equal(rolloutProgress(d, deployment({ observedGeneration: 1 })), 'progressing', 'a spec its controller has not seen');
  t.equal(
    rolloutProgress(d, deployment({ observedGeneration: 2, replicas: 3, updatedReplicas: 2, availableReplicas: 2 })),
    'progressing',
    'an old pod still there',
  );
  t.equal(
    rolloutProgress(d, deployment({ observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 1 })),
    'unavailable',
    'updated, not yet available',
  );
  t.equal(
    rolloutProgress(d, { ...deployment({ observedGeneration: 2, replicas: 2, updatedReplicas: 0 }), spec: { replicas: 2, paused: true } }),
    'complete',
    'paused: nothing rolls',
  );
  t.equal(rolloutProgress(d, deployment({ observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 })), 'complete');
  t.equal(
    rolloutProgress(d, deployment({ observedGeneration: 2, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }] })),
    'failed',
  );
  t.equal(rolloutProgress(d, deployment({ observedGeneration: 2 }, 2, 0)), 'complete', 'scaled to zero');
  for (const junk of [null, 'x', {}, { metadata: { generation: 'x' }, status: { observedGeneration: 'y', replicas: {} } }]) {
    t.doesNotThrow(() => rolloutProgress(d, junk), JSON.stringify(junk));
  }
  const s = workloadKindByName('StatefulSet')!;
  t.equal(
    rolloutProgress(s, {
      metadata: { generation: 1 },
      spec: { replicas: 2 },
      status: { observedGeneration: 1, readyReplicas: 2, updatedReplicas: 2, currentRevision: 'a', updateRevision: 'b' },
    }),
    'progressing',
  );
  t.equal(
    rolloutProgress(s, { metadata: { generation: 1 }, spec: { replicas: 2, updateStrategy: { type: 'OnDelete' } }, status: { observedGeneration: 1 } }),
    'complete',
  );
  const ds = workloadKindByName('DaemonSet')!;
  t.equal(
    rolloutProgress(ds, {
      metadata: { generation: 1 },
      status: { observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 2, numberAvailable: 3 },
    }),
    'progressing',
  );
  const r = workloadKindByName('Rollout')!;
  t.equal(rolloutProgress(r, { metadata: { generation: 1 }, status: { observedGeneration: 1, phase: 'Progressing' } }), 'progressing');
  t.equal(rolloutProgress(r, { metadata: { generation: 1 }, status: { observedGeneration: 1, phase: 'Degraded' } }), 'failed');
  const restart = (restartedAt?: string) => ({
    metadata: { generation: 2 },
    spec: { restartAt: '2026-12-01T12:00:00Z' },
    status: { observedGeneration: 2, phase: 'Healthy', ...(restartedAt === undefined ? {} : { restartedAt }) },
  });
  t.equal(rolloutProgress(r, restart()), 'progressing', 'a restart (spec.restartAt) Argo has not finished, though Healthy');
  t.equal(rolloutProgress(r, restart('2026-12-01T11:00:00Z')), 'progressing', 'the last restart finished is older');
  t.equal(rolloutProgress(r, restart('2026-12-01T12:00:05Z')), 'complete', 'restarted');
  t.equal(
    rolloutProgress(r, { metadata: { generation: 3 }, status: { observedGeneration: '2', phase: 'Healthy' } }),
    'progressing',
    "Argo's string observedGeneration",
  );
  t.equal(
    rolloutProgress(r, { metadata: { generation: 3 }, status: { observedGeneration: '5c8d9f', phase: 'Healthy' } }),
    'complete',
    'an old hash: the phase decides',
  );
  t.equal(rolloutProgress(workloadKindByName('CronJob')!, {}), undefined, 'a CronJob has nothing to wait for');
  t.equal(rolloutProgress(workloadKindByName('Job')!, {}), undefined);
});

t.test("the waves' reading: a paused Deployment or a canary between steps is not done; the budget's reading counts them done", async (t) => {
  const d = workloadKindByName('Deployment')!;
  const dc = workloadKindByName('DeploymentConfig')!;
  const r = workloadKindByName('Rollout')!;
  const paused = { metadata: { generation: 2 }, spec: { replicas: 1, paused: true }, status: { observedGeneration: 2, replicas: 2, updatedReplicas: 1 } };
  t.equal(rolloutProgress(d, paused), 'complete', 'budget: a paused Deployment rolls nothing, holds no slot');
  t.equal(rolloutProgress(d, paused, WAVES_READING), 'progressing', 'waves: it has not run the change');
  t.equal(rolloutProgress(dc, paused, WAVES_READING), 'complete', "a DeploymentConfig's pause (not one configstamp writes) reads as the budget's");
  const phase = (p?: string) => ({ metadata: { generation: 1 }, status: { observedGeneration: 1, ...(p === undefined ? {} : { phase: p }) } });
  t.equal(rolloutProgress(r, phase('Paused')), 'complete', 'budget: a canary between steps');
  t.equal(rolloutProgress(r, phase('Paused'), WAVES_READING), 'progressing', 'waves: not Healthy yet');
  t.equal(rolloutProgress(r, phase('Healthy'), WAVES_READING), 'complete');
  t.equal(rolloutProgress(r, phase(), WAVES_READING), 'complete', 'no phase written: judged as before');
  t.equal(rolloutProgress(r, phase('Degraded'), WAVES_READING), 'failed');
});
