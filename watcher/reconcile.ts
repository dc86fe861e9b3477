/**
 * reconcileWorkload: one workload, from current state. Plans on cached metadata and digests; when
 * that finds a rollout, confirms it with fresh reads of every tracked source (so a lagging cache
 * never rolls a workload to old data and back), each read once per reconcile; every write carries
 * the cached workload's resourceVersion, so one that changed since is refused and reconciled again. Then asks the churn guard
 * and the patch rate limiter, and writes the core's minimal merge patch with fieldManager
 * configstamp, guarded by resourceVersion. 409/429/5xx and failed reads are retried with backoff;
 * anything else is logged once and surfaced as a Warning Event.
 */
import { ABSENT } from '../shared/core/digest.js';
import { Ours } from '../shared/core/annotations.js';
import { asNumber, asString, getPath } from '../shared/core/json.js';
import type { JsonRecord } from '../shared/core/json.js';
import type { ReconcileDecision, SourceChange } from '../shared/core/decide.js';
import type { PolicyOptions } from '../shared/core/policy.js';
import { ConfigstampError, ErrorCodes, errorCode, errorMessage } from '../shared/errors.js';
import { KubeApiError, MERGE_PATCH } from '../shared/kube/client.js';
import type { KubeApi } from '../shared/kube/client.js';
import { workloadPath } from '../shared/kube/paths.js';
import type { Logger } from '../shared/log.js';
import type { ClusterCache, WorkloadEntry } from './cache.js';
import type { ChurnGuard } from './churn-guard.js';
import type { Clock } from './clock.js';
import type { DigestCache, ReadNow } from './digest-cache.js';
import { decideCached } from './decide-cached.js';
import { EventReasons, describeChanges } from './event-recorder.js';
import type { EventRecorder } from './event-recorder.js';
import { countReload } from './metrics.js';
import type { WatcherMetrics } from './metrics.js';
import type { ReconcileContext, ReconcileResult } from './queue.js';
import type { TokenBucket } from './rate-limiter.js';
import type { NotifyChange, RolloutAlert, WorkloadRef } from './alerts.js';
import type { RecreateOutcome, Recreator } from './recreate.js';
import type { RolloutBudget } from './rollout-budget.js';
import { describeWindow } from '../shared/core/window.js';
import { HoldNotices } from './hold-notices.js';
import { describeWaves } from '../shared/core/waves.js';
import type { Waves } from './waves.js';

/** Reads and writes of workloads (a fake stands in for unit tests and benchmarks). */
export interface WorkloadApi {
  get(workload: WorkloadEntry): Promise<unknown | null>;
  patch(workload: WorkloadEntry, body: unknown): Promise<void>;
  /** Deletes the workload whose UID is `uid` and creates `object` in its place (a Job); absent: never. */
  recreate?(workload: WorkloadEntry, uid: string, object: JsonRecord): Promise<RecreateOutcome>;
}

export function kubeWorkloadApi(client: KubeApi, recreator?: Recreator): WorkloadApi {
  return {
    ...(recreator === undefined ? {} : { recreate: (w: WorkloadEntry, uid: string, object: JsonRecord) => recreator.recreate(w, uid, object) }),
    get: (w) => client.getOrNull(workloadPath(w.kind, w.namespace, w.name), { timeoutMs: 10_000 }),
    async patch(w, body) {
      await client.request('PATCH', workloadPath(w.kind, w.namespace, w.name), {
        body,
        contentType: MERGE_PATCH,
        query: { fieldManager: 'configstamp' },
        timeoutMs: 10_000,
      });
    },
  };
}

export interface ReconcileDeps {
  readonly cache: ClusterCache;
  readonly digests: DigestCache;
  readonly api: WorkloadApi;
  readonly policy: PolicyOptions;
  readonly rollOnDelete: boolean;
  readonly guard: ChurnGuard;
  readonly limiter: TokenBucket;
  readonly events: EventRecorder;
  readonly metrics: WatcherMetrics;
  readonly log: Logger;
  readonly clock: Clock;
  /** Only the leader writes; checked before every write. */
  readonly isLeader: () => boolean;
  /** Notify mode (--webhook-url): changes are delivered here instead of rolled; throws to retry. */
  readonly notifier?: Notifier | undefined;
  /** Rollout alerts (ALERT_WEBHOOK_URL): queued, never awaited. */
  readonly alerts?: ((alert: RolloutAlert) => void) | undefined;
  /** The cluster-wide rollout budget (--rollout-budget); absent or 0: none. */
  readonly budget?: RolloutBudget | undefined;
  /** The workloads restart windows hold now (one Event each); absent: a fresh set per call. */
  readonly windows?: HoldNotices | undefined;
  /** Health-gated waves (--wave-size, configstamp.io/wave-size); absent: none. */
  readonly waves?: { readonly gate: Waves; readonly notices: HoldNotices } | undefined;
}

