/**
 * The cluster-wide rollout budget (--rollout-budget): at most N tracked workloads rolling at once,
 * counted by the rollout status their controllers report (shared/core/progress.ts), not by patches
 * sent. A workload takes a slot when configstamp is about to roll it and gives it back once its
 * status shows that rollout complete (or failed: a stuck rollout must not hold the cluster's
 * budget forever); a tracked workload seen rolling for any other reason (a boot mid-rollout, a
 * user's own rollout) holds a slot until it completes too. Workloads over budget wait in the
 * order they first asked, and are woken, oldest first, as slots free. Level-based: a held
 * workload's drift stays on it, so nothing is lost when the watcher restarts.
 */
import type { Progress } from '../shared/core/progress.js';

interface Slot {
  /** The workload's generation when the slot was taken: only a later one's completion frees it. */
  readonly generation: number;
}

export class RolloutBudget {
  private readonly slots = new Map<string, Slot>();
  private readonly waiting: string[] = [];
  private readonly waitingSet = new Set<string>();

  constructor(
    readonly limit: number,
    /** Called with waiting workloads to reconcile now, oldest first, when slots free. */
    private readonly onWake: (keys: readonly string[]) => void = () => undefined,
  ) {}

  get enabled(): boolean {
    return this.limit > 0;
  }

  get inProgress(): number {
    return this.slots.size;
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  /**
   * May `key` (at `generation`) roll now? It may when it holds a slot, or a slot is free and no
   * workload that asked earlier is still waiting for it; else it waits its turn (`firstHold`: the
   * first time it waits).
   */
  admit(key: string, generation: number): { allowed: true } | { allowed: false; firstHold: boolean } {
    if (!this.enabled || this.slots.has(key)) return { allowed: true };
    const free = this.limit - this.slots.size;
    const position = this.waiting.indexOf(key);
    if (free > 0 && (position >= 0 ? position : this.waiting.length) < free) {
      this.slots.set(key, { generation });
      this.unwait(key);
      return { allowed: true };
    }
    const firstHold = position < 0;
    if (firstHold) {
      this.waiting.push(key);
      this.waitingSet.add(key);
    }
    return { allowed: false, firstHold };
  }

  /** The roll did not happen (the patch failed): give the slot back. */
  release(key: string): void {
    if (this.slots.delete(key)) this.wake();
  }

  /**
   * What the informer shows of a tracked workload: a slot taken for an earlier generation is
   * freed once a later one is complete (or failed); a workload rolling on its own takes one.
   */
  observe(key: string, generation: number | undefined, progress: Progress | undefined): void {
    if (!this.enabled || progress === undefined) return;
    const slot = this.slots.get(key);
    if (progress === 'progressing') {
      if (slot === undefined) this.slots.set(key, { generation: (generation ?? 1) - 1 });
      return;
    }
    if (slot !== undefined && (generation === undefined || generation > slot.generation)) {
      this.slots.delete(key);
      this.wake();
    }
  }

  /** The workload is gone (deleted, or no longer tracked). */
  forget(key: string): void {
    this.unwait(key);
    if (this.slots.delete(key)) this.wake();
  }

  private unwait(key: string): void {
    if (!this.waitingSet.delete(key)) return;
    const i = this.waiting.indexOf(key);
    if (i >= 0) this.waiting.splice(i, 1);
  }

  /** Wakes the oldest waiting workloads, as many as there are free slots (they take them when admitted). */
  private wake(): void {
    const keys = this.waiting.slice(0, Math.max(0, this.limit - this.slots.size));
    if (keys.length > 0) this.onWake(keys);
  }
}
