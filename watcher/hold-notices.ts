/**
 * What a hold has said, per workload, so each hold gets one Event, not one per change or per
 * re-check: a new Event only when what the hold says changes (a restart window's next opening
 * moved, a wave moved on). Kept in memory: the hold itself is durable without it (the drift stays
 * on the workload), and Events said once are also named so a new leader's are refused
 * (event-recorder.ts). One instance for restart windows, one for waves.
 */
export class HoldNotices {
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
