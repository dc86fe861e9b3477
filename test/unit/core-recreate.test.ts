/**
 * Jobs roll by re-creation, and only when they opt in: the policy's verdicts, the decision, and
 * the replacement object (what the API server owns is gone, the stamp is current, the rest kept).
 */
import t from 'tap';
import { DEFAULT_POLICY, Ours, Reloader, decideReconcile, formatStamp, recreatedObject, wantedSources, workloadKindByName } from '../../shared/core/index.js';
import type { JsonRecord } from '../../shared/core/index.js';
import { parseFlags } from '../../shared/config/flags.js';
import { POLICY_FLAGS, policyFromFlags } from '../../shared/config/shared-flags.js';
import { podSpec, workload } from '../fixtures/index.js';

const JOB = workloadKindByName('Job')!;
const STAMP = [{ kind: 'ConfigMap' as const, name: 'settings', digest: '0123456789abcdef' }];

function job(annotations: Record<string, string>, extra: (o: JsonRecord) => void = () => undefined): JsonRecord {
  const o = workload('Job', { annotations, podSpec: podSpec({ envFrom: [{ configMapRef: { name: 'settings' } }] }, { restartPolicy: 'Never' }) });
  extra(o);
  return o;
}

const plan = (object: unknown, policy = DEFAULT_POLICY) => wantedSources({ kind: JOB, object, namespace: { name: 'shop', labels: {} }, policy });

t.test('a Job is tracked only when it opts in, and never when its controller owns it', async (t) => {
  const auto = { [Reloader.auto]: 'true' };
  const off = plan(job(auto));
  t.notOk(off.tracked, 'tracking keys alone do not re-create a Job');
  t.match(off.tracked ? '' : off.reason, /re-created only when they opt in/);
  t.ok(plan(job({ ...auto, [Ours.recreate]: 'true' })).tracked, 'its own annotation opts in');
  const recreateJobs = policyFromFlags(parseFlags(POLICY_FLAGS, ['--recreate-jobs'], {}).values);
  t.equal(recreateJobs.recreateJobs, true);
  t.ok(plan(job(auto), recreateJobs).tracked, '--recreate-jobs opts every tracked Job in');
  t.notOk(plan(job({ ...auto, [Ours.recreate]: 'false' }), recreateJobs).tracked, 'its own "false" wins over the flag');
  t.notOk(plan(job({ [Ours.recreate]: 'true' })).tracked, 'opting in to re-creation is not tracking');
  const owned = plan(
    job({ ...auto, [Ours.recreate]: 'true' }, (o) => {
      (o.metadata as JsonRecord).ownerReferences = [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'nightly', uid: 'u', controller: true }];
    }),
  );
  t.notOk(owned.tracked);
  t.match(owned.tracked ? '' : owned.reason, /owned by CronJob nightly/);
  const ignored = policyFromFlags(parseFlags(POLICY_FLAGS, ['--recreate-jobs', '--ignored-workload-types=jobs'], {}).values);
  t.notOk(plan(job(auto), ignored).tracked, "--ignored-workload-types=jobs: Reloader's meaning");
});

t.test('a drifted Job is re-created: the decision carries its replacement', async (t) => {
  const o = job({ [Reloader.auto]: 'true', [Ours.recreate]: 'true', [Ours.adoptedStamp]: 'v1:configmap/settings=aaaaaaaaaaaaaaaa' });
  const d = decideReconcile(JOB, o, STAMP, { rollOnDelete: false });
  t.equal(d.action, 'rollout');
  if (d.action !== 'rollout') return;
  t.same(d.patch, {}, 'nothing is patched');
  t.ok(d.recreate);
  const r = d.recreate!;
  t.equal((r.metadata as JsonRecord).name, 'migrate', 'the same name');
  t.equal(
    ((r.spec as JsonRecord).template as JsonRecord & { metadata: { annotations: Record<string, string> } }).metadata.annotations[Ours.stamp],
    formatStamp(STAMP),
  );
  t.notOk(((r.metadata as JsonRecord).annotations as Record<string, string>)[Ours.adoptedStamp], 'our records start afresh');
  t.equal(decideReconcile(JOB, r, STAMP, { rollOnDelete: false }).action, 'none', 'the replacement is current: no second re-creation');
});

t.test('the replacement drops what the API server owns and keeps the rest', async (t) => {
  const o = job({ keep: 'me' });
  const before = JSON.stringify(o);
  const r = recreatedObject(JOB, o, 'v1:')!;
  t.equal(JSON.stringify(o), before, 'the input is not changed');
  const m = r.metadata as JsonRecord;
  for (const k of ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields']) t.notOk(k in m, `no metadata.${k}`);
  t.notOk('status' in r, 'no status');
  t.same(m.labels, { app: 'migrate' }, 'the labels derived from the old UID and name are gone');
  t.same(m.annotations, { keep: 'me' });
  const spec = r.spec as JsonRecord & { template: { metadata: { labels: Record<string, string> } } };
  t.notOk('selector' in spec, 'the generated selector is gone');
  t.same(spec.template.metadata.labels, { app: 'migrate' });
  t.equal(spec.backoffLimit, 6, 'the rest of the spec is kept');
  const manual = job({}, (x) => {
    (x.spec as JsonRecord).manualSelector = true;
  });
  const rm = recreatedObject(JOB, manual, 'v1:')!;
  t.ok('selector' in (rm.spec as JsonRecord), 'a selector the user manages (manualSelector) stays');
  t.equal(recreatedObject(JOB, 'junk', 'v1:'), undefined);
  t.equal(recreatedObject(JOB, { metadata: {} }, 'v1:'), undefined, 'no template: no replacement');
});
