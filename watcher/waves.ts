/**
 * The watcher's side of health-gated waves (shared/core/waves.ts): for a rollout of a workload
 * with a change of a source whose wave size is set, which wave it is in and whether the waves
 * before it have the change and completed. Every consumer's state is read from the cache (its
 * stamp against the source's current digests, its status), so nothing here must survive a
 * restart except how long a rollout has been under way (the timeout starts afresh on a new
 * leader; a Deployment's own progressDeadlineSeconds is on the object and carries over).
 *
 * Consumers wait without polling: when a consumer's status changes, the next wave waiting on its
 * source is reconciled again. Per consumer, whether it is up to date is memoised by its
 * resourceVersion and the source's; per source, the members are kept as a snapshot until a
 * consumer or the source changes, so the 1,000 reconciles of a change of 1,000 consumers read
 * one snapshot, not 1,000 × 1,000 states.
 */
import type { SourceChange } from '../shared/core/decide.js';
import { decideCached } from './decide-cached.js';
import type { SourceKind } from '../shared/core/kinds.js';
import type { PolicyOptions } from '../shared/core/policy.js';
import { WAVES_READING, rolloutProgress } from '../shared/core/progress.js';
import { resumeTokens, waveOrder, waveSettings, waveVerdict } from '../shared/core/waves.js';
import type { WaveMember, WaveSettings, WaveVerdict } from '../shared/core/waves.js';
import { asRecord, getPath } from '../shared/core/json.js';
import type { ClusterCache, WorkloadEntry } from './cache.js';
import type { Clock } from './clock.js';
import type { DigestCache } from './digest-cache.js';

export interface WavesDeps {
  readonly cache: ClusterCache;
  readonly digests: DigestCache;
  readonly policy: PolicyOptions;
  readonly rollOnDelete: boolean;
  readonly clock: Clock;
  /** The flags: --wave-size (0: none) and --wave-timeout. */
  readonly defaults: { readonly size: number; readonly timeoutMs: number };
  /** The tracked workloads consuming a source (the watcher's reverse index). */
  readonly consumers: (kind: SourceKind, namespace: string, name: string) => ReadonlySet<string>;
  /** Whether `key` consumes the source (as consumers().has(key), without building the set); absent: that. */
  readonly concerns?: (kind: SourceKind, namespace: string, name: string, key: string) => boolean;
  /** Reconcile these workloads again (their wave may go now). */
  readonly wake: (keys: readonly string[]) => void;
}

/** A rollout the waves hold: the source whose change it waits for, and why. */
export interface WaveHold {
  readonly source: { readonly kind: SourceKind; readonly namespace: string; readonly name: string };
  readonly settings: WaveSettings;
  readonly verdict: Exclude<WaveVerdict, { go: true }>;
}

const sourceId = (kind: string, namespace: string, name: string): string => `${kind}/${namespace}/${name}`;

export class Waves {
  /** Consumer → the generation whose rollout it was first seen under way with, and when. */
  private readonly underWay = new Map<string, { generation: number; since: number }>();
  /** `consumer@rv|source@rv` → whether the consumer reads the source, has it as it is, and its digest. */
  private readonly memo = new Map<string, { consumes: boolean; upToDate: boolean; digest: string }>();
  /** Source → the workloads waiting for its earlier waves, with the wave each is in and whether it is halted. */
  private readonly waiting = new Map<string, Map<string, { wave: number; halted: boolean }>>();
  /** Source → its members as last computed, valid while neither a consumer nor the source changed. */
  private readonly snapshots = new Map<string, { sourceRv: string; epoch: number; members: SnapshotMember[] }>();
  /** Source → bumped whenever one of its consumers changes. */
  private readonly epochs = new Map<string, number>();
  /** Every source the waves have gated, by id: what observe() looks through. */
  private readonly gated = new Map<string, WaveHold['source']>();

  constructor(private readonly deps: WavesDeps) {}