export interface Notifier {
  deliver(workload: WorkloadRef, changes: readonly NotifyChange[]): Promise<void>;
}

/** The reason label of a rollout: what happened to the sources that changed. */
export function rolloutReason(changes: readonly SourceChange[]): string {
  const kinds = new Set(changes.map((c) => (c.from === ABSENT ? 'source-created' : c.to === ABSENT ? 'source-deleted' : 'source-changed')));
  return [...kinds].sort().join('+');
}

function retryable(err: unknown): boolean {
  if (err instanceof KubeApiError) return err.retryable;
  if (err instanceof ConfigstampError) return err.code !== ErrorCodes.CONFIG && err.code !== ErrorCodes.HASH_KEY;
  return true;
}

export async function reconcileWorkload(deps: ReconcileDeps, key: string, context: ReconcileContext): Promise<ReconcileResult> {
  try {
    return await reconcileKey(deps, key, context);
  } finally {
    // Refused by the budget just now, it stays in line; otherwise it needs no slot any more.
    deps.budget?.settle(key);
  }
}

async function reconcileKey(deps: ReconcileDeps, key: string, context: ReconcileContext): Promise<ReconcileResult> {
  const cached = deps.cache.workload(key);
  if (cached === undefined) return;
  const log = deps.log.child({ workload: key });
  try {
    return await reconcileEntry(deps, cached, context, log);
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 404) return;
    deps.metrics.reconcileErrors.inc({ code: errorCode(err) });
    if (retryable(err)) {
      log.debug({ err: errorMessage(err) }, 'reconcile failed; retrying with backoff');
      return { retry: true };
    }
    log.error({ code: errorCode(err), err: errorMessage(err) }, 'reconcile failed');
    await deps.events.post(cached, 'Warning', EventReasons.error, `configstamp could not update the stamp: ${errorMessage(err)}`);
    return;
  }
}

/** A rollout, or a notification of changes: what the fresh reads confirm and the churn guard limits. */
function actsOnChanges(decision: ReconcileDecision): decision is Extract<ReconcileDecision, { action: 'rollout' | 'notify' }> {
  return decision.action === 'rollout' || (decision.action === 'notify' && decision.changes.length > 0);
}

