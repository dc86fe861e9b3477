/**
 * `configstamp plan`: what the watcher would do right now, and why, writing nothing. Lists
 * namespaces, source metadata, the CSI driver's status objects and workloads, reads the tracked
 * sources (GET, digests only) and
 * runs each workload through the same evaluation as the watcher's reconcile. Prints a table, or
 * JSON with --output json. The hash key is only read: plan never creates it.
 */
import { PodStatusFold, stateObject } from '../shared/core/csi.js';
import { timingAnnotations } from '../shared/core/timing.js';
import { describeWindow } from '../shared/core/window.js';
import { describeWaves } from '../shared/core/waves.js';
import { rolloutProgress } from '../shared/core/progress.js';
import type { ReconcileDecision } from '../shared/core/decide.js';
import { Waves } from './waves.js';
import { systemClock } from './clock.js';
import type { WorkloadEntry } from './cache.js';
import { OBJECT_SOURCE_KINDS, POD_STATUS_SOURCE_KINDS } from '../shared/core/kinds.js';
import type { SourceKind } from '../shared/core/kinds.js';
import { CONNECTION_FLAGS, POLICY_FLAGS, policyFromFlags } from '../shared/config/shared-flags.js';
import { formatHelp, parseFlags } from '../shared/config/flags.js';
import type { FlagSpec } from '../shared/config/flags.js';
import { METADATA_LIST_ACCEPT, KubeApiError, listPages } from '../shared/kube/client.js';
import type { KubeApi, ListPage } from '../shared/kube/client.js';
import { connect } from '../shared/kube/connect.js';
import { readHashKey } from '../shared/kube/hashkey.js';
import { namespacePath, sourceFieldSelector, sourcePath, workloadPath } from '../shared/kube/paths.js';
import { fetchSources, listPodStatusReports } from '../shared/kube/sources.js';
import { ClusterCache, metaOf, sourceEntryOf, workloadKey } from './cache.js';
import { DigestCache, foldedSourceFetcher } from './digest-cache.js';
import { decideCached } from './decide-cached.js';
import { describeChanges } from './event-recorder.js';
import { rolloutReason } from './reconcile.js';

export const PLAN_FLAGS = [
  ...CONNECTION_FLAGS,
  ...POLICY_FLAGS,
  { name: 'roll-on-delete', type: 'bool', default: false, help: 'Plan as a watcher started with --roll-on-delete would act.' },
  {
    name: 'rollout-budget',
    type: 'int',
    default: 0,
    min: 0,
    help: 'Plan as a watcher started with --rollout-budget would act: rollouts beyond the free slots (tracked workloads rolling now, by status) are shown waiting.',
  },
  {
    name: 'wave-size',
    type: 'int',
    default: 0,
    min: 0,
    help: "Plan as a watcher started with --wave-size would act (a source's or namespace's configstamp.io/wave-size applies either way).",
  },
  { name: 'output', type: 'enum', default: 'table', choices: ['table', 'json'], help: 'Output format.' },
  { name: 'all', type: 'bool', default: false, help: 'Also list tracked workloads with nothing to do.' },
  { name: 'only-namespace', type: 'string', default: '', help: 'Only workloads in this namespace.' },
] as const satisfies readonly FlagSpec[];

export interface PlanRow {
  readonly namespace: string;
  readonly kind: string;
  readonly name: string;
  /** held: a rollout its restart window holds (why says until when, or why the policy cannot be read). */
  readonly action: 'rollout' | 'held' | 'adopt' | 'resume' | 'none';
  /** Why: the changed sources with short old→new digests, the sources adopted, or the tracking reason. */
  readonly why: string;
  readonly reason?: string;
  readonly sources: readonly string[];
}

async function listAll(client: KubeApi, path: string, options: { accept?: string; fieldSelector?: string; optional?: boolean } = {}): Promise<unknown[]> {
  const items: unknown[] = [];
  try {
    for await (const page of listPages<ListPage & { items?: unknown[] }>(client, path, {
      accept: options.accept,
      query: { limit: 500, fieldSelector: options.fieldSelector },
    })) {
      items.push(...(page.items ?? []));
    }
  } catch (err) {
    if (options.optional && err instanceof KubeApiError && err.status === 404) return [];
    throw err;
  }
  return items;
}

