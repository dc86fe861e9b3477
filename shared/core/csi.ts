/**
 * The state of a pod-status source kind (a Secrets Store CSI SecretProviderClass), folded from
 * the status objects the driver writes: one SecretProviderClassPodStatus per pod and class, named
 * `<pod>-<namespace>-<class>`, whose `status.objects` lists the id and version of every secret
 * the provider mounted. A class's state is the version set some pod reports; its digest is taken
 * over that set written as `data` (id → version), keyed like every other digest.
 *
 * Pods disagree while the driver rotates them one by one, and pods come and go, so the fold says
 * what is a change and what is not:
 * - a status object whose version set changed (a rotation, a remount) sets the class's state;
 * - so does a new one reporting a set the state does not hold (mounted after the provider changed);
 * - a new one reporting the set the state holds changes nothing (the pods a rollout creates), and
 *   one rotation reported by several pods is one change;
 * - a deleted status object changes nothing, unless it was the class's last (the state is then
 *   unknown: nothing to roll to);
 * - a list (boot, relist) keeps the state when some listed object still reports it, else takes
 *   the set written last (managedFields' times), so a rotation missed while down is found.
 * Everything read here is untrusted input: malformed entries are dropped, sizes are bounded.
 */
import { asArray, asRecord, asString, getPath } from './json.js';
import { isSourceName } from './references.js';

/** What one status object reports, as kept (never its target path or pod UID). */
export interface PodStatusReport {
  readonly namespace: string;
  /** The status object's own name. */
  readonly name: string;
  /** The source (SecretProviderClass) it reports for. */
  readonly source: string;
  /** Object id → version, as mounted. */
  readonly versions: Readonly<Record<string, string>>;
  /** The version set in one canonical string: equal sets, equal fingerprints. */
  readonly fingerprint: string;
  /** When it was last written (ms since the epoch; 0 when unknown), for a list's fold. */
  readonly writtenAt: number;
}

/** A status object that reports nothing usable (unmounted, malformed), by its identity alone. */
export interface PodStatusIdentity {
  readonly namespace: string;
  readonly name: string;
}

const MAX_OBJECTS = 1_000;
const MAX_FIELD = 1_024;

function writtenAt(object: unknown): number {
  let latest = Date.parse(asString(getPath(object, ['metadata', 'creationTimestamp'])) ?? '');
  if (Number.isNaN(latest)) latest = 0;
  for (const entry of asArray(getPath(object, ['metadata', 'managedFields']))) {
    const t = Date.parse(asString(asRecord(entry)?.time) ?? '');
    if (!Number.isNaN(t) && t > latest) latest = t;
  }
  return latest;
}

/**
 * Reads one status object: its report, or its bare identity when it reports nothing usable (not
 * mounted, no valid class name, too many objects), or undefined when it has no identity at all.
 */
export function readPodStatus(object: unknown): PodStatusReport | PodStatusIdentity | undefined {
  const namespace = asString(getPath(object, ['metadata', 'namespace']));
  const name = asString(getPath(object, ['metadata', 'name']));
  if (namespace === undefined || name === undefined || namespace === '' || name === '') return undefined;
  const identity = { namespace, name };
  const status = asRecord(getPath(object, ['status']));
  const source = asString(status?.secretProviderClassName);
  if (status?.mounted !== true || source === undefined || !isSourceName(source)) return identity;
  const objects = asArray(status.objects);
  if (objects.length > MAX_OBJECTS) return identity;
  const versions: Record<string, string> = {};
  for (const entry of objects) {
    const id = asString(asRecord(entry)?.id);
    const version = asString(asRecord(entry)?.version) ?? '';
    if (id === undefined || id === '' || id.length > MAX_FIELD || version.length > MAX_FIELD) continue;
    versions[id] = version;
  }
  return { namespace, name, source, versions, fingerprint: fingerprintOf(versions), writtenAt: writtenAt(object) };
}

export function isReport(read: PodStatusReport | PodStatusIdentity | undefined): read is PodStatusReport {
  return read !== undefined && 'source' in read;
}

function fingerprintOf(versions: Readonly<Record<string, string>>): string {
  return JSON.stringify(
    Object.keys(versions)
      .sort()
      .map((id) => [id, versions[id]]),
  );
}

/** Of several reports, the one written last (ties: the greater fingerprint, so every reader picks alike). */
export function latestReport(reports: Iterable<PodStatusReport>): PodStatusReport | undefined {
  let best: PodStatusReport | undefined;
  for (const r of reports) {
    if (best === undefined || r.writtenAt > best.writtenAt || (r.writtenAt === best.writtenAt && r.fingerprint > best.fingerprint)) best = r;
  }
  return best;
}

/** A folded state as the digest reads it: the version set as `data`. */
export function stateObject(versions: Readonly<Record<string, string>>, resourceVersion: string): unknown {
  return { metadata: { resourceVersion }, data: versions };
}

/**
 * The fold of one namespace's listed status objects, by source, with no history (the webhook's
 * fresh read at admission): each source's latest report.
 */
export function foldListed(reports: Iterable<PodStatusReport>): Map<string, PodStatusReport> {
  const bySource = new Map<string, PodStatusReport[]>();
  for (const r of reports) {
    const list = bySource.get(r.source);
    if (list === undefined) bySource.set(r.source, [r]);
    else list.push(r);
  }
  const out = new Map<string, PodStatusReport>();
  for (const [source, list] of bySource) out.set(source, latestReport(list)!);
  return out;
}

