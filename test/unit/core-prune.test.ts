// pruneWorkload: the watcher keeps workloads pruned, so every core answer must be the same for the
// pruned object as for the whole one, for every kind, reference shape and annotation the core reads.
import t from 'tap';
import fc from 'fast-check';
import {
  DEFAULT_POLICY,
  Ours,
  Reloader,
  WORKLOAD_KINDS,
  Wave,
  decideReconcile,
  extractReferences,
  getPath,
  makeStamp,
  formatStamp,
  planTracking,
  readRecorded,
  selectTrackedSources,
} from '../../shared/core/index.js';
import { LAST_APPLIED, pruneWorkload } from '../../shared/core/prune.js';
import type { JsonRecord, PolicyOptions, WorkloadKind } from '../../shared/core/index.js';
import { FakeNamespace, configMap, namespace, secret, setPath, workload } from '../fixtures/index.js';

const NAMES = ['app', 'db', 'flags', 'tls'];
const nameArb = fc.constantFrom(...NAMES, 'Bad_Name');
const keyArb = fc.constantFrom('a', 'b', 'c');
const optionalArb = fc.option(fc.boolean(), { nil: undefined });

const envArb = fc.oneof(
  fc.record({ name: fc.constant('PLAIN'), value: fc.string() }),
  fc.record({
    name: fc.constant('CM'),
    valueFrom: fc.record({ configMapKeyRef: fc.record({ name: nameArb, key: keyArb, optional: optionalArb }, { requiredKeys: ['name', 'key'] }) }),
  }),
  fc.record({
    name: fc.constant('SEC'),
    valueFrom: fc.record({ secretKeyRef: fc.record({ name: nameArb, key: keyArb, optional: optionalArb }, { requiredKeys: ['name', 'key'] }) }),
  }),
  fc.record({ name: fc.constant('FIELD'), valueFrom: fc.record({ fieldRef: fc.record({ fieldPath: fc.constant('metadata.name') }) }) }),
);
const envFromArb = fc.oneof(
  fc.record({ configMapRef: fc.record({ name: nameArb, optional: optionalArb }, { requiredKeys: ['name'] }) }),
  fc.record({ secretRef: fc.record({ name: nameArb }) }),
);
const itemsArb = fc.option(fc.array(fc.record({ key: keyArb, path: fc.constant('p') }), { maxLength: 2 }), { nil: undefined });
const volumeArb = fc.oneof(
  fc.record({ name: fc.constant('cm'), configMap: fc.record({ name: nameArb, items: itemsArb }, { requiredKeys: ['name'] }) }),
  fc.record({ name: fc.constant('sec'), secret: fc.record({ secretName: nameArb, items: itemsArb }, { requiredKeys: ['secretName'] }) }),
  fc.record({
    name: fc.constant('proj'),
    projected: fc.record({
      sources: fc.array(
        fc.oneof(
          fc.record({ configMap: fc.record({ name: nameArb }) }),
          fc.record({ secret: fc.record({ name: nameArb, items: itemsArb }, { requiredKeys: ['name'] }) }),
          fc.record({ serviceAccountToken: fc.record({ path: fc.constant('token') }) }),
        ),
        { maxLength: 3 },
      ),
    }),
  }),
  fc.record({ name: fc.constant('scratch'), emptyDir: fc.constant({}) }),
  fc.constant('not a volume'),
);
const containerArb = fc.record(
  {
    name: fc.constant('c'),
    image: fc.constant('app:1'),
    env: fc.option(fc.array(envArb, { maxLength: 4 }), { nil: undefined }),
    envFrom: fc.option(fc.array(envFromArb, { maxLength: 2 }), { nil: undefined }),
    resources: fc.constant({ limits: { cpu: '1' } }),
  },
  { requiredKeys: ['name', 'image'] },
);
const podSpecArb = fc.record(
  {
    containers: fc.array(containerArb, { minLength: 1, maxLength: 2 }),
    initContainers: fc.option(fc.array(containerArb, { maxLength: 1 }), { nil: undefined }),
    ephemeralContainers: fc.option(fc.array(containerArb, { maxLength: 1 }), { nil: undefined }),
    volumes: fc.option(fc.array(volumeArb, { maxLength: 3 }), { nil: undefined }),
    serviceAccountName: fc.constant('default'),
  },
  { requiredKeys: ['containers'] },
);

const stampValue = fc.constantFrom(
  formatStamp(makeStamp([{ kind: 'ConfigMap', name: 'app', digest: '0123456789abcdef' }])),
  formatStamp(makeStamp([{ kind: 'Secret', name: 'db', digest: 'absent' }])),
  'garbage',
);
const annotationsArb = fc.dictionary(
  fc.constantFrom(
    Ours.track,
    Ours.configMaps,
    Ours.secrets,
    Ours.excludeConfigMaps,
    Ours.excludeSecrets,
    Reloader.auto,
    Reloader.configMapAuto,
    Reloader.secretAuto,
    Reloader.configMapReload,
    Reloader.secretReload,
    Reloader.search,
    Reloader.excludeConfigMaps,
    Reloader.excludeSecrets,
    Wave.updateOnConfigChange,
    Wave.extraConfigMaps,
    Wave.extraSecrets,
    'team',
  ),
  fc.constantFrom('true', 'false', 'app,db', 'fla.*', 'tls'),
  { maxKeys: 4 },
);