async function reconcileEntry(deps: ReconcileDeps, cached: WorkloadEntry, context: ReconcileContext, log: Logger): Promise<ReconcileResult> {
  const ns = cached.namespace;
  // now: what a restart-strategy rollout writes (spec.restartAt); the core has no clock.
  const options = { rollOnDelete: deps.rollOnDelete, notify: deps.notifier !== undefined, now: new Date(deps.clock.now()).toISOString() };
  // The sources this reconcile reads from the API server: the confirmation reads each once only.
  const readNow: ReadNow = new Map();
  const planned = await decideCached(deps.cache, deps.digests, deps.policy, cached, options, undefined, readNow);
  if (planned.decision.action !== 'rollout') {
    releaseWindow(deps, cached.key);
    releaseWaves(deps, cached.key);
  }
  if (planned.decision.action === 'none') {
    // A pause period still running: come back when it is over (the resume is durable anyway).
    return planned.decision.wakeInMs !== undefined && deps.isLeader() ? { requeueAfterMs: planned.decision.wakeInMs } : undefined;
  }
  if (!deps.isLeader()) return;

  // Outside its restart window a rollout waits, its drift kept on the workload, until the window opens.
  if (planned.decision.action === 'rollout') {
    const window = await windowHold(deps, cached, planned.decision, log);
    if (window !== undefined) {
      // Held by its window: not waiting in any wave meanwhile (it is asked again when it may roll).
      releaseWaves(deps, cached.key);
      return window;
    }
    const wave = await waveHold(deps, cached, planned.decision, log);
    if (wave !== undefined) return wave;
  }
  let entry = cached;
  let decision: ReconcileDecision = planned.decision;
  // A rollout is confirmed with fresh reads of every source (those read for the plan a moment ago
  // count), so a lagging cache never rolls a workload to old data and back. The workload is not
  // read again: the patch carries the cached resourceVersion, so a workload changed since (a
  // template the webhook stamped with newer digests) is refused (409) and reconciled again. A
  // kind rolled by re-creation is read whole: the cache keeps only what decisions read of it.
  // An adoption restarts nothing: it records the digests as planned, under the same guard.
  // Over budget, a rollout waits before its fresh reads: a waiter retried costs nothing more.
  if (decision.action === 'rollout' && budgets(deps, cached) && !deps.budget!.wouldAdmit(cached.key)) {
    const held = await budgetHold(deps, cached, decision, log);
    if (held !== undefined) return held;
  }
  if (actsOnChanges(decision)) {
    const object = cached.kind.recreate === true ? await deps.api.get(cached) : cached.object;
    if (object === null) return;
    entry = { ...cached, object };
    decision = (await decideCached(deps.cache, deps.digests, deps.policy, cached, options, { object }, readNow)).decision;
    if (decision.action === 'none') {
      log.debug('cached state was stale; fresh reads show nothing to do');
      return;
    }
    // The fresh reads may show a change the cache had not seen yet: its waves are asked too.
    if (decision.action === 'rollout') {
      const wave = await waveHold(deps, entry, decision, log);
      if (wave !== undefined) return wave;
    }
  }
  if (actsOnChanges(decision)) {
    const own = deps.cache.timingOf(cached).minRolloutIntervalMs;
    const verdict = deps.guard.check(cached.key, own);
    if (!verdict.allowed) {
      deps.metrics.heldBack.inc({ kind: cached.kind.kind, namespace: ns });
      if (verdict.firstHold) {
        const per = own === undefined ? '--min-rollout-interval' : 'its configstamp.io/min-rollout-interval';
        const message = `rollout held back by the churn guard for ${Math.ceil(verdict.waitMs / 1000)}s (at most one rollout per ${per}); the latest state will be applied then: ${describeChanges(decision.changes)}`;
        log.warn({ waitMs: verdict.waitMs }, 'rollout held back by the churn guard');
        await deps.events.post(entry, 'Warning', EventReasons.heldBack, message);
      }
      return { requeueAfterMs: verdict.waitMs };
    }
  }
  // The cluster-wide budget: a rollout waits while N tracked workloads are rolling (by status).
  const budgeted = decision.action === 'rollout' && budgets(deps, cached);
  if (budgeted && decision.action === 'rollout') {
    const held = await budgetHold(deps, entry, decision, log);
    if (held !== undefined) return held;
  }
  await deps.limiter.take();
  if (!deps.isLeader()) {
    if (budgeted) deps.budget!.release(cached.key);
    return;
  }
  // The rate limit may have kept it past its window's close: asked again just before the write.
  if (decision.action === 'rollout') {
    const held = await windowHold(deps, entry, decision, log);
    if (held !== undefined) {
      if (budgeted) deps.budget!.release(cached.key);
      return held;
    }
  }
  const workload = { kind: cached.kind.kind, namespace: ns, name: cached.name };
  if (decision.action === 'notify' && decision.changes.length > 0) {
    // Delivered before it is recorded: a failed delivery is retried, never recorded as sent.
    const sentAt = deps.clock.now();
    await deps.notifier!.deliver(
      workload,
      decision.changes.map((c) => ({ kind: c.kind, name: c.name, digest: c.to })),
    );
    countReload(deps.metrics.reloader, cached.kind.kind, ns, true, (deps.clock.now() - sentAt) / 1000);
  }
  const sent = deps.clock.now();
  if (decision.action === 'rollout' && decision.recreate !== undefined) {
    return recreateEntry(deps, entry, decision, context, log, sent);
  }
  try {
    await deps.api.patch(entry, decision.patch);
  } catch (err) {
    if (decision.action === 'rollout') countReload(deps.metrics.reloader, cached.kind.kind, ns, false, (deps.clock.now() - sent) / 1000);
    if (budgeted) deps.budget!.release(cached.key);
    throw err;
  }
  // How long the API server took to answer: the log line's time less this is when the patch went
  // out, the moment the rate limit governs.
  const patchMs = deps.clock.now() - sent;
  deps.metrics.patches.inc({ kind: cached.kind.kind });
  if (decision.action === 'resume') {
    const pausedAt = new Date(decision.pausedAtMs).toISOString();
    log.info({ pausedAt, patchMs }, 'pause period over: resumed (the Deployment rolls once with what it has)');
    await deps.events.post(entry, 'Normal', EventReasons.resumed, `configstamp resumed Deployment ${cached.name}, paused at ${pausedAt} for its pause period`);
    return;
  }
  if (decision.action === 'adopt') {
    deps.metrics.adoptions.inc({ kind: cached.kind.kind, namespace: ns });
    if (decision.unrecorded.length > 0) {
      log.info({ sources: decision.unrecorded.map((e) => `${e.kind}/${e.name}`), patchMs }, 'adopted: recorded current digests on the workload (no rollout)');
    }
    if (decision.rekeyed.length > 0) {
      log.info(
        { sources: decision.rekeyed.map((e) => `${e.kind}/${e.name}`), patchMs },
        're-keyed: these sources are at the resourceVersions recorded with their digests, so only the hash key changed; recorded the new digests (no rollout)',
      );
    }
    return;
  }
  const changed = describeChanges(decision.changes);
  if (decision.action === 'notify') {
    if (decision.changes.length === 0) {
      log.debug({ patchMs }, 'notify mode: the notified stamp now lists only sources still drifted');
      return;
    }
    deps.guard.record(cached.key);
    deps.metrics.notifications.inc({ kind: cached.kind.kind, namespace: ns });
    log.info({ changed, patchMs }, 'notified (--webhook-url): changes posted, nothing rolled');
    await deps.events.post(
      entry,
      'Normal',
      EventReasons.notified,
      `configstamp notified --webhook-url instead of rolling ${cached.kind.kind} ${cached.name}: ${changed}`,
    );
    return;
  }
  deps.guard.record(cached.key);
  const reason = rolloutReason(decision.changes);
  deps.metrics.rollouts.inc({ kind: cached.kind.kind, namespace: ns, reason });
  deps.metrics.changeToPatch.observe(Math.max(0, deps.clock.now() - context.since) / 1000);
  countReload(deps.metrics.reloader, cached.kind.kind, ns, true, patchMs / 1000);
  const paused = getPath(decision.patch, [...(cached.kind.pausePath ?? ['-'])]) === true;
  log.info(
    { reason, changed, patchMs, ...(paused ? { paused: true } : {}) },
    paused ? 'rollout: stamp patched, paused for its pause period' : 'rollout: stamp patched',
  );
  deps.alerts?.({ workload, sources: decision.changes.map((c) => ({ kind: c.kind, name: c.name })), at: new Date(deps.clock.now()) });
  await deps.events.post(entry, 'Normal', EventReasons.rollout, `configstamp rolled ${cached.kind.kind} ${cached.name}: ${changed}`);
}

