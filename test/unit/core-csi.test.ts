/**
 * Secrets Store CSI sources: the references a CSI volume makes, how a status object is read (as
 * untrusted input), and the fold that decides what is a change; then the pipeline end to end on
 * the watcher's parts (event router, digest cache, core decision) with status objects as the
 * driver writes them.
 */
import t from 'tap';
import {
  DEFAULT_POLICY,
  PodStatusFold,
  Reloader,
  decideWorkload,
  extractReferences,
  foldListed,
  isReport,
  latestReport,
  readPodStatus,
  wantedSources,
  workloadKindByName,
} from '../../shared/core/index.js';
import type { PodStatusReport, SourceKind } from '../../shared/core/index.js';
import { parseFlags } from '../../shared/config/flags.js';
import { POLICY_FLAGS, policyFromFlags } from '../../shared/config/shared-flags.js';
import { createLogger } from '../../shared/log.js';
import { ChurnGuard } from '../../watcher/churn-guard.js';
import { DigestCache } from '../../watcher/digest-cache.js';
import { EventRouter } from '../../watcher/event-router.js';
import type { WorkQueue } from '../../watcher/queue.js';
import { pruneWorkload } from '../../shared/core/prune.js';
import { ManualClock } from '../support/manual-clock.js';

const DEPLOYMENT = workloadKindByName('Deployment')!;
const DRIVER = 'secrets-store.csi.k8s.io';

/** A status object as the driver writes it: `<pod>-<namespace>-<class>`, one per pod and class. */
function podStatus(pod: string, spc: string, versions: Record<string, string>, options: { ns?: string; mounted?: boolean; at?: string } = {}) {
  const ns = options.ns ?? 'ns';
  return {
    apiVersion: 'secrets-store.csi.x-k8s.io/v1',
    kind: 'SecretProviderClassPodStatus',
    metadata: {
      name: `${pod}-${ns}-${spc}`,
      namespace: ns,
      resourceVersion: '1',
      creationTimestamp: '2026-12-01T10:00:00Z',
      labels: { 'internal.secrets-store.csi.k8s.io/node-name': 'node-1' },
      managedFields: options.at === undefined ? [] : [{ manager: 'secrets-store-csi', operation: 'Update', time: options.at }],
      ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: pod, uid: `uid-${pod}` }],
    },
    status: {
      podName: pod,
      secretProviderClassName: spc,
      mounted: options.mounted ?? true,
      targetPath: `/var/lib/kubelet/pods/uid-${pod}/volumes/kubernetes.io~csi/secrets/mount`,
      objects: Object.entries(versions).map(([id, version]) => ({ id, version })),
    },
  };
}

function report(object: unknown): PodStatusReport {
  const r = readPodStatus(object);
  if (!isReport(r)) throw new Error('not a report');
  return r;
}

function csiDeployment(name: string, spc: string, annotations: Record<string, string> = { [Reloader.secretProviderClassAuto]: 'true' }) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'ns', resourceVersion: '1', annotations },
    spec: {
      template: {
        metadata: {},
        spec: {
          containers: [{ name: 'app', image: 'app:1', volumeMounts: [{ name: 'secrets', mountPath: '/mnt/secrets' }] }],
          volumes: [{ name: 'secrets', csi: { driver: DRIVER, readOnly: true, volumeAttributes: { secretProviderClass: spc } } }],
        },
      },
    },
  };
}

