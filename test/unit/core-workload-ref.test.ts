/**
 * Argo Rollouts with spec.workloadRef: the reference is read as untrusted input, the referenced
 * template is grafted for the evaluation (without that workload's own stamp), the decision is a
 * restart, and the watcher re-plans a Rollout when the Deployment it runs changes.
 */
import t from 'tap';
import {
  DEFAULT_POLICY,
  Ours,
  decideReconcile,
  formatStamp,
  restartsPods,
  templateRefOf,
  wantedSources,
  withReferencedTemplate,
  workloadKindByName,
} from '../../shared/core/index.js';
import { pruneWorkload } from '../../shared/core/prune.js';
import { createLogger } from '../../shared/log.js';
import { ChurnGuard } from '../../watcher/churn-guard.js';
import { DigestCache } from '../../watcher/digest-cache.js';
import { EventRouter } from '../../watcher/event-router.js';
import type { WorkQueue } from '../../watcher/queue.js';
import { ManualClock } from '../support/manual-clock.js';

const ROLLOUT = workloadKindByName('Rollout')!;
const DEPLOYMENT = workloadKindByName('Deployment')!;
const ref = (extra: Record<string, unknown> = {}) => ({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', ...extra });
const rollout = (workloadRef: unknown, annotations: Record<string, string> = { [Ours.track]: 'true' }) => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Rollout',
  metadata: { name: 'by-ref', namespace: 'ns', resourceVersion: '5', annotations },
  spec: { replicas: 0, workloadRef },
});
const deployment = (cm: string, stamp?: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'ns', resourceVersion: '1' },
  spec: {
    template: {
      metadata: { labels: { app: 'web' }, annotations: stamp === undefined ? {} : { [Ours.stamp]: stamp, other: 'kept' } },
      spec: { containers: [{ name: 'c', envFrom: [{ configMapRef: { name: cm } }] }] },
    },
  },
});

t.test('the reference, read as untrusted input', async (t) => {
  t.same(templateRefOf(ROLLOUT, rollout(ref())), { kind: DEPLOYMENT, name: 'web' });
  for (const bad of [undefined, 'web', ref({ name: '' }), ref({ kind: 'ReplicaSet' }), ref({ apiVersion: 'apps/v1beta1' }), ref({ name: 7 })]) {
    t.equal(templateRefOf(ROLLOUT, rollout(bad)), undefined, JSON.stringify(bad));
  }
  t.equal(templateRefOf(DEPLOYMENT, deployment('a')), undefined, 'only kinds with a templateRefPath');
  t.same(templateRefOf(ROLLOUT, rollout(ref({ kind: 'Rollout', apiVersion: 'argoproj.io/v1alpha1' }))), undefined, 'never a kind that itself references');
});

t.test('grafted: the referenced template; the input is not changed; a referenced workload configstamp tracks itself is followed, not grafted', async (t) => {
  const r = rollout(ref());
  const before = JSON.stringify(r);
  const graft = withReferencedTemplate(ROLLOUT, r, templateRefOf(ROLLOUT, r)!, deployment('app-config')) as {
    spec: { template: { metadata: { annotations: Record<string, string> } }; workloadRef: unknown };
  };
  t.equal(JSON.stringify(r), before);
  t.same(graft.spec.template.metadata.annotations, {});
  t.equal(
    withReferencedTemplate(ROLLOUT, r, templateRefOf(ROLLOUT, r)!, deployment('app-config', 'v1:configmap/app-config=0123456789abcdef')),
    r,
    'the Deployment carries our stamp: configstamp rolls it, Argo rolls the Rollout from it; no restart too',
  );
  const adopted = deployment('app-config');
  (adopted.metadata as Record<string, unknown>).annotations = { [Ours.adoptedStamp]: 'v1:' };
  t.equal(withReferencedTemplate(ROLLOUT, r, templateRefOf(ROLLOUT, r)!, adopted), r, 'adopted by configstamp: the same');
  t.same(graft.spec.workloadRef, ref(), 'the reference stays');
  const plan = wantedSources({ kind: ROLLOUT, object: graft, namespace: { name: 'ns', labels: {} }, policy: DEFAULT_POLICY });
  t.same(plan.tracked ? plan.wants.map((w) => w.name) : plan.reason, ['app-config']);
  t.equal(withReferencedTemplate(ROLLOUT, r, templateRefOf(ROLLOUT, r)!, undefined), r, 'referenced workload not found: as it is');
  t.ok(restartsPods(ROLLOUT, r), 'a Rollout running another template restarts');
  const pruned = pruneWorkload(ROLLOUT, r) as { spec: { workloadRef?: unknown } };
  t.same(pruned.spec.workloadRef, ref(), 'the watcher keeps the reference when it prunes');
});