/** A rollout by re-creation (a Job): delete it, create its replacement (watcher/recreate.ts). */
async function recreateEntry(
  deps: ReconcileDeps,
  entry: WorkloadEntry,
  decision: Extract<ReconcileDecision, { action: 'rollout' }>,
  context: ReconcileContext,
  log: Logger,
  sent: number,
): Promise<ReconcileResult> {
  const { kind, namespace: ns, name } = { kind: entry.kind.kind, namespace: entry.namespace, name: entry.name };
  const uid = asString(getPath(entry.object, ['metadata', 'uid']));
  if (deps.api.recreate === undefined || uid === undefined) return;
  let outcome: RecreateOutcome;
  try {
    outcome = await deps.api.recreate(entry, uid, decision.recreate!);
  } catch (err) {
    countReload(deps.metrics.reloader, kind, ns, false, (deps.clock.now() - sent) / 1000);
    throw err;
  }
  if (outcome === 'superseded') {
    log.info('re-create skipped: the object of that name is not the one decided on any more');
    return;
  }
  const patchMs = deps.clock.now() - sent;
  const changed = describeChanges(decision.changes);
  const reason = rolloutReason(decision.changes);
  deps.guard.record(entry.key);
  deps.metrics.patches.inc({ kind });
  deps.metrics.rollouts.inc({ kind, namespace: ns, reason });
  deps.metrics.changeToPatch.observe(Math.max(0, deps.clock.now() - context.since) / 1000);
  countReload(deps.metrics.reloader, kind, ns, true, patchMs / 1000);
  log.info({ reason, changed, patchMs, recreated: true }, 'rollout: re-created (deleted, then created again under its name)');
  deps.alerts?.({
    workload: { kind, namespace: ns, name },
    sources: decision.changes.map((c) => ({ kind: c.kind, name: c.name })),
    at: new Date(deps.clock.now()),
  });
  await deps.events.post(entry, 'Normal', EventReasons.rollout, `configstamp re-created ${kind} ${name}: ${changed}`);
}