t.test('a CSI volume of the Secrets Store driver consumes its SecretProviderClass, whole', async (t) => {
  const refs = extractReferences({
    spec: {
      containers: [{ name: 'a', envFrom: [{ configMapRef: { name: 'cm' } }] }],
      volumes: [
        { name: 'v', csi: { driver: DRIVER, volumeAttributes: { secretProviderClass: 'vault-db' } } },
        { name: 'w', csi: { driver: DRIVER, volumeAttributes: { secretProviderClass: 'vault-db' } } },
        { name: 'other-driver', csi: { driver: 'ebs.csi.aws.com', volumeAttributes: { secretProviderClass: 'nope' } } },
        { name: 'no-class', csi: { driver: DRIVER } },
        { name: 'bad-name', csi: { driver: DRIVER, volumeAttributes: { secretProviderClass: 'Not A Name' } } },
        { name: 'not-a-record', csi: 'x' },
      ],
    },
  });
  t.same(
    refs.map((r) => [r.kind, r.name, r.keys.all, r.optional]),
    [
      ['ConfigMap', 'cm', true, false],
      ['SecretProviderClass', 'vault-db', true, false],
    ],
  );
  const pruned = pruneWorkload(DEPLOYMENT, csiDeployment('w', 'vault-db'));
  t.same(extractReferences((pruned as { spec: { template: unknown } }).spec.template)[0]?.name, 'vault-db', 'the watcher keeps CSI volumes when it prunes');
});

t.test('a status object is read as untrusted input', async (t) => {
  const r = report(podStatus('web-1', 'vault-db', { 'secret/db': 'v1', 'secret/api': '7' }, { at: '2026-12-01T11:00:00Z' }));
  t.same(r.versions, { 'secret/db': 'v1', 'secret/api': '7' });
  t.equal(r.source, 'vault-db');
  t.equal(r.writtenAt, Date.parse('2026-12-01T11:00:00Z'), "managedFields' latest time");
  t.equal(report(podStatus('a', 's', { x: '1', y: '2' })).fingerprint, report(podStatus('b', 's', { y: '2', x: '1' })).fingerprint, 'order never matters');
  t.not(report(podStatus('a', 's', { x: '1' })).fingerprint, report(podStatus('a', 's', { x: '2' })).fingerprint);
  t.same(readPodStatus(podStatus('a', 's', { x: '1' }, { mounted: false })), { namespace: 'ns', name: 'a-ns-s' }, 'not mounted: identity only');
  const bad = podStatus('a', 's', {});
  (bad.status as Record<string, unknown>).objects = [
    { id: 'ok', version: 'v' },
    { id: 7 },
    'x',
    null,
    { version: 'no-id' },
    { id: 'x'.repeat(2000), version: '1' },
  ];
  t.same(report(bad).versions, { ok: 'v' }, 'malformed entries are dropped');
  const many = podStatus('a', 's', {});
  (many.status as Record<string, unknown>).objects = Array.from({ length: 1001 }, (_, i) => ({ id: `o${i}`, version: '1' }));
  t.notOk(isReport(readPodStatus(many)), 'absurdly many objects: not a report');
  for (const junk of [null, 'x', {}, { metadata: {} }, { metadata: { name: 'a' } }]) t.equal(readPodStatus(junk), undefined, JSON.stringify(junk));
  const noClass = podStatus('a', 's', {});
  (noClass.status as Record<string, unknown>).secretProviderClassName = '../etc';
  t.notOk(isReport(readPodStatus(noClass)));
  t.notMatch(JSON.stringify(r), /var\/lib\/kubelet|uid-web-1/, 'the target path and pod UID are not kept');
});

t.test('a list folds to the set written last (ties: every reader picks alike)', async (t) => {
  const old = report(podStatus('a', 's', { x: '1' }, { at: '2026-12-01T10:00:00Z' }));
  const rotated = report(podStatus('b', 's', { x: '2' }, { at: '2026-12-01T10:05:00Z' }));
  t.equal(latestReport([old, rotated])?.versions.x, '2');
  t.equal(latestReport([rotated, old])?.versions.x, '2');
  const tieA = report(podStatus('a', 's', { x: '1' }));
  const tieB = report(podStatus('b', 's', { x: '2' }));
  t.equal(latestReport([tieA, tieB])?.fingerprint, latestReport([tieB, tieA])?.fingerprint);
  const folded = foldListed([old, rotated, report(podStatus('c', 'other', { y: '1' }))]);
  t.same([...folded.keys()].sort(), ['other', 's']);
  t.equal(latestReport([]), undefined);
});

