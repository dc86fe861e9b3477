/**
 * Jobs on a real control plane (kube-controller-manager's Job controller and garbage collector
 * running): a Job that opts in is stamped at admission and re-created once per consumed change,
 * under its name, with the current stamp; one that does not is left alone; and a re-creation
 * interrupted between the delete and the create (the watcher's own code, its create made to fail)
 * is finished by the next watcher from the intent it recorded first.
 */
import t from 'tap';
import type { KubeApi } from '../../shared/kube/client.js';
import { workloadKindByName } from '../../shared/core/kinds.js';
import { createLogger } from '../../shared/log.js';
import { Recreator } from '../../watcher/recreate.js';
import { eventually, sleep } from '../support/poll.js';
import { registerWebhook, startWebhookProcess } from '../support/webhook-registration.js';
import { apply, configMap, createNamespace, startCluster, startWatcher } from './watcher-support.js';
import type { RunningWatcher } from './watcher-support.js';

const { cluster, client } = await startCluster(t);
await createNamespace(cluster, 'configstamp');
const ns = await createNamespace(cluster, 'jobs');
let watcher: RunningWatcher = await startWatcher(cluster, 'configstamp');
t.teardown(() => watcher.proc.stop());
const webhook = await startWebhookProcess(cluster, ['--namespace=configstamp']);
t.teardown(() => webhook.process.stop());
await webhook.process.waitFor((r) => r.msg === 'hash key loaded', 30_000);
t.teardown(await registerWebhook(cluster, webhook.port, webhook.caPem));

const JOBS = `/apis/batch/v1/namespaces/${ns}/jobs`;
const INTENTS = '/api/v1/namespaces/configstamp/secrets?labelSelector=configstamp.io%2Fintent%3Drecreate';

function job(name: string, annotations: Record<string, string>) {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, annotations, labels: { app: name } },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { labels: { app: name } },
        spec: { restartPolicy: 'Never', containers: [{ name: 'run', image: 'registry.invalid/migrate:1', envFrom: [{ configMapRef: { name: 'settings' } }] }] },
      },
    },
  };
}

interface JobObject {
  metadata: { uid: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: { template: { metadata: { annotations?: Record<string, string>; labels?: Record<string, string> } } };
}
const getJob = (name: string): Promise<JobObject | null> => client.getOrNull<JobObject>(`${JOBS}/${name}`);
const uidOf = async (name: string): Promise<string | undefined> => (await getJob(name))?.metadata.uid;
const intents = async (): Promise<unknown[]> => (await client.request<{ items: unknown[] }>('GET', INTENTS)).items;

await apply(cluster, ns, [
  configMap('settings', { level: 'info' }),
  job('migrate', { 'reloader.stakater.com/auto': 'true', 'configstamp.io/recreate-on-change': 'true' }),
  job('plain', { 'reloader.stakater.com/auto': 'true' }),
]);

t.test('a Job that opts in is stamped at admission and re-created once per change; one that does not is left alone', async (t) => {
  const created = (await getJob('migrate'))!;
  const stamp = created.spec.template.metadata.annotations?.['configstamp.io/stamp'];
  t.match(stamp, /^v1:configmap\/settings=[0-9a-f]{16}$/, 'stamped at admission');
  t.notOk((await getJob('plain'))!.spec.template.metadata.annotations?.['configstamp.io/stamp'], 'a Job that does not opt in is not stamped');
  const plainUid = await uidOf('plain');
  await apply(cluster, ns, [configMap('settings', { level: 'debug' })]);
  const replaced = await eventually('migrate re-created', async () => {
    const uid = await uidOf('migrate');
    return uid !== undefined && uid !== created.metadata.uid ? uid : undefined;
  });
  const now = (await getJob('migrate'))!;
  t.not(now.spec.template.metadata.annotations?.['configstamp.io/stamp'], stamp, 'the replacement carries the new stamp');
  t.equal(now.metadata.annotations?.['configstamp.io/recreate-on-change'], 'true', 'and its own annotations');
  t.equal(now.metadata.labels?.['app'], 'migrate', 'and its labels');
  t.equal(
    now.spec.template.metadata.labels?.['batch.kubernetes.io/controller-uid'],
    now.metadata.uid,
    "the API server derived the template's labels from the new UID, not the old one's",
  );
  await sleep(2_000);
  t.equal(await uidOf('migrate'), replaced, 'one change, one re-creation');
  t.equal(await uidOf('plain'), plainUid, 'the Job that did not opt in is untouched');
  t.same(await intents(), [], 'no intent left behind');
  t.ok(
    watcher.proc.records().some((r) => r.msg === 'rollout: re-created (deleted, then created again under its name)' && r.workload === `Job/${ns}/migrate`),
    'the watcher logged the re-creation',
  );
  const events = await client.request<{ items: { involvedObject: { name: string }; message: string }[] }>('GET', `/api/v1/namespaces/${ns}/events`);
  t.ok(
    events.items.some((e) => e.involvedObject.name === 'migrate' && /re-created Job migrate: ConfigMap\/settings/.test(e.message)),
    'an Event names the change',
  );
});

t.test('a re-creation interrupted between the delete and the create is finished by the next watcher', async (t) => {
  await watcher.proc.stop();
  const current = (await client.request<Record<string, unknown>>('GET', `${JOBS}/migrate`)) as { metadata: { uid: string } };
  // The watcher's own code, with the API refusing the create: the Job is deleted, its replacement
  // recorded, and the process "dies" there.
  const failingCreate: KubeApi = {
    request: (method, path, options) =>
      method === 'POST' && path === JOBS ? Promise.reject(new Error('killed before the create')) : client.request(method, path, options),
    getOrNull: (path, options) => client.getOrNull(path, options),
    watch: (path, options, onEvent) => client.watch(path, options, onEvent),
    close: () => undefined,
  };
  const kind = workloadKindByName('Job')!;
  const replacement = job('migrate', { 'reloader.stakater.com/auto': 'true', 'configstamp.io/recreate-on-change': 'true' });
  (replacement.metadata as Record<string, unknown>).namespace = ns;
  await t.rejects(
    new Recreator(failingCreate, 'configstamp', createLogger('silent', 'test')).recreate(
      { key: `Job/${ns}/migrate`, kind, namespace: ns, name: 'migrate', object: current },
      current.metadata.uid,
      replacement,
    ),
    /killed before the create/,
  );
  await eventually('the old Job gone', async () => ((await getJob('migrate')) === null ? true : undefined));
  t.equal((await intents()).length, 1, 'the intent was recorded before the delete');
  watcher = await startWatcher(cluster, 'configstamp');
  const uid = await eventually('migrate back', async () => await uidOf('migrate'));
  t.not(uid, current.metadata.uid, 'the replacement was created from the intent');
  await eventually('the intent dropped', async () => ((await intents()).length === 0 ? true : undefined));
  t.ok(
    watcher.proc.records().some((r) => r.msg === 're-created from the intent an interrupted re-creation left behind'),
    'the watcher says what it finished',
  );
});
