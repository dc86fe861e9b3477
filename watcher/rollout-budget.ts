/**
 * The cluster-wide rollout budget (--rollout-budget): at most N tracked workloads rolling at once,
 * counted by the rollout status their controllers report (shared/core/progress.ts), not by patches
 * sent. A workload takes a slot when configstamp is about to roll it and gives it back once a
 * later generation is complete or failed, or when the slot is older than the timeout (a rollout
 * stuck with no failure condition, as a StatefulSet's can be, must not hold the budget for ever);
 * a tracked workload seen rolling for another reason (a boot mid-rollout, a user's own restart)
 * holds a slot until it completes too. Workloads over budget wait in the order they first asked,
 * and are woken, oldest first, as slots free; one whose reconcile then needs no rollout leaves the
 * line (settle). Level-based: a held workload's drift stays on it, so nothing is lost when the
 * watcher restarts.
 */
import type { Progress } from '../shared/core/progress.js';

interface Slot {
  /** The workload's generation when the slot was taken: only a later one's completion frees it. */
  readonly generation: number;
  /** When it was taken (ms), for the timeout. */
  readonly since: number;
}

export interface BudgetHooks {
  /** Waiting workloads to reconcile now, oldest first, when slots free. */
  readonly wake?: (keys: readonly string[]) => void;
  /** The counts changed (for the gauges). */
  readonly count?: (inProgress: number, waiting: number) => void;
  /** A slot older than this is freed as failed (ms; 0: never). */
  readonly timeoutMs?: number;
  readonly now?: () => number;
}

export class RolloutBudget {
  private readonly slots = new Map<string, Slot>();
  private readonly waiting: string[] = [];
  private readonly waitingSet = new Set<string>();
  /** Keys refused in the reconcile under way: settle() leaves them in line. */
  private readonly heldNow = new Set<string>();
  private readonly now: () => number;

  constructor(
    readonly limit: number,
    private readonly hooks: BudgetHooks = {},
  ) {
    this.now = hooks.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.limit > 0;
  }

  get inProgress(): number {
    return this.slots.size;
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  /** Slots held past the timeout are freed (their rollout counts as failed). */
  private expire(): void {
    const timeout = this.hooks.timeoutMs ?? 0;
    if (timeout <= 0) return;
    const cutoff = this.now() - timeout;
    for (const [key, slot] of this.slots) if (slot.since < cutoff) this.slots.delete(key);
  }

  /** Would `key` be admitted now (nothing is taken)? For skipping work that could not roll anyway. */
  wouldAdmit(key: string): boolean {
    if (!this.enabled || this.slots.has(key)) return true;
    this.expire();
    const free = this.limit - this.slots.size;
    const position = this.waiting.indexOf(key);
    return free > 0 && (position >= 0 ? position : this.waiting.length) < free;
  }

  /**
   * May `key` (at `generation`) roll now? It may when it holds a slot, or a slot is free and no
   * workload that asked earlier is still waiting for it; else it waits its turn (`firstHold`: the
   * first time it waits).
   */
  admit(key: string, generation: number): { allowed: true } | { allowed: false; firstHold: boolean } {
    if (!this.enabled) return { allowed: true };
    if (this.wouldAdmit(key)) {
      // Held already (rolling on its own): the slot now waits for this rollout's generation.
      this.slots.set(key, { generation, since: this.now() });
      this.unwait(key);
      this.counted();
      return { allowed: true };
    }
    const firstHold = !this.waitingSet.has(key);
    if (firstHold) {
      this.waiting.push(key);
      this.waitingSet.add(key);
      this.counted();
    }
    this.heldNow.add(key);
    return { allowed: false, firstHold };
  }

  /**
   * A reconcile of `key` ended: unless the budget refused it just now, it needs no slot (nothing
   * to roll after all, or it rolled), so it leaves the line and the next in line is woken.
   */
  settle(key: string): void {
    if (this.heldNow.delete(key) || !this.waitingSet.has(key)) return;
    this.unwait(key);
    this.counted();
    this.wake();
  }

  /** The roll did not happen (the patch failed): give the slot back. */
  release(key: string): void {
    if (!this.slots.delete(key)) return;
    this.counted();
    this.wake();
  }

  /**
   * What the informer shows of a tracked workload: a slot taken for an earlier generation is
   * freed once a later one is complete or failed; a workload rolling on its own takes one.
   */
  observe(key: string, generation: number | undefined, progress: Progress | undefined): void {
    if (!this.enabled || progress === undefined) return;
    const slot = this.slots.get(key);
    if (progress === 'progressing') {
      if (slot === undefined) {
        this.slots.set(key, { generation: (generation ?? 1) - 1, since: this.now() });
        this.unwait(key);
        this.counted();
      }
      return;
    }
    if (slot !== undefined && (progress === 'complete' || progress === 'failed') && (generation === undefined || generation > slot.generation)) {
      this.slots.delete(key);
      this.counted();
      this.wake();
    }
  }

  /** The workload is gone (deleted, or no longer tracked). */
  forget(key: string): void {
    const waited = this.waitingSet.has(key);
    this.unwait(key);
    this.heldNow.delete(key);
    if (this.slots.delete(key) || waited) {
      this.counted();
      this.wake();
    }
  }

  private unwait(key: string): void {
    if (!this.waitingSet.delete(key)) return;
    const i = this.waiting.indexOf(key);
    if (i >= 0) this.waiting.splice(i, 1);
  }

  private counted(): void {
    this.hooks.count?.(this.slots.size, this.waiting.length);
  }

  /** Wakes the oldest waiting workloads, as many as there are free slots (they take them when admitted). */
  private wake(): void {
    this.expire();
    const keys = this.waiting.slice(0, Math.max(0, this.limit - this.slots.size));
    if (keys.length > 0) this.hooks.wake?.(keys);
  }
}