const WINDOW_RECHECK_MS = 3_600_000;
/** Past the opening, so a timer that fires a little early still finds the window open. */
const WINDOW_MARGIN_MS = 50;
const NO_HOLDS = new HoldNotices();

function releaseWaves(deps: ReconcileDeps, key: string): void {
  if (deps.waves === undefined) return;
  deps.waves.gate.release(key);
  if (deps.waves.notices.release(key)) deps.metrics.waveHeld.set(deps.waves.gate.waitingCount);
}

/** Waiting for an earlier wave: woken when one of its workloads changes; the requeue is a safety net. */
const WAVE_WAIT_RECHECK_MS = 120_000;
/** Halted: a fix (a new change), a resume or the failed workload's recovery wakes it first. */
const WAVE_HALT_RECHECK_MS = 300_000;

/**
 * Whether an earlier wave of a change this rollout carries holds it: the requeue, or undefined when
 * it may go on. One Event per wave waited for, and on a halt a Warning on the workload and one on
 * the source naming the failed workload and how to continue.
 */
async function waveHold(
  deps: ReconcileDeps,
  entry: WorkloadEntry,
  decision: Extract<ReconcileDecision, { action: 'rollout' }>,
  log: Logger,
): Promise<ReconcileResult | undefined> {
  if (deps.waves === undefined) return undefined;
  const hold = await deps.waves.gate.hold(entry, decision.changes);
  if (hold === undefined) {
    releaseWaves(deps, entry.key);
    return undefined;
  }
  const { source, verdict } = hold;
  const sourceName = `${source.kind}/${source.name}`;
  const said = describeWaves(verdict, sourceName);
  // Said once per change (the digest this workload rolls to) and wave while waiting, or per failure
  // (the failed workloads' tokens) when halted: not again for an edit of the source's metadata.
  const to = decision.changes.find((c) => c.kind === source.kind && c.name === source.name)?.to ?? '';
  const tokens = verdict.halted ? verdict.failed.map((m) => m.token).join(',') : '';
  const once = verdict.halted ? `${sourceName} halted ${tokens}` : `${sourceName} ${to} wave ${verdict.wave}`;
  if (deps.waves.notices.hold(entry.key, once)) {
    deps.metrics.waveHolds.inc({ kind: entry.kind.kind, namespace: entry.namespace, reason: verdict.halted ? 'halted' : 'waiting' });
    if (verdict.halted) {
      // A SecretProviderClass's object is not read: its tokens go on its namespace.
      const resume =
        source.kind === 'SecretProviderClass'
          ? `kubectl annotate namespace ${source.namespace} ${Ours.wavesResume}=${tokens} --overwrite`
          : `kubectl annotate ${source.kind.toLowerCase()} ${source.name} -n ${source.namespace} ${Ours.wavesResume}=${tokens} --overwrite`;
      const message = `configstamp halted the remaining waves of ${sourceName}: ${said}. Fix the source (a new change starts again from the first wave), or continue: ${resume}`;
      log.warn(
        { source: sourceName, wave: verdict.wave, waves: verdict.waves, failed: verdict.failed.map((m) => m.key) },
        'waves halted: an earlier wave failed',
      );
      await deps.events.post(entry, 'Warning', EventReasons.wavesHalted, message, { once });
      // The source's Event once per halt from this process (its name makes it once across processes).
      if (deps.waves.notices.hold(`source:${source.kind}/${source.namespace}/${source.name}`, `halted ${tokens}`))
        await deps.events.postOn?.(
          {
            apiVersion: source.kind === 'SecretProviderClass' ? 'secrets-store.csi.x-k8s.io/v1' : 'v1',
            kind: source.kind,
            namespace: source.namespace,
            name: source.name,
          },
          'Warning',
          EventReasons.wavesHalted,
          `configstamp halted the remaining waves of this ${source.kind}'s change: ${verdict.failed.map((m) => `${m.key} ${m.progress === 'failed' ? 'failed' : 'did not complete in time'}`).join(', ')}. Fix it (a new change starts again from the first wave), or continue: ${resume}`,
          { once: `halted ${tokens}` },
        );
    } else {
      log.info({ source: sourceName, wave: verdict.wave, waves: verdict.waves }, 'rollout waiting for an earlier wave');
      await deps.events.post(
        entry,
        'Normal',
        EventReasons.waveWaiting,
        `configstamp holds this rollout: ${said}; it rolls when they have: ${describeChanges(decision.changes)}`,
        { once },
      );
    }
  }
  deps.metrics.waveHeld.set(deps.waves.gate.waitingCount);
  return { requeueAfterMs: verdict.halted ? WAVE_HALT_RECHECK_MS : WAVE_WAIT_RECHECK_MS };
}

