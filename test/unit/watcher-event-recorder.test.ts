// Events are best effort, but a failure to post them must be visible at the default log level
// once (a missing RBAC rule), not repeated per rollout; and the informer's back-off between
// relists must not pile abort listeners on its long-lived signal.
import t from 'tap';
import { getEventListeners } from 'node:events';
import { Writable } from 'node:stream';
import { createLogger } from '../../shared/log.js';
import { KubeApiError } from '../../shared/kube/client.js';
import { workloadKindByName } from '../../shared/core/kinds.js';
import { kubeEventRecorder } from '../../watcher/event-recorder.js';
import { sleepUnlessAborted } from '../../shared/kube/informer.js';
import { fakeKube } from '../support/fake-kube.js';

function logSink(): { lines: Record<string, unknown>[]; stream: Writable } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      cb();
    },
  });
  return { lines, stream };
}

t.test('a failing Event post warns once per kind of failure, then logs at debug', async (t) => {
  const { lines, stream } = logSink();
  const log = createLogger('debug', 'test', stream);
  let status = 403;
  const client = fakeKube({
    request: async () => {
      throw new KubeApiError(status, 'Forbidden', 'events is forbidden');
    },
  });
  const sink = kubeEventRecorder(client, log, 'test-1');
  const workload = {
    key: 'Deployment/ns/web',
    kind: workloadKindByName('Deployment')!,
    namespace: 'ns',
    name: 'web',
    object: { metadata: { name: 'web', uid: 'u' } },
  };
  await sink.post(workload, 'Normal', 'ConfigstampRollout', 'm');
  await sink.post(workload, 'Normal', 'ConfigstampRollout', 'm');
  status = 500;
  await sink.post(workload, 'Normal', 'ConfigstampRollout', 'm');
  const levels = lines.filter((l) => l.msg === 'could not post Event').map((l) => l.level);
  t.same(levels, [40, 20, 40], 'warn, debug, then warn for a new kind of failure');
  t.match(lines[0]!.err, /forbidden/);
});

t.test('back-off sleeps leave no abort listener behind', async (t) => {
  const controller = new AbortController();
  for (let i = 0; i < 20; i++) await sleepUnlessAborted(1, controller.signal);
  t.equal(getEventListeners(controller.signal, 'abort').length, 0, 'none left after 20 sleeps');
  const started = Date.now();
  const pending = sleepUnlessAborted(60_000, controller.signal);
  controller.abort();
  await pending;
  t.ok(Date.now() - started < 1000, 'an abort ends the sleep at once');
});

t.test('a said-once Event has a name from the UID, reason and what is said; a second saying (409) is quiet', async (t) => {
  const { lines, stream } = logSink();
  const log = createLogger('info', 'test', stream);
  const names = new Set<string>();
  const posted: { metadata: { name?: string; generateName?: string }; involvedObject?: unknown }[] = [];
  const client = fakeKube({
    request: async (_method: string, _path: string, options?: { body?: unknown }) => {
      const body = options?.body as { metadata: { name?: string; generateName?: string } };
      if (body.metadata.name !== undefined && names.has(body.metadata.name)) throw new KubeApiError(409, 'AlreadyExists', 'events already exists');
      if (body.metadata.name !== undefined) names.add(body.metadata.name);
      posted.push(body);
      return {};
    },
  });
  const sink = kubeEventRecorder(client, log, 'test-1');
  const workload = (uid: string) => ({
    key: 'Deployment/ns/web',
    kind: workloadKindByName('Deployment')!,
    namespace: 'ns',
    name: 'web',
    object: { metadata: { name: 'web', uid } },
  });
  await sink.post(workload('u1'), 'Normal', 'ConfigstampRolloutPendingWindow', 'change A', { once: 'until 02:00' });
  await sink.post(workload('u1'), 'Normal', 'ConfigstampRolloutPendingWindow', 'change B', { once: 'until 02:00' });
  t.equal(posted.length, 1, 'the same hold, said again with other changes: one Event');
  t.match(posted[0]!.metadata.name, /^web\.cs[0-9a-f]{16}$/);
  t.match(posted[0], { involvedObject: { kind: 'Deployment', name: 'web', uid: 'u1' } }, "the workload's UID, by which kubectl describe finds its Events");
  await sink.post(workload('u1'), 'Normal', 'ConfigstampRolloutPendingWindow', 'm', { once: 'until 03:00' });
  await sink.post(workload('u2'), 'Normal', 'ConfigstampRolloutPendingWindow', 'm', { once: 'until 02:00' });
  t.equal(posted.length, 3, 'a new opening, or a re-created workload (new UID): a new Event');
  await sink.post(workload('u1'), 'Normal', 'ConfigstampRollout', 'm');
  await sink.post(workload('u1'), 'Normal', 'ConfigstampRollout', 'm');
  t.equal(posted.filter((p) => p.metadata.generateName === 'web.').length, 2, 'other Events are named by the API server, each posted');
  t.equal(lines.filter((l) => l.msg === 'could not post Event').length, 0, 'a refused second saying is no failure');
});