t.test('the fold: what is a change and what is not', async (t) => {
  const fold = new PodStatusFold();
  const v1 = { 'secret/db': '1' };
  const v2 = { 'secret/db': '2' };
  t.same(fold.upsert(report(podStatus('web-a', 'db', v1))), [{ namespace: 'ns', source: 'db' }], "a class's first report makes it known");
  const r1 = fold.state('ns', 'db')!.revision;
  t.same(fold.upsert(report(podStatus('web-b', 'db', v1))), [], 'another pod reporting the same set changes nothing');
  t.same(fold.upsert(report(podStatus('web-b', 'db', v1))), [], 'nor does the same object again (a metadata update)');
  t.same(fold.upsert(report(podStatus('web-a', 'db', v2))), [{ namespace: 'ns', source: 'db' }], 'a rotation is a change');
  t.not(fold.state('ns', 'db')!.revision, r1, 'with a new revision');
  t.same(fold.upsert(report(podStatus('web-b', 'db', v2))), [], 'the same rotation seen in another pod is not another change');
  t.same(fold.upsert(report(podStatus('web-c', 'db', v2))), [], "the rollout's new pods change nothing");
  t.same(fold.remove({ namespace: 'ns', name: 'web-a-ns-db' }), [], 'an old pod going away changes nothing');
  t.same(fold.upsert(report(podStatus('web-old', 'db', v1))), [{ namespace: 'ns', source: 'db' }], 'a new pod reporting another set is a change');
  t.equal(fold.state('ns', 'db')!.versions['secret/db'], '1');
  t.same(fold.upsert(readPodStatus(podStatus('web-old', 'db', v1, { mounted: false }))!), [], 'unmounted: that object no longer reports');
  t.same(fold.remove({ namespace: 'ns', name: 'web-b-ns-db' }), []);
  t.same(fold.remove({ namespace: 'ns', name: 'web-c-ns-db' }), [{ namespace: 'ns', source: 'db' }], 'the last report gone: unknown');
  t.equal(fold.state('ns', 'db'), undefined);
  t.equal(fold.size, 0);
  t.same(fold.remove({ namespace: 'ns', name: 'never-seen' }), [], 'deleting an object never seen changes nothing');
  const single = new PodStatusFold();
  single.upsert(report(podStatus('p', 's', v1)));
  t.same(single.upsert(report(podStatus('p', 's', v2))), [{ namespace: 'ns', source: 's' }], 'one pod rotating is one change, reported once');
});

t.test('a relist keeps a state still reported, else takes the set written last; scoped relists stay in their namespace', async (t) => {
  const fold = new PodStatusFold();
  t.same(
    fold.replace([
      report(podStatus('a', 'db', { x: '1' }, { at: '2026-12-01T10:00:00Z' })),
      report(podStatus('b', 'db', { x: '2' }, { at: '2026-12-01T10:05:00Z' })),
      report(podStatus('c', 'db', { x: '9' }, { ns: 'other', at: '2026-12-01T10:00:00Z' })),
    ]),
    [
      { namespace: 'ns', source: 'db' },
      { namespace: 'other', source: 'db' },
    ],
  );
  t.equal(fold.state('ns', 'db')!.versions.x, '2', 'mid-rotation at boot: the rotated set');
  const rev = fold.state('ns', 'db')!.revision;
  t.same(
    fold.replace([report(podStatus('a', 'db', { x: '1' }, { at: '2026-12-01T10:10:00Z' })), report(podStatus('b', 'db', { x: '2' }))], 'ns'),
    [],
    'still reported by someone: kept, even though another set was written later',
  );
  t.equal(fold.state('ns', 'db')!.revision, rev);
  t.equal(fold.state('other', 'db')!.versions.x, '9', 'a scoped relist leaves other namespaces alone');
  t.same(fold.replace([], 'ns'), [{ namespace: 'ns', source: 'db' }], 'gone at a relist: unknown');
  t.same([...fold.names('other')], ['db']);
  t.same([...fold.names('ns')], []);
});

