/** The controller: events only enqueue keys; the reverse index routes source events; namespace labels re-plan. */
import t from 'tap';
import { workloadKindByName } from '../../shared/core/kinds.js';
import { DEFAULT_POLICY } from '../../shared/core/policy.js';
import { createLogger } from '../../shared/log.js';
import { ChurnGuard } from '../../watcher/churn-guard.js';
import { ManualClock } from '../support/manual-clock.js';
import { EventRouter } from '../../watcher/event-router.js';
import { DigestCache } from '../../watcher/digest-cache.js';
import type { WorkQueue } from '../../watcher/queue.js';

const KIND = workloadKindByName('Deployment')!;

function deployment(name: string, cm: string, annotations: Record<string, string> = { 'configstamp.io/track': 'true' }) {
  return {
    metadata: { name, namespace: 'ns', resourceVersion: '1', annotations },
    spec: { template: { spec: { containers: [{ name: 'c', envFrom: [{ configMapRef: { name: cm } }] }] } } },
  };
}

/** A controller whose queue only records the keys added to it. */
function newController() {
  const added: string[] = [];
  const queue = { add: (key: string) => void added.push(key) } as unknown as WorkQueue;
  const clock = new ManualClock();
  const controller = new EventRouter({
    queue,
    digests: new DigestCache(new Uint8Array(32), async () => new Map()),
    guard: new ChurnGuard(0, clock),
    policy: DEFAULT_POLICY,
    log: createLogger('silent', 'test'),
  });
  return { controller, added };
}

function setup() {
  const { controller, added } = newController();
  controller.namespaceHandlers().replace([{ metadata: { name: 'ns', labels: {} } }], true);
  controller.sourceHandlers('ConfigMap').replace([{ metadata: { name: 'a', namespace: 'ns', resourceVersion: '1' } }], true);
  controller.sourceHandlers('Secret').replace([], true);
  controller.workloadHandlers(KIND).replace([deployment('wa', 'a'), deployment('wb', 'b'), deployment('untracked', 'a', {})], true);
  controller.markSynced();
  return { controller, added };
}

t.test('nothing is enqueued before leading; leading enqueues every workload (restart sync)', async (t) => {
  const { controller, added } = setup();
  controller.sourceHandlers('ConfigMap').event('MODIFIED', { metadata: { name: 'a', namespace: 'ns', resourceVersion: '2' } });
  t.same(added, [], 'a standby enqueues nothing');
  controller.activate();
  t.same(added.sort(), ['Deployment/ns/untracked', 'Deployment/ns/wa', 'Deployment/ns/wb']);
});

t.test('a source event enqueues exactly its consumers, including ones waiting for it to exist', async (t) => {
  const { controller, added } = setup();
  controller.activate();
  added.length = 0;
  controller.sourceHandlers('ConfigMap').event('MODIFIED', { metadata: { name: 'a', namespace: 'ns', resourceVersion: '2' } });
  t.same(added, ['Deployment/ns/wa'], 'untracked consumers are not indexed');
  added.length = 0;
  controller.sourceHandlers('ConfigMap').event('ADDED', { metadata: { name: 'b', namespace: 'ns', resourceVersion: '3' } });
  t.same(added, ['Deployment/ns/wb'], 'the workload that waited for b');
  added.length = 0;
  controller.sourceHandlers('ConfigMap').event('ADDED', { metadata: { name: 'other', namespace: 'ns', resourceVersion: '4' } });
  t.same(added, [], 'an unconsumed source enqueues nothing');
});

t.test('a namespace label change re-plans its workloads', async (t) => {
  const { controller, added } = setup();
  controller.activate();
  added.length = 0;
  controller.sourceHandlers('ConfigMap').event('MODIFIED', { metadata: { name: 'a', namespace: 'ns', resourceVersion: '2' } });
  t.same(added, ['Deployment/ns/wa']);
  controller.namespaceHandlers().event('MODIFIED', { metadata: { name: 'ns', labels: { 'configstamp.io/track': 'true' } } });
  added.length = 0;
  controller.sourceHandlers('ConfigMap').event('MODIFIED', { metadata: { name: 'a', namespace: 'ns', resourceVersion: '3' } });
  t.same(added.sort(), ['Deployment/ns/untracked', 'Deployment/ns/wa'], 'the namespace label now tracks the unannotated workload');
});

t.test('a relist after a broken watch reconciles every workload again; deletions leave the index', async (t) => {
  const { controller, added } = setup();
  controller.activate();
  added.length = 0;
  controller.workloadHandlers(KIND).replace([deployment('wa', 'a')], false);
  t.same(added, ['Deployment/ns/wa'], 'everything still there is enqueued');
  added.length = 0;
  controller.sourceHandlers('ConfigMap').event('MODIFIED', { metadata: { name: 'b', namespace: 'ns', resourceVersion: '9' } });
  t.same(added, [], 'wb was removed by the relist');
});

t.test('a workload event before every informer has listed enqueues nothing (its sources are not known yet)', async (t) => {
  const { controller, added } = newController();
  controller.activate();
  controller.workloadHandlers(KIND).replace([deployment('wa', 'a')], true);
  controller.workloadHandlers(KIND).event('MODIFIED', deployment('wa', 'a'));
  t.same(added, [], 'the ConfigMap list has not returned: reconciling now would record it as absent');
  controller.namespaceHandlers().replace([{ metadata: { name: 'ns', labels: {} } }], true);
  controller.sourceHandlers('ConfigMap').replace([{ metadata: { name: 'a', namespace: 'ns', resourceVersion: '1' } }], true);
  controller.sourceHandlers('Secret').replace([], true);
  controller.markSynced();
  t.same(added, ['Deployment/ns/wa'], 'enqueued once, by the restart sync');
});