  /** The wave settings of a source (its annotations, its namespace's, the flags). */
  settingsOf(kind: SourceKind, namespace: string, name: string): WaveSettings {
    const source = this.deps.cache.source(kind, namespace, name);
    return waveSettings(source?.annotations ?? {}, this.deps.cache.namespaceTiming(namespace), this.deps.defaults);
  }

  /**
   * Whether the waves hold this rollout: for each changed source with waves, the consumer's wave
   * and the state of the waves before it. Undefined: it may roll.
   */
  async hold(entry: WorkloadEntry, changes: readonly SourceChange[]): Promise<WaveHold | undefined> {
    for (const change of [...changes].sort((a, b) => (a.kind + a.name < b.kind + b.name ? -1 : 1))) {
      const settings = this.settingsOf(change.kind, entry.namespace, change.name);
      const id = sourceId(change.kind, entry.namespace, change.name);
      if (settings.size <= 0) continue;
      if (!this.gated.has(id)) this.gated.set(id, { kind: change.kind, namespace: entry.namespace, name: change.name });
      const snapshot = (await this.snapshot(id, change.kind, entry.namespace, change.name)).filter((m) => m.consumes || m.key === entry.key);
      if (snapshot.length <= settings.size) continue;
      const now = this.deps.clock.now();
      const members: WaveMember[] = snapshot.map((m) =>
        m.key === entry.key
          ? { ...m, upToDate: false, timedOut: false }
          : { ...m, timedOut: settings.timeoutMs > 0 && m.underWaySince !== undefined && now - m.underWaySince >= settings.timeoutMs },
      );
      // Resume tokens on the source, or (for a source whose object is not read: a SecretProviderClass) its namespace.
      const accepted = new Set([
        ...resumeTokens(this.deps.cache.source(change.kind, entry.namespace, change.name)?.annotations),
        ...resumeTokens(this.deps.cache.namespaceTiming(entry.namespace)),
      ]);
      const verdict = waveVerdict(members, entry.key, settings.size, accepted);
      let waiting = this.waiting.get(id);
      if (verdict.go) {
        waiting?.delete(entry.key);
        continue;
      }
      if (waiting === undefined) this.waiting.set(id, (waiting = new Map()));
      waiting.set(entry.key, { wave: verdict.wave, halted: verdict.halted });
      // A halt holds every later wave too: tell those still waiting now, not at their next re-check.
      if (verdict.halted) {
        const later = [...waiting].filter(([k, w]) => k !== entry.key && !w.halted && w.wave > verdict.wave).map(([k]) => k);
        if (later.length > 0) this.deps.wake(later);
      }
      return { source: { kind: change.kind, namespace: entry.namespace, name: change.name }, settings, verdict };
    }
    return undefined;
  }

  /** Every consumer of a source as the waves see it, recomputed only when a consumer or the source changed. */
  private async snapshot(id: string, kind: SourceKind, namespace: string, name: string): Promise<SnapshotMember[]> {
    const sourceRv = this.deps.cache.source(kind, namespace, name)?.resourceVersion ?? '';
    const epoch = this.epochs.get(id) ?? 0;
    const kept = this.snapshots.get(id);
    if (kept !== undefined && kept.sourceRv === sourceRv && kept.epoch === epoch) return kept.members;
    const members: SnapshotMember[] = [];
    for (const key of this.deps.consumers(kind, namespace, name)) {
      const member = await this.member(key, kind, name, sourceRv);
      if (member !== undefined) members.push(member);
    }
    if (this.snapshots.size > 10_000) this.snapshots.clear();
    this.snapshots.set(id, { sourceRv, epoch, members });
    return members;
  }