function releaseWindow(deps: ReconcileDeps, key: string): void {
  if (deps.windows?.release(key) === true) deps.metrics.windowHeld.set(deps.windows.size);
}

/**
 * Whether a restart window holds this rollout now: the requeue (at the window's opening, at most an
 * hour away so edits and clock changes are seen), or undefined when it may go on. One Event per
 * hold; an unreadable policy holds too (fail closed), with a Warning saying what is wrong.
 */
async function windowHold(
  deps: ReconcileDeps,
  entry: WorkloadEntry,
  decision: Extract<ReconcileDecision, { action: 'rollout' }>,
  log: Logger,
): Promise<ReconcileResult | undefined> {
  const holds = deps.windows ?? NO_HOLDS;
  const now = deps.clock.now();
  const verdict = deps.cache.windowOf(entry, now, deps.policy.reloaderCompat);
  if (verdict.state === 'none' || verdict.state === 'open') {
    releaseWindow(deps, entry.key);
    return undefined;
  }
  const said = describeWindow(verdict);
  if (holds.hold(entry.key, said)) {
    deps.metrics.windowHolds.inc({ kind: entry.kind.kind, namespace: entry.namespace, reason: verdict.state });
    const changes = describeChanges(decision.changes);
    const message =
      verdict.state === 'invalid'
        ? `configstamp holds this rollout: its restart window (${verdict.where}) cannot be read: ${verdict.error}; fix or remove it and it rolls once, with the latest state: ${changes}`
        : `configstamp holds this rollout: ${said}; it rolls once, with the latest state, when the window opens: ${changes}`;
    if (verdict.state === 'invalid') {
      log.warn({ where: verdict.where, err: verdict.error }, 'rollout held: the restart window cannot be read');
      await deps.events.post(entry, 'Warning', EventReasons.windowInvalid, message, { once: said });
    } else {
      log.info(
        { where: verdict.where, ...(verdict.opensAt === undefined ? {} : { opensAt: new Date(verdict.opensAt).toISOString() }) },
        'rollout held for its restart window',
      );
      await deps.events.post(entry, 'Normal', EventReasons.windowHeld, message, { once: said });
    }
  }
  deps.metrics.windowHeld.set(holds.size);
  const untilOpen = verdict.state === 'closed' && verdict.opensAt !== undefined ? verdict.opensAt - now + WINDOW_MARGIN_MS : WINDOW_RECHECK_MS;
  return { requeueAfterMs: Math.min(Math.max(untilOpen, WINDOW_MARGIN_MS), WINDOW_RECHECK_MS) };
}

/** Whether the rollout budget applies to this workload's rollouts (its kind has a progress rule). */
function budgets(deps: ReconcileDeps, entry: WorkloadEntry): boolean {
  return deps.budget?.enabled === true && entry.kind.progress !== undefined;
}

/** Asks the budget for a slot: the requeue when refused, or undefined when the rollout may go on. */
async function budgetHold(
  deps: ReconcileDeps,
  entry: WorkloadEntry,
  decision: Extract<ReconcileDecision, { action: 'rollout' }>,
  log: Logger,
): Promise<ReconcileResult | undefined> {
  const budget = deps.budget!;
  const generation = asNumber(getPath(entry.object, ['metadata', 'generation'])) ?? 0;
  const admitted = budget.admit(entry.key, generation);
  if (admitted.allowed) return undefined;
  if (admitted.firstHold) {
    log.info({ inProgress: budget.inProgress, budget: budget.limit }, 'rollout waiting for the rollout budget');
    await deps.events.post(
      entry,
      'Normal',
      EventReasons.budgetHeld,
      `configstamp holds this rollout: ${budget.inProgress} workloads are rolling, the budget is ${budget.limit} (--rollout-budget); it rolls when its turn comes: ${describeChanges(decision.changes)}`,
    );
  }
  // Woken when a slot frees; the requeue is only a safety net.
  return { requeueAfterMs: 60_000 };
}