t.test('policy: Reloader and our CSI keys, exclusions, --enable-csi-integration and the renamed keys', async (t) => {
  const plan = (annotations: Record<string, string>, policy = DEFAULT_POLICY) =>
    wantedSources({ kind: DEPLOYMENT, object: csiDeployment('w', 'db', annotations), namespace: { name: 'ns', labels: {} }, policy });
  const names = (p: ReturnType<typeof plan>) => (p.tracked ? p.wants.map((w) => `${w.kind}/${w.name}`) : p.reason);
  t.same(names(plan({ [Reloader.secretProviderClassAuto]: 'true' })), ['SecretProviderClass/db']);
  t.same(names(plan({ [Reloader.auto]: 'true' })), ['SecretProviderClass/db'], 'auto covers every kind, CSI included');
  t.same(names(plan({ 'configstamp.io/track': 'true' })), ['SecretProviderClass/db']);
  t.same(names(plan({ [Reloader.secretProviderClassReload]: 'db,extra' })), ['SecretProviderClass/db', 'SecretProviderClass/extra']);
  t.same(names(plan({ 'configstamp.io/secretproviderclasses': 'extra' })), ['SecretProviderClass/extra']);
  t.same(names(plan({ [Reloader.auto]: 'true', [Reloader.excludeSecretProviderClasses]: 'db' })), []);
  t.same(names(plan({ [Reloader.auto]: 'true', 'configstamp.io/exclude-secretproviderclasses': 'db' })), []);
  t.same(names(plan({ [Reloader.secretAuto]: 'true' })), [], 'secret auto is not CSI auto');
  const off = policyFromFlags(parseFlags(POLICY_FLAGS, ['--enable-csi-integration=false'], {}).values);
  t.ok(off.ignoredSourceKinds.has('SecretProviderClass'), '--enable-csi-integration=false ignores the kind');
  t.same(names(plan({ [Reloader.auto]: 'true' }, off)), []);
  const on = policyFromFlags(parseFlags(POLICY_FLAGS, [], {}).values);
  t.notOk(on.ignoredSourceKinds.has('SecretProviderClass'), 'unset: tracked when served');
  const renamed = policyFromFlags(parseFlags(POLICY_FLAGS, ['--secretproviderclass-auto-annotation=example.com/csi'], {}).values);
  t.same(names(plan({ 'example.com/csi': 'true' }, renamed)), ['SecretProviderClass/db'], 'the renamed key is read');
  t.same(
    names(plan({ [Reloader.secretProviderClassAuto]: 'true' }, renamed)),
    'no tracking annotation, namespace label or --track-all',
    'the default key is not',
  );
});

/** The watcher's parts, with status objects fed through the event router as the informer would. */
function watcherParts() {
  const added: string[] = [];
  const queue = { add: (key: string) => void added.push(key) } as unknown as WorkQueue;
  const folded = { router: undefined as EventRouter | undefined };
  const digests = new DigestCache(new Uint8Array(32).fill(3), async (namespace, keys) => {
    const out = new Map<string, unknown>();
    for (const k of keys) out.set(`${k.kind}/${k.name}`, folded.router!.podStatusObject(k.kind as SourceKind, namespace, k.name));
    return out;
  });
  const router = new EventRouter({ queue, digests, guard: new ChurnGuard(0, new ManualClock()), policy: DEFAULT_POLICY, log: createLogger('silent', 'test') });
  folded.router = router;
  router.namespaceHandlers().replace([{ metadata: { name: 'ns', labels: {} } }], true);
  router.sourceHandlers('ConfigMap').replace([], true);
  router.sourceHandlers('Secret').replace([], true);
  const statuses = router.podStatusHandlers('SecretProviderClass');
  const decide = async (object: unknown) => {
    const port = digests.port('ns', router.cache.catalog('ns'), (k, ns, name) => router.cache.source(k, ns, name)?.resourceVersion);
    return decideWorkload({ kind: DEPLOYMENT, object, namespace: { name: 'ns', labels: {} }, policy: DEFAULT_POLICY }, port, { rollOnDelete: false });
  };
  return { router: router, added, statuses, decide };
}