t.test('a drift restarts it (spec.restartAt), recorded on its metadata; never a template patch', async (t) => {
  const r = rollout(ref(), { [Ours.track]: 'true', [Ours.adoptedStamp]: 'v1:configmap/app-config=aaaaaaaaaaaaaaaa' });
  const graft = withReferencedTemplate(ROLLOUT, r, templateRefOf(ROLLOUT, r)!, deployment('app-config'));
  const stamp = [{ kind: 'ConfigMap' as const, name: 'app-config', digest: 'bbbbbbbbbbbbbbbb' }];
  const d = decideReconcile(ROLLOUT, graft, stamp, { rollOnDelete: false, now: '2026-12-01T12:00:00Z' });
  t.equal(d.action, 'rollout');
  if (d.action !== 'rollout') return;
  t.same(d.patch, {
    metadata: { annotations: { [Ours.restartedStamp]: formatStamp(stamp), [Ours.restartedBase]: '' }, resourceVersion: '5' },
    spec: { restartAt: '2026-12-01T12:00:00Z' },
  });
});

t.test('the watcher re-plans a Rollout when the Deployment it runs changes or goes', async (t) => {
  const added: string[] = [];
  const lines: string[] = [];
  const router = new EventRouter({
    queue: { add: (key: string) => void added.push(key) } as unknown as WorkQueue,
    digests: new DigestCache(new Uint8Array(32), async () => new Map()),
    guard: new ChurnGuard(0, new ManualClock()),
    policy: DEFAULT_POLICY,
    log: createLogger('warn', 'test', { write: (line: string) => void lines.push(line) }),
  });
  router.namespaceHandlers().replace([{ metadata: { name: 'ns', labels: {} } }], true);
  router.sourceHandlers('ConfigMap').replace([], true);
  router.sourceHandlers('Secret').replace([], true);
  router.workloadHandlers(DEPLOYMENT).replace([deployment('first')], true);
  router.workloadHandlers(ROLLOUT).replace([rollout(ref())], true);
  router.markSynced();
  router.activate();
  added.length = 0;
  router.sourceHandlers('ConfigMap').event('MODIFIED', { metadata: { name: 'first', namespace: 'ns', resourceVersion: '2' } });
  t.same(added, ['Rollout/ns/by-ref'], 'a change to what the referenced template consumes reaches the Rollout');
  added.length = 0;
  router.workloadHandlers(DEPLOYMENT).event('MODIFIED', deployment('second'));
  t.same(added.sort(), ['Deployment/ns/web', 'Rollout/ns/by-ref'], 'the Deployment changed: the Rollout is re-evaluated too');
  added.length = 0;
  router.sourceHandlers('ConfigMap').event('MODIFIED', { metadata: { name: 'second', namespace: 'ns', resourceVersion: '3' } });
  t.same(added, ['Rollout/ns/by-ref'], 'and re-planned: it follows what the template consumes now');
  added.length = 0;
  router.sourceHandlers('ConfigMap').event('MODIFIED', { metadata: { name: 'first', namespace: 'ns', resourceVersion: '4' } });
  t.same(added, [], 'what it no longer consumes reaches nothing');
  router.workloadHandlers(DEPLOYMENT).event('DELETED', deployment('second'));
  t.same(added, ['Rollout/ns/by-ref'], 'the Deployment deleted: re-evaluated (it consumes nothing now)');
  added.length = 0;
  router.sourceHandlers('ConfigMap').event('MODIFIED', { metadata: { name: 'second', namespace: 'ns', resourceVersion: '5' } });
  t.same(added, []);
  router.workloadHandlers(ROLLOUT).event('MODIFIED', rollout(ref({ kind: 'ReplicaSet' })));
  router.workloadHandlers(ROLLOUT).event('MODIFIED', rollout(ref({ kind: 'ReplicaSet' })));
  t.equal(lines.filter((l) => l.includes('names no workload kind')).length, 1, 'a reference to no workload kind is warned about, once');
});
