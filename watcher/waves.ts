/**
 * The watcher's side of health-gated waves (shared/core/waves.ts): for a rollout of a workload
 * with a change of a source whose wave size is set, which wave it is in and whether the waves
 * before it have the change and completed. Every consumer's state is read from the cache (its
 * stamp against the source's current digests, its status), so nothing here must survive a
 * restart except how long a rollout has been under way (the timeout starts afresh on a new
 * leader; a Deployment's own progressDeadlineSeconds is on the object and carries over).
 *
 * Consumers wait without polling: when a consumer's status changes, the workloads waiting on its
 * source are reconciled again. Per consumer, whether it is up to date is memoised by its
 * resourceVersion and the source's, so a wave of 1,000 costs map lookups, not evaluations.
 */
import type { SourceChange } from '../shared/core/decide.js';
import { decideWorkload } from '../shared/core/evaluate.js';
import type { SourceKind } from '../shared/core/kinds.js';
import type { PolicyOptions } from '../shared/core/policy.js';
import { rolloutProgress } from '../shared/core/progress.js';
import { resumeTokens, waveOrder, waveSettings, waveVerdict } from '../shared/core/waves.js';
import type { WaveMember, WaveSettings, WaveVerdict } from '../shared/core/waves.js';
import { asRecord, getPath } from '../shared/core/json.js';
import type { ClusterCache, WorkloadEntry } from './cache.js';
import type { Clock } from './clock.js';
import type { DigestCache, VersionLookup } from './digest-cache.js';

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
  /** Consumer → when it was first seen with the change but not complete (for the timeout). */
  private readonly underWay = new Map<string, number>();
  /** `consumer@rv|source@rv` → whether the consumer has the source as it is, and its token digest. */
  private readonly memo = new Map<string, { upToDate: boolean; digest: string }>();
  /** Source → the workloads waiting for its earlier waves, with the wave each is in and whether it is halted. */
  private readonly waiting = new Map<string, Map<string, { wave: number; halted: boolean }>>();

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
      const keys = [...this.deps.consumers(change.kind, entry.namespace, change.name)];
      if (keys.length <= settings.size) continue;
      const members: WaveMember[] = [];
      for (const key of keys) {
        const member = key === entry.key ? this.selfMember(entry) : await this.member(key, change.kind, change.name, settings.timeoutMs);
        if (member !== undefined) members.push(member);
      }
      const accepted = resumeTokens(this.deps.cache.source(change.kind, entry.namespace, change.name)?.annotations);
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

  private selfMember(entry: WorkloadEntry): WaveMember {
    const annotations = asRecord(getPath(entry.object, ['metadata', 'annotations']));
    return { key: entry.key, order: waveOrder(annotations), upToDate: false, progress: undefined, timedOut: false, token: '' };
  }

  /** A consumer as the waves see it, from the cache. */
  private async member(key: string, kind: SourceKind, name: string, timeoutMs: number): Promise<WaveMember | undefined> {
    const w = this.deps.cache.workload(key);
    if (w === undefined) return undefined;
    const rv = String(getPath(w.object, ['metadata', 'resourceVersion']) ?? '');
    const sourceRv = this.deps.cache.source(kind, w.namespace, name)?.resourceVersion ?? '';
    const memoKey = `${key}@${rv}|${kind}/${name}@${sourceRv}`;
    let state = this.memo.get(memoKey);
    if (state === undefined) {
      state = await this.evaluate(w, kind, name);
      if (this.memo.size > 50_000) this.memo.clear();
      this.memo.set(memoKey, state);
    }
    const progress = rolloutProgress(w.kind, w.object);
    const now = this.deps.clock.now();
    let timedOut = false;
    if (state.upToDate && (progress === 'progressing' || progress === 'unavailable')) {
      const since = this.underWay.get(key) ?? now;
      this.underWay.set(key, since);
      timedOut = timeoutMs > 0 && now - since >= timeoutMs;
    } else {
      this.underWay.delete(key);
    }
    const annotations = asRecord(getPath(w.object, ['metadata', 'annotations']));
    return { key, order: waveOrder(annotations), upToDate: state.upToDate, progress, timedOut, token: `${w.kind.kind}/${w.name}@${state.digest.slice(0, 8)}` };
  }

  /** Whether a consumer's template has the source as it is now: its own decision names no change of it. */
  private async evaluate(w: WorkloadEntry, kind: SourceKind, name: string): Promise<{ upToDate: boolean; digest: string }> {
    const { cache, digests, policy } = this.deps;
    const versions: VersionLookup = (k, n, s) => cache.source(k, n, s)?.resourceVersion;
    const ev = await decideWorkload(
      { kind: w.kind, object: cache.evaluated(w.kind, w.namespace, w.object, policy.workloadKinds), namespace: cache.namespaceView(w.namespace), policy },
      digests.port(w.namespace, cache.catalog(w.namespace), versions),
      { rollOnDelete: this.deps.rollOnDelete, now: new Date(this.deps.clock.now()).toISOString() },
    );
    const digest = ev.stamp.find((e) => e.kind === kind && e.name === name)?.digest ?? '';
    const d = ev.decision;
    const changed = (d.action === 'rollout' || d.action === 'notify') && d.changes.some((c) => c.kind === kind && c.name === name);
    return { upToDate: !changed, digest };
  }

  /**
   * A workload's status or spec changed: reconcile again the next wave waiting on a source it
   * consumes (only the lowest waiting wave can go next, so a status event costs that wave, not
   * every waiting workload).
   */
  observe(key: string): void {
    if (this.waiting.size === 0) return;
    const wake = new Set<string>();
    for (const [id, keys] of this.waiting) {
      if (keys.size === 0) {
        this.waiting.delete(id);
        continue;
      }
      const [kind, namespace, ...rest] = id.split('/');
      if (!this.deps.consumers(kind as SourceKind, namespace!, rest.join('/')).has(key)) continue;
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
  }

  /** How many workloads wait for earlier waves now (the gauge). */
  get waitingCount(): number {
    let n = 0;
    for (const keys of this.waiting.values()) n += keys.size;
    return n;
  }
}