/** Applies a decision's merge patch the way the API server would (annotations only matter here). */
function applied(object: ReturnType<typeof csiDeployment>, patch: Record<string, unknown>): ReturnType<typeof csiDeployment> {
  const merge = (into: Record<string, unknown>, from: Record<string, unknown>): void => {
    for (const [k, v] of Object.entries(from)) {
      if (v === null) delete into[k];
      else if (typeof v === 'object' && !Array.isArray(v) && typeof into[k] === 'object' && into[k] !== null)
        merge(into[k] as Record<string, unknown>, v as Record<string, unknown>);
      else into[k] = structuredClone(v);
    }
  };
  const copy = structuredClone(object);
  merge(copy as unknown as Record<string, unknown>, patch);
  return copy;
}

t.test('the watcher, end to end on its parts: first pods adopt, one rotation rolls once, its new pods roll nothing', async (t) => {
  const { router, added, statuses, decide } = watcherParts();
  statuses.replace([], true);
  let w = csiDeployment('web', 'db');
  router.workloadHandlers(DEPLOYMENT).replace([w], true);
  router.markSynced();
  router.activate();
  t.equal((await decide(w)).decision.action, 'none', 'no pod reported yet: nothing is tracked, nothing to do');
  added.length = 0;
  statuses.event('ADDED', readPodStatus(podStatus('web-1', 'db', { 'secret/db': '1' })));
  t.same(added, ['Deployment/ns/web'], "a report re-evaluates the class's consumers");
  let d = await decide(w);
  t.equal(d.decision.action, 'adopt', 'the first pods writing theirs are adopted, not rolled');
  if (d.decision.action === 'adopt') w = applied(w, d.decision.patch);
  statuses.event('ADDED', readPodStatus(podStatus('web-2', 'db', { 'secret/db': '1' })));
  t.equal((await decide(w)).decision.action, 'none');
  statuses.event('MODIFIED', readPodStatus(podStatus('web-1', 'db', { 'secret/db': '2' })));
  d = await decide(w);
  t.equal(d.decision.action, 'rollout', 'a rotation rolls');
  if (d.decision.action === 'rollout') {
    t.same(
      d.decision.changes.map((c) => `${c.kind}/${c.name}`),
      ['SecretProviderClass/db'],
    );
    t.match(JSON.stringify(d.decision.patch), /secretproviderclass\/db=[0-9a-f]{16}/);
    w = applied(w, d.decision.patch);
  }
  statuses.event('MODIFIED', readPodStatus(podStatus('web-2', 'db', { 'secret/db': '2' })));
  t.equal((await decide(w)).decision.action, 'none', 'the same rotation in the other pod: no second rollout');
  statuses.event('ADDED', readPodStatus(podStatus('web-3', 'db', { 'secret/db': '2' })));
  statuses.event('DELETED', readPodStatus(podStatus('web-1', 'db', { 'secret/db': '2' })));
  statuses.event('DELETED', readPodStatus(podStatus('web-2', 'db', { 'secret/db': '2' })));
  t.equal((await decide(w)).decision.action, 'none', "the rollout's pods coming and going: nothing");
  t.notMatch(JSON.stringify(w), /secret\/db|"2"/, 'no object id or version reaches the workload, only the keyed digest');
});