  /** A consumer as the waves see it, from the cache. */
  private async member(key: string, kind: SourceKind, name: string, sourceRv: string): Promise<SnapshotMember | undefined> {
    const w = this.deps.cache.workload(key);
    if (w === undefined) return undefined;
    const rv = String(getPath(w.object, ['metadata', 'resourceVersion']) ?? '');
    const memoKey = `${key}@${rv}|${kind}/${name}@${sourceRv}`;
    let state = this.memo.get(memoKey);
    if (state === undefined) {
      state = await this.evaluate(w, kind, name);
      if (this.memo.size > 50_000) this.memo.clear();
      this.memo.set(memoKey, state);
    }
    // Stricter than the budget's reading: a paused Deployment, a canary between steps, has not run the change.
    const progress = rolloutProgress(w.kind, w.object, WAVES_READING);
    // The timeout runs per rollout (the generation), so a fix's rollout starts a fresh clock.
    const generation = Number(getPath(w.object, ['metadata', 'generation']) ?? 0);
    let underWaySince: number | undefined;
    if (state.upToDate && (progress === 'progressing' || progress === 'unavailable') && !isPaused(w)) {
      const prev = this.underWay.get(key);
      underWaySince = prev !== undefined && prev.generation === generation ? prev.since : this.deps.clock.now();
      this.underWay.set(key, { generation, since: underWaySince });
    } else {
      this.underWay.delete(key);
    }
    const annotations = asRecord(getPath(w.object, ['metadata', 'annotations']));
    return {
      key,
      order: waveOrder(annotations),
      consumes: state.consumes,
      upToDate: state.upToDate,
      progress,
      timedOut: false,
      underWaySince,
      token: `${w.kind.kind}/${w.name}@${state.digest.slice(0, 8)}`,
    };
  }

  /** Whether a consumer reads the source, and has it as it is now: its own decision names no change of it. */
  private async evaluate(w: WorkloadEntry, kind: SourceKind, name: string): Promise<{ consumes: boolean; upToDate: boolean; digest: string }> {
    const { cache, digests, policy } = this.deps;
    const ev = await decideCached(cache, digests, policy, w, { rollOnDelete: this.deps.rollOnDelete, now: new Date(this.deps.clock.now()).toISOString() });
    const entry = ev.stamp.find((e) => e.kind === kind && e.name === name);
    const d = ev.decision;
    const changed = (d.action === 'rollout' || d.action === 'notify') && d.changes.some((c) => c.kind === kind && c.name === name);
    return { consumes: entry !== undefined, upToDate: !changed, digest: entry?.digest ?? '' };
  }

  /**
   * A workload's status or spec changed: the snapshots of the sources it consumes are stale, and
   * the next wave waiting on them is reconciled again (only the lowest waiting wave can go next,
   * so a status event costs that wave, not every waiting workload).
   */
  observe(key: string): void {
    if (this.gated.size === 0) return;
    const concerns = this.deps.concerns ?? ((k, n, s, w) => this.deps.consumers(k, n, s).has(w));
    const wake = new Set<string>();
    for (const [id, source] of this.gated) {
      if (!concerns(source.kind, source.namespace, source.name, key)) continue;
      this.epochs.set(id, (this.epochs.get(id) ?? 0) + 1);
      const keys = this.waiting.get(id);
      if (keys === undefined) continue;
      if (keys.size === 0) {
        this.waiting.delete(id);
        continue;
      }
      const next = Math.min(...[...keys.values()].map((w) => w.wave));
      for (const [k, w] of keys) if (w.wave === next && k !== key) wake.add(k);
    }
    if (wake.size > 0) this.deps.wake([...wake]);
  }

  /** A reconcile of `key` found nothing for the waves to hold (or it is gone): it waits on nothing. */
  release(key: string): void {
    for (const keys of this.waiting.values()) keys.delete(key);
  }

  forget(key: string): void {
    this.release(key);
    this.underWay.delete(key);
    this.observe(key);
  }

  /** How many workloads wait for earlier waves now (the gauge), each counted once. */
  get waitingCount(): number {
    const keys = new Set<string>();
    for (const waiting of this.waiting.values()) for (const k of waiting.keys()) keys.add(k);
    return keys.size;
  }
}

interface SnapshotMember extends WaveMember {
  /** Whether it reads the source at all (a name-pattern watcher may not). */
  readonly consumes: boolean;
  /** When its rollout with the change was first seen under way (for the timeout at verdict time). */
  readonly underWaySince: number | undefined;
}

function isPaused(w: WorkloadEntry): boolean {
  return w.kind.pausePath !== undefined && getPath(w.object, [...w.kind.pausePath]) === true;
}
