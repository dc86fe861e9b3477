/**
 * The workloads a restart window holds (shared/core/window.ts), so each gets one Event per hold,
 * not one per change or per re-check: a new Event only when what the hold says changes (the next
 * opening moved, the policy was edited). Kept in memory: the hold itself is durable without it
 * (the drift stays on the workload until the window opens), so a new leader says it once more.
 */
export class WindowHolds {
  private readonly held = new Map<string, string>();

  /** Records that `key` is held, saying `said`; true when that is news (post an Event). */
  hold(key: string, said: string): boolean {
    if (this.held.get(key) === said) return false;
    this.held.set(key, said);
    return true;
  }

  /** `key` is not held any more (its window opened, it has nothing to roll, it is gone); true when it was. */
  release(key: string): boolean {
    return this.held.delete(key);
  }

  /** How many workloads are held now (the gauge). */
  get size(): number {
    return this.held.size;
  }
}