interface Scene {
  kind: WorkloadKind;
  object: JsonRecord;
}
const sceneArb: fc.Arbitrary<Scene> = fc
  .record({
    kind: fc.constantFrom(...WORKLOAD_KINDS),
    spec: podSpecArb,
    own: annotationsArb,
    template: annotationsArb,
    templateStamp: fc.option(stampValue, { nil: undefined }),
    adoptedStamp: fc.option(stampValue, { nil: undefined }),
    lastApplied: fc.boolean(),
  })
  .map(({ kind, spec, own, template, templateStamp, adoptedStamp, lastApplied }) => {
    const ownAnnotations: Record<string, string> = { ...own };
    if (adoptedStamp !== undefined) ownAnnotations[Ours.adoptedStamp] = adoptedStamp;
    if (lastApplied) ownAnnotations[LAST_APPLIED] = JSON.stringify({ spec });
    const templateAnnotations: Record<string, string> = { ...template };
    if (templateStamp !== undefined) templateAnnotations[Ours.stamp] = templateStamp;
    const object = workload(kind.kind, { annotations: ownAnnotations, templateAnnotations, podSpec: spec as unknown as JsonRecord });
    return { kind, object };
  });

const catalog = new FakeNamespace([configMap('app', { a: '1' }), configMap('flags', { b: '2' }), secret('db', { c: '3' }), secret('tls', { a: '4' })]);
const policies: PolicyOptions[] = [DEFAULT_POLICY, { ...DEFAULT_POLICY, trackAll: true }, { ...DEFAULT_POLICY, reloaderCompat: true, waveCompat: true }];

function answers(kind: WorkloadKind, object: unknown, options: PolicyOptions): unknown {
  const refs = extractReferences(getPath(object, kind.templatePath));
  const plan = planTracking({ kind, object }, refs, namespace('shop'), options);
  const tracked = selectTrackedSources(plan, catalog, options);
  const current = makeStamp(tracked.map((s) => ({ kind: s.kind, name: s.name, digest: 'fedcba9876543210' })));
  return {
    refs,
    plan,
    tracked,
    recorded: readRecorded(kind, object),
    decision: decideReconcile(kind, object, current, { rollOnDelete: false }),
    decisionOnDelete: decideReconcile(kind, object, [], { rollOnDelete: true }),
  };
}

t.test('every core answer is the same for the pruned workload as for the whole one', async (t) => {
  fc.assert(
    fc.property(sceneArb, fc.constantFrom(...policies), ({ kind, object }, options) => {
      const before = JSON.stringify(object);
      const pruned = pruneWorkload(kind, object);
      t.equal(JSON.stringify(object), before, 'the input is not mutated');
      return JSON.stringify(answers(kind, pruned, options)) === JSON.stringify(answers(kind, object, options));
    }),
    { numRuns: 400 },
  );
});

t.test('what pruning leaves out', async (t) => {
  const object = workload('Deployment', {
    annotations: { [Ours.track]: 'true', [LAST_APPLIED]: '{"big":"manifest"}' },
    podSpec: {
      containers: [
        {
          name: 'app',
          image: 'app:1',
          ports: [{ containerPort: 80 }],
          env: [
            { name: 'PLAIN', value: 'hello' },
            { name: 'CM', valueFrom: { configMapKeyRef: { name: 'app', key: 'a' } } },
          ],
          envFrom: [{ secretRef: { name: 'db' } }],
        },
      ],
      volumes: [
        { name: 'scratch', emptyDir: {} },
        { name: 'cm', configMap: { name: 'flags' } },
      ],
      nodeSelector: { disk: 'ssd' },
    },
  });
  setPath(object, ['status'], { replicas: 3, collisionCount: 7, terminatingReplicas: 1 });
  const kind = WORKLOAD_KINDS[0]!;
  const pruned = pruneWorkload(kind, object) as JsonRecord;
  const text = JSON.stringify(pruned);
  for (const gone of ['app:1', 'hello', 'containerPort', 'scratch', 'ssd', 'big', 'collisionCount', 'terminatingReplicas', 'strategy'])
    t.notOk(text.includes(gone), `${gone} is dropped`);
  t.same(pruned.status, { replicas: 3 }, 'the status fields the rollout budget reads are kept, no others');
  t.equal(getPath(pruned, ['spec', 'replicas']), 2, 'and spec.replicas');
  t.same(getPath(pruned, ['spec', 'template', 'spec', 'containers']), [
    {
      name: 'app',
      envFrom: [{ secretRef: { name: 'db' } }],
      env: [{ name: 'CM', valueFrom: { configMapKeyRef: { name: 'app', key: 'a' } } }],
    },
  ]);
  t.same(getPath(pruned, ['spec', 'template', 'spec', 'volumes']), [{ name: 'cm', configMap: { name: 'flags' } }]);
  t.same(getPath(pruned, ['metadata', 'annotations']), { [Ours.track]: 'true' });
  t.equal(getPath(pruned, ['metadata', 'name']), getPath(object, ['metadata', 'name']));
  t.equal(getPath(pruned, ['metadata', 'resourceVersion']), getPath(object, ['metadata', 'resourceVersion']));
  t.ok(text.length < JSON.stringify(object).length, `pruned ${text.length} bytes of ${JSON.stringify(object).length}`);
});

t.test('malformed workloads prune without throwing and keep their answers', async (t) => {
  const kind = WORKLOAD_KINDS.find((k) => k.kind === 'CronJob')!;
  for (const object of [
    null,
    'text',
    [],
    {},
    { metadata: 'x' },
    { spec: { jobTemplate: 'x' } },
    { spec: { jobTemplate: { spec: { template: { spec: { containers: 'x', volumes: 3 } } } } } },
  ]) {
    const pruned = pruneWorkload(kind, object);
    t.same(answers(kind, pruned, DEFAULT_POLICY), answers(kind, object, DEFAULT_POLICY), JSON.stringify(object));
  }
});