/** A source's folded state. */
export interface FoldedState {
  readonly versions: Readonly<Record<string, string>>;
  readonly fingerprint: string;
  /** Bumped on every change of state: the version the digest cache keys on. */
  readonly revision: string;
}

/** A source whose state changed (or became unknown), to be re-evaluated by its consumers. */
export interface FoldChange {
  readonly namespace: string;
  readonly source: string;
}

const key = (namespace: string, name: string): string => `${namespace}/${name}`;

/** The watcher's fold of every status object it watches, kept between events. */
export class PodStatusFold {
  /** Status object → what it last reported. */
  private readonly objects = new Map<string, { source: string; fingerprint: string }>();
  /** Source → its state and how many status objects report for it. */
  private readonly sources = new Map<string, FoldedState & { reporters: number }>();
  private revisions = 0;

  /** The state of a source, or undefined while no pod reports it. */
  state(namespace: string, source: string): FoldedState | undefined {
    return this.sources.get(key(namespace, source));
  }

  /** How many status objects are kept (metrics, tests). */
  get size(): number {
    return this.objects.size;
  }

  private setState(namespace: string, report: PodStatusReport, reporters: number): void {
    this.sources.set(key(namespace, report.source), {
      versions: report.versions,
      fingerprint: report.fingerprint,
      revision: String(++this.revisions),
      reporters,
    });
  }

  private drop(namespace: string, name: string, changes: FoldChange[]): void {
    const k = key(namespace, name);
    const prev = this.objects.get(k);
    if (prev === undefined) return;
    this.objects.delete(k);
    const sk = key(namespace, prev.source);
    const state = this.sources.get(sk);
    if (state === undefined) return;
    if (state.reporters <= 1) {
      this.sources.delete(sk);
      changes.push({ namespace, source: prev.source });
    } else {
      this.sources.set(sk, { ...state, reporters: state.reporters - 1 });
    }
  }

  /** A status object was added or modified; returns the sources whose state changed. */
  upsert(read: PodStatusReport | PodStatusIdentity): FoldChange[] {
    const changes: FoldChange[] = [];
    const k = key(read.namespace, read.name);
    const prev = this.objects.get(k);
    if (!isReport(read)) {
      this.drop(read.namespace, read.name, changes);
      return changes;
    }
    if (prev !== undefined && prev.source === read.source && prev.fingerprint === read.fingerprint) return changes;
    if (prev !== undefined) this.drop(read.namespace, read.name, changes);
    this.objects.set(k, { source: read.source, fingerprint: read.fingerprint });
    const sk = key(read.namespace, read.source);
    const state = this.sources.get(sk);
    if (state === undefined) {
      this.setState(read.namespace, read, 1);
      changes.push({ namespace: read.namespace, source: read.source });
    } else if (state.fingerprint !== read.fingerprint) {
      this.setState(read.namespace, read, state.reporters + 1);
      changes.push({ namespace: read.namespace, source: read.source });
    } else {
      this.sources.set(sk, { ...state, reporters: state.reporters + 1 });
    }
    // A report that moved its object's last state away and set a new one is one change.
    return changes.filter((c, i) => changes.findIndex((d) => d.namespace === c.namespace && d.source === c.source) === i);
  }

  /** A status object was deleted; returns the sources whose state changed. */
  remove(identity: PodStatusIdentity): FoldChange[] {
    const changes: FoldChange[] = [];
    this.drop(identity.namespace, identity.name, changes);
    return changes;
  }

  /**
   * A list of every status object (in `namespace` alone, for a scoped install; all when
   * undefined): a state some listed object still reports is kept; otherwise the latest report's
   * set is taken. Returns the sources whose state changed.
   */
  replace(reads: readonly (PodStatusReport | PodStatusIdentity)[], namespace?: string): FoldChange[] {
    const inScope = (ns: string): boolean => namespace === undefined || ns === namespace;
    const before = new Map<string, FoldedState>();
    for (const [k, state] of this.sources) if (inScope(k.slice(0, k.indexOf('/')))) before.set(k, state);
    for (const k of [...this.objects.keys()]) if (inScope(k.slice(0, k.indexOf('/')))) this.objects.delete(k);
    for (const k of before.keys()) this.sources.delete(k);
    const bySource = new Map<string, PodStatusReport[]>();
    for (const read of reads) {
      if (!isReport(read) || !inScope(read.namespace)) continue;
      this.objects.set(key(read.namespace, read.name), { source: read.source, fingerprint: read.fingerprint });
      const sk = key(read.namespace, read.source);
      const list = bySource.get(sk);
      if (list === undefined) bySource.set(sk, [read]);
      else list.push(read);
    }
    const changes: FoldChange[] = [];
    for (const [sk, reports] of bySource) {
      const prev = before.get(sk);
      const namespace = reports[0]!.namespace;
      if (prev !== undefined && reports.some((r) => r.fingerprint === prev.fingerprint)) {
        this.sources.set(sk, { ...prev, reporters: reports.length });
      } else {
        this.setState(namespace, latestReport(reports)!, reports.length);
        changes.push({ namespace, source: reports[0]!.source });
      }
    }
    for (const sk of before.keys()) {
      if (!bySource.has(sk)) changes.push({ namespace: sk.slice(0, sk.indexOf('/')), source: sk.slice(sk.indexOf('/') + 1) });
    }
    return changes;
  }

  /** The sources of a namespace some pod reports (for name patterns). */
  *names(namespace: string): Iterable<string> {
    const prefix = `${namespace}/`;
    for (const k of this.sources.keys()) if (k.startsWith(prefix)) yield k.slice(prefix.length);
  }
}