function table(rows: readonly PlanRow[]): string {
  const header = ['NAMESPACE', 'KIND', 'NAME', 'ACTION', 'WHY'];
  const body = rows.map((r) => [r.namespace, r.kind, r.name, r.action, r.why]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const fmt = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [fmt(header), ...body.map(fmt)].join('\n');
}

export async function main(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<number> {
  const { values, help } = parseFlags(PLAN_FLAGS, argv, env);
  if (help) {
    console.log(formatHelp('plan', 'Print what the watcher would roll or adopt now, and why; writes nothing.', PLAN_FLAGS));
    return 0;
  }
  const policy = policyFromFlags(values);
  const only = values['only-namespace'];
  const client = await connect(values.kubeconfig, 'configstamp-plan', env);
  try {
    const key = await readHashKey(client, { namespace: values.namespace, name: values['hash-key-secret'] });
    const cache = new ClusterCache();
    for (const ns of await listAll(client, namespacePath(), { accept: METADATA_LIST_ACCEPT }))
      cache.setNamespace(metaOf(ns).name ?? '', metaOf(ns).labels ?? {}, timingAnnotations(metaOf(ns).annotations));
    // A pod-status source (CSI) is the fold of its status objects, as the watcher folds them at boot.
    const folds = new Map<SourceKind, PodStatusFold>();
    for (const kind of POD_STATUS_SOURCE_KINDS.filter((k) => !policy.ignoredSourceKinds.has(k))) {
      const fold = new PodStatusFold();
      for (const change of fold.replace(await listPodStatusReports(client, kind, only || undefined))) {
        cache.setSource(kind, change.namespace, change.source, {
          resourceVersion: fold.state(change.namespace, change.source)!.revision,
          labels: {},
          annotations: {},
        });
      }
      folds.set(kind, fold);
    }
    for (const kind of OBJECT_SOURCE_KINDS) {
      const path = only ? sourcePath(kind, only) : sourcePath(kind);
      for (const item of await listAll(client, path, { accept: METADATA_LIST_ACCEPT, fieldSelector: sourceFieldSelector(kind) })) {
        const e = sourceEntryOf(item);
        cache.setSource(kind, e.namespace, e.name, e);
      }
    }
    const digests = new DigestCache(
      key,
      foldedSourceFetcher(
        (namespace, keys) => fetchSources(client, namespace, keys, { concurrency: 16, deadlineMs: 30_000 }),
        (kind, namespace, name) => {
          const state = folds.get(kind)?.state(namespace, name);
          return state === undefined ? null : stateObject(state.versions, state.revision);
        },
      ),
    );
    const rows: PlanRow[] = [];
    // The waves see every consumer of a source, so the rollouts are decided after all are evaluated.
    const consumers = new Map<string, Set<string>>();
    const trackedKeys: string[] = [];
    const rollouts: { base: Omit<PlanRow, 'action' | 'why'>; entry: WorkloadEntry; decision: Extract<ReconcileDecision, { action: 'rollout' }> }[] = [];
    // Every kind is listed first: a Rollout running a Deployment's template (workloadRef) reads it.
    const listed: { kind: (typeof policy.workloadKinds)[number]; items: unknown[] }[] = [];
    for (const kind of policy.workloadKinds.filter((k) => !policy.ignoredWorkloadKinds.has(k.kind))) {
      const items = await listAll(client, only ? workloadPath(kind, only) : workloadPath(kind), { optional: kind.crd });
      for (const object of items) {
        const m = metaOf(object);
        if (m.name && m.namespace) cache.setWorkload({ key: workloadKey(kind, m.namespace, m.name), kind, namespace: m.namespace, name: m.name, object });
      }
      listed.push({ kind, items });
    }
    for (const { kind, items } of listed) {
      for (const object of items) {
        const m = metaOf(object);
        if (!m.name || !m.namespace) continue;
        const key = workloadKey(kind, m.namespace, m.name);
        const entry = cache.workload(key)!;
        const ev = await decideCached(cache, digests, policy, entry, { rollOnDelete: values['roll-on-delete'], now: new Date().toISOString() });
        if (!ev.plan.tracked) continue;
        const d = ev.decision;
        trackedKeys.push(key);
        for (const t of ev.tracked) {
          const id = `${t.kind}/${m.namespace}/${t.name}`;
          let keys = consumers.get(id);
          if (keys === undefined) consumers.set(id, (keys = new Set()));
          keys.add(key);
        }
        const sources = ev.tracked.map((t) => `${t.kind}/${t.name}`);
        const base = { namespace: m.namespace, kind: kind.kind, name: m.name, sources };
        if (d.action === 'rollout') rollouts.push({ base, entry, decision: d });
        else if (d.action === 'adopt') rows.push({ ...base, action: 'adopt', why: adoptionWhy(d) });
        else if (d.action === 'resume') rows.push({ ...base, action: 'resume', why: `pause period over (paused at ${new Date(d.pausedAtMs).toISOString()})` });
        else if (d.action === 'none' && d.wakeInMs !== undefined)
          rows.push({ ...base, action: 'none', why: `paused for its pause period: resumes in ${Math.ceil(d.wakeInMs / 1000)}s` });
        else if (values.all) rows.push({ ...base, action: 'none', why: `up to date (${ev.plan.reason})` });
      }
    }
    const waves = new Waves({
      cache,
      digests,
      policy,
      rollOnDelete: values['roll-on-delete'],
      clock: systemClock,
      defaults: { size: values['wave-size'], timeoutMs: 0 },
      consumers: (kind, namespace, name) => consumers.get(`${kind}/${namespace}/${name}`) ?? new Set(),
      wake: () => undefined,
    });
    // The budget's free slots: tracked workloads rolling now (by status) hold the others.
    const budget = values['rollout-budget'];
    const rollingNow = (k: string): boolean => {
      const w = cache.workload(k);
      return w !== undefined && rolloutProgress(w.kind, w.object) === 'progressing';
    };
    const rolling = budget > 0 ? trackedKeys.filter(rollingNow).length : 0;
    let free = budget - rolling;
    for (const { base, entry, decision: d } of rollouts) {
      const reason = rolloutReason(d.changes);
      const window = cache.windowOf(entry, Date.now(), policy.reloaderCompat);
      if (window.state === 'closed' || window.state === 'invalid') {
        rows.push({ ...base, action: 'held', reason, why: `${describeWindow(window)}: ${describeChanges(d.changes)}` });
        continue;
      }
      const wave = await waves.hold(entry, d.changes);
      if (wave !== undefined)
        rows.push({
          ...base,
          action: 'held',
          reason,
          why: `${describeWaves(wave.verdict, `${wave.source.kind}/${wave.source.name}`)}: ${describeChanges(d.changes)}`,
        });
      // One rolling already holds its slot (as the watcher's budget lets it); the rest take free ones in this order.
      else if (budget > 0 && entry.kind.progress !== undefined && !rollingNow(entry.key) && free-- <= 0)
        rows.push({ ...base, action: 'held', reason, why: `waiting for the rollout budget (${rolling} of ${budget} rolling): ${describeChanges(d.changes)}` });
      else rows.push({ ...base, action: 'rollout', reason, why: describeChanges(d.changes) });
    }
    const order = (r: PlanRow): string => `${r.namespace}/${r.kind}/${r.name}`;
    rows.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
    if (values.output === 'json') console.log(JSON.stringify({ rows }, null, 2));
    else console.log(rows.length === 0 ? 'Nothing would roll or be adopted.' : table(rows));
    return 0;
  } finally {
    client.close();
  }
}

/** What an adoption records: sources never recorded, and sources re-keyed (same versions, a new hash key). */
function adoptionWhy(d: Extract<ReconcileDecision, { action: 'adopt' }>): string {
  const names = (entries: readonly { kind: string; name: string }[]): string => entries.map((e) => `${e.kind}/${e.name}`).join(', ');
  const parts: string[] = [];
  if (d.unrecorded.length > 0) parts.push(`record without rollout: ${names(d.unrecorded)}`);
  if (d.rekeyed.length > 0) parts.push(`re-key without rollout (unchanged since recorded, new hash key): ${names(d.rekeyed)}`);
  return parts.join('; ');
}
