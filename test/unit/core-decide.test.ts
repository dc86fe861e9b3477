// The watcher's decision for one workload: nothing, adopt (write the workload's metadata, restart
// nothing) or roll out (write the pod template). Each case builds the workload and its sources from
// fixtures, runs the real pipeline (references → policy → digests → stamp → decision) and applies
// the resulting merge patch, so "it converges" is checked, not assumed.
import t from 'tap';
import fc from 'fast-check';
import {
  ABSENT,
  DEFAULT_POLICY,
  Ours,
  parseGoDuration,
  Reloader,
  restartsPods,
  WORKLOAD_KINDS,
  computeDrift,
  decideReconcile,
  formatVersions,
  parseVersions,
  parseVersionRecord,
  recordedDigests,
  sealOf,
  keysOfTracked,
  trustedVersions,
  versionsText,
  effectiveDigests,
  extractReferences,
  formatStamp,
  getPath,
  makeStamp,
  planTracking,
  readRecorded,
  selectTrackedSources,
  stampDigest,
  templatesEqualIgnoringStamp,
} from '../../shared/core/index.js';
import type {
  DriftOptions,
  JsonRecord,
  KeySelection,
  PolicyOptions,
  ReconcileDecision,
  SealedSource,
  Stamp,
  TrackedSource,
  VersionSeal,
} from '../../shared/core/index.js';
import { FakeNamespace, configMap, hashKey, kindRow, namespace, podSpec, secret, currentStamp, setPath, workload } from '../fixtures/index.js';
import { applyMergePatch } from '../fixtures/json-patch.js';
import { SourceTable } from '../../shared/core/source-table.js';

const KEY = hashKey(7);
const OFF: DriftOptions = { rollOnDelete: false };
const ON: DriftOptions = { rollOnDelete: true };

const SPEC = (): JsonRecord =>
  podSpec(
    { envFrom: [{ configMapRef: { name: 'app-config' } }] },
    { volumes: [{ name: 'db', secret: { secretName: 'db-credentials', items: [{ key: 'password', path: 'password' }] } }] },
  );

function sources(): FakeNamespace {
  return new FakeNamespace([configMap('app-config', { LOG_LEVEL: 'info' }), secret('db-credentials', { username: 'app', password: 'pw1' })]);
}

/** The whole pure pipeline for one workload, as the watcher runs it. */
function current(kind: string, object: unknown, fake: FakeNamespace, options: PolicyOptions = DEFAULT_POLICY): Stamp {
  const row = kindRow(kind);
  const refs = extractReferences(getPath(object, row.templatePath));
  const plan = planTracking({ kind: row, object }, refs, namespace('shop'), options);
  const tracked = selectTrackedSources(plan, fake, options);
  return currentStamp(KEY, 'shop', tracked, fake.lookup);
}

function decide(kind: string, object: unknown, fake: FakeNamespace, drift: DriftOptions = OFF): ReconcileDecision {
  return decideReconcile(kindRow(kind), object, current(kind, object, fake), drift);
}

/** The workload after the decision's patch; "none" leaves it as it was. */
function apply(object: JsonRecord, decision: ReconcileDecision): JsonRecord {
  return decision.action === 'none' ? object : (applyMergePatch(object, decision.patch) as JsonRecord);
}

const tracked = (annotations: Record<string, string> = { [Ours.track]: 'true' }): JsonRecord => workload('Deployment', { annotations, podSpec: SPEC() });

/** A workload whose pods were rolled with the sources as they are now. */
function stamped(fake: FakeNamespace): JsonRecord {
  const object = tracked();
  setPath(object, ['spec', 'template', 'metadata', 'annotations'], { [Ours.stamp]: formatStamp(current('Deployment', object, fake)) });
  return object;
}

t.test('stamped with the current digests: nothing to do', async (t) => {
  const fake = sources();
  t.strictSame(decide('Deployment', stamped(fake), fake), { action: 'none' });
});

t.test("never stamped: adopt on the workload's metadata, restart nothing", async (t) => {
  const fake = sources();
  const object = tracked();
  const decision = decide('Deployment', object, fake);
  const now = current('Deployment', object, fake);
  t.equal(decision.action, 'adopt');
  if (decision.action !== 'adopt') return;
  t.strictSame(decision.adopted, now);
  t.strictSame(decision.unrecorded, now);
  t.strictSame(decision.patch, { metadata: { annotations: { [Ours.adoptedStamp]: formatStamp(now) }, resourceVersion: '1001' } });
  t.notOk(JSON.stringify(decision.patch).includes(Ours.stamp + '"'), 'the pod template is not touched');
  const after = apply(object, decision);
  t.strictSame(getPath(after, ['spec', 'template']), getPath(object, ['spec', 'template']), 'template byte-identical');
  t.strictSame(decide('Deployment', after, fake), { action: 'none' }, 'and it converges');
});

t.test('adopted, then a consumed key changes: roll out, and the adopted stamp goes', async (t) => {
  const fake = sources();
  const adopted = apply(tracked(), decide('Deployment', tracked(), fake));
  const before = current('Deployment', adopted, fake);
  fake.put(configMap('app-config', { LOG_LEVEL: 'debug' }));
  const decision = decide('Deployment', adopted, fake);
  t.equal(decision.action, 'rollout');
  if (decision.action !== 'rollout') return;
  const now = current('Deployment', adopted, fake);
  t.strictSame(decision.stamp, now);
  t.strictSame(decision.changes, [{ kind: 'ConfigMap', name: 'app-config', from: before[0]!.digest, to: now[0]!.digest }]);
  t.strictSame(decision.patch, {
    metadata: { annotations: { [Ours.adoptedStamp]: null }, resourceVersion: '1001' },
    spec: { template: { metadata: { annotations: { [Ours.stamp]: formatStamp(now) } } } },
  });
  const after = apply(adopted, decision);
  t.equal(getPath(after, ['metadata', 'annotations', Ours.adoptedStamp]), undefined);
  t.strictSame(decide('Deployment', after, fake), { action: 'none' }, 'converges');
});

t.test('stamped, then a consumed key changes: roll out; no adopted stamp to remove', async (t) => {
  const fake = sources();
  const object = stamped(fake);
  fake.put(secret('db-credentials', { username: 'app', password: 'pw2' }));
  const decision = decide('Deployment', object, fake);
  t.equal(decision.action, 'rollout');
  if (decision.action !== 'rollout') return;
  t.strictSame(
    decision.changes.map((c) => `${c.kind}/${c.name}`),
    ['Secret/db-credentials'],
  );
  t.strictSame(Object.keys(decision.patch.metadata as JsonRecord), ['resourceVersion'], 'only the guard on metadata');
  t.strictSame(decide('Deployment', apply(object, decision), fake), { action: 'none' });
});

t.test('changes the pod does not see roll nothing', async (t) => {
  const rows: [string, (fake: FakeNamespace) => void][] = [
    ['a key the pod does not consume', (f) => f.put(secret('db-credentials', { username: 'other', password: 'pw1' }))],
    ['a key added to a source consumed by key', (f) => f.put(secret('db-credentials', { username: 'app', password: 'pw1', extra: 'x' }))],
    [
      'labels and annotations',
      (f) => f.put(configMap('app-config', { LOG_LEVEL: 'info' }, undefined, { labels: { new: 'label' }, annotations: { touched: 'now' } })),
    ],
    ['an untracked source', (f) => f.put(configMap('unrelated', { a: 'b' }))],
  ];
  for (const [name, change] of rows) {
    const fake = sources();
    const object = stamped(fake);
    change(fake);
    t.strictSame(decide('Deployment', object, fake), { action: 'none' }, name);
  }
});

t.test('a newly tracked source is adopted; the template stamp stays', async (t) => {
  const fake = sources();
  const object = stamped(fake);
  setPath(object, ['metadata', 'annotations', Ours.configMaps], 'extra');
  fake.put(configMap('extra', { e: '1' }));
  const decision = decide('Deployment', object, fake);
  t.equal(decision.action, 'adopt');
  if (decision.action !== 'adopt') return;
  t.strictSame(
    decision.unrecorded.map((e) => e.name),
    ['extra'],
  );
  t.strictSame(
    decision.adopted.map((e) => e.name),
    ['extra'],
  );
  const after = apply(object, decision);
  t.equal(
    getPath(after, ['spec', 'template', 'metadata', 'annotations', Ours.stamp]),
    getPath(object, ['spec', 'template', 'metadata', 'annotations', Ours.stamp]),
  );
  t.strictSame(decide('Deployment', after, fake), { action: 'none' });
  fake.put(configMap('extra', { e: '2' }));
  t.equal(decide('Deployment', after, fake).action, 'rollout', 'and once adopted, its change rolls');
});

t.test('an adopted stamp fills in; earlier adopted entries are kept', async (t) => {
  const fake = sources();
  const object = tracked();
  const old = makeStamp([{ kind: 'ConfigMap', name: 'gone', digest: '0123456789abcdef' }]);
  setPath(object, ['metadata', 'annotations', Ours.adoptedStamp], formatStamp(old));
  const decision = decide('Deployment', object, fake);
  t.equal(decision.action, 'adopt');
  if (decision.action !== 'adopt') return;
  t.strictSame(
    decision.adopted.map((e) => e.name),
    ['app-config', 'gone', 'db-credentials'],
  );
});

t.test('template entries win over adopted ones', async (t) => {
  const fake = sources();
  const object = stamped(fake);
  const now = current('Deployment', object, fake);
  const stale = makeStamp(now.map((e) => ({ ...e, digest: '0000000000000000' })));
  setPath(object, ['metadata', 'annotations', Ours.adoptedStamp], formatStamp(stale));
  t.strictSame(decide('Deployment', object, fake), { action: 'none' });
  const recorded = readRecorded(kindRow('Deployment'), object);
  t.strictSame(
    [...effectiveDigests(recorded).values()],
    now.map((e) => e.digest),
  );
});

t.test('deletion rolls only when asked (rollOnDelete)', async (t) => {
  const fake = sources();
  const object = stamped(fake);
  fake.delete('Secret', 'db-credentials');
  t.strictSame(decide('Deployment', object, fake, OFF), { action: 'none' }, 'off: pods keep running on what they have');
  const decision = decide('Deployment', object, fake, ON);
  t.equal(decision.action, 'rollout', 'on: roll');
  if (decision.action === 'rollout')
    t.strictSame(
      decision.changes.map((c) => c.to),
      [ABSENT],
    );
  fake.put(secret('db-credentials', { username: 'app', password: 'pw1' }));
  t.strictSame(decide('Deployment', object, fake, OFF), { action: 'none' }, 'recreated as it was: nothing');
});

t.test('a source recorded absent that appears rolls the workload that waited for it', async (t) => {
  const fake = sources();
  fake.delete('Secret', 'db-credentials');
  const object = stamped(fake);
  t.match(getPath(object, ['spec', 'template', 'metadata', 'annotations', Ours.stamp]), /secret\/db-credentials=absent/);
  fake.put(secret('db-credentials', { password: 'pw' }));
  const decision = decide('Deployment', object, fake);
  t.equal(decision.action, 'rollout');
  if (decision.action === 'rollout')
    t.strictSame(
      decision.changes.map((c) => c.from),
      [ABSENT],
    );
});

t.test('a change and a new source at once: one rollout that records both', async (t) => {
  const fake = sources();
  const object = stamped(fake);
  setPath(object, ['metadata', 'annotations', Ours.secrets], 'extra-secret');
  fake.put(secret('extra-secret', { s: '1' })).put(configMap('app-config', { LOG_LEVEL: 'warn' }));
  const decision = decide('Deployment', object, fake);
  t.equal(decision.action, 'rollout');
  if (decision.action !== 'rollout') return;
  t.strictSame(
    decision.stamp.map((e) => e.name),
    ['app-config', 'db-credentials', 'extra-secret'],
  );
  t.strictSame(
    decision.changes.map((c) => c.name),
    ['app-config'],
  );
  t.strictSame(decide('Deployment', apply(object, decision), fake), { action: 'none' });
});

t.test('a source no longer tracked is left in the stamp: nothing to do', async (t) => {
  const fake = sources();
  const object = stamped(fake);
  setPath(object, ['metadata', 'annotations', Ours.excludeSecrets], 'db-credentials');
  fake.put(secret('db-credentials', { password: 'changed' }));
  t.strictSame(decide('Deployment', object, fake), { action: 'none' });
});

t.test('an unreadable stamp counts as none: adopt, never roll', async (t) => {
  const fake = sources();
  const object = tracked();
  setPath(object, ['spec', 'template', 'metadata', 'annotations'], { [Ours.stamp]: 'v1:configmap/app-config=garbage' });
  t.equal(decide('Deployment', object, fake).action, 'adopt');
});

t.test('untracked workloads, or nothing tracked: nothing to do', async (t) => {
  const fake = sources();
  t.strictSame(decide('Deployment', workload('Deployment', { podSpec: SPEC() }), fake), { action: 'none' });
  t.strictSame(decideReconcile(kindRow('Deployment'), tracked(), [], OFF), { action: 'none' });
});

t.test('resourceVersion guards the patch when the object has one', async (t) => {
  const fake = sources();
  const none = workload('Deployment', { annotations: { [Ours.track]: 'true' }, podSpec: SPEC(), resourceVersion: null });
  const withoutRv = decide('Deployment', none, fake);
  t.equal(withoutRv.action, 'adopt');
  if (withoutRv.action === 'adopt') t.notOk(Object.hasOwn(withoutRv.patch.metadata as JsonRecord, 'resourceVersion'));
  const numeric = tracked();
  setPath(numeric, ['metadata', 'resourceVersion'], 1001);
  const withNumber = decide('Deployment', numeric, fake);
  if (withNumber.action === 'adopt') t.notOk(Object.hasOwn(withNumber.patch.metadata as JsonRecord, 'resourceVersion'), 'not a string: not sent');
  const withRv = decide('Deployment', workload('Deployment', { annotations: { [Ours.track]: 'true' }, podSpec: SPEC(), resourceVersion: '77' }), fake);
  if (withRv.action === 'adopt') t.equal((withRv.patch.metadata as JsonRecord).resourceVersion, '77');
});

t.test('every kind: the rollout patch writes its own template path', async (t) => {
  // A Job rolls by re-creation instead (core-recreate.test.ts).
  for (const kind of WORKLOAD_KINDS.filter((k) => k.recreate !== true)) {
    const fake = sources();
    const object = workload(kind.kind, { annotations: { [Ours.track]: 'true' }, podSpec: SPEC() });
    setPath(object, [...kind.templatePath, 'metadata', 'annotations'], { [Ours.stamp]: formatStamp(current(kind.kind, object, fake)) });
    fake.put(configMap('app-config', { LOG_LEVEL: 'trace' }));
    const decision = decide(kind.kind, object, fake);
    t.equal(decision.action, 'rollout', kind.kind);
    if (decision.action !== 'rollout') continue;
    t.equal(getPath(decision.patch, [...kind.templatePath, 'metadata', 'annotations', Ours.stamp]), formatStamp(decision.stamp), `${kind.kind}: path`);
    t.strictSame(decide(kind.kind, apply(object, decision), fake), { action: 'none' }, `${kind.kind}: converges`);
  }
});

t.test('a name that cannot exist never breaks the stamp (no endless re-adoption)', async (t) => {
  const fake = sources();
  const object = tracked({ [Ours.track]: 'true', [Ours.configMaps]: 'Not_A_Name', [Ours.secrets]: '-bad' });
  const first = decide('Deployment', object, fake);
  t.equal(first.action, 'adopt');
  const after = apply(object, first);
  t.strictSame(decide('Deployment', after, fake), { action: 'none' }, 'the adopted stamp reads back');
  fake.put(configMap('app-config', { LOG_LEVEL: 'x' }));
  t.equal(decide('Deployment', after, fake).action, 'rollout', 'and changes still roll');
});

t.test('an Argo Rollout with rollout-strategy restart: spec.restartAt, never the template; once; superseded by a template stamp', async (t) => {
  for (const key of [Ours.rolloutStrategy, Reloader.rolloutStrategy]) {
    const fake = sources();
    const object = workload('Rollout', { annotations: { [Ours.track]: 'true', [key]: 'restart' }, podSpec: SPEC() });
    const templateStamp = formatStamp(current('Rollout', object, fake));
    setPath(object, ['spec', 'template', 'metadata', 'annotations'], { [Ours.stamp]: templateStamp });
    fake.put(secret('db-credentials', { username: 'app', password: 'pw2' }));
    const now = '2026-12-01T10:00:00.000Z';
    const d = decide('Rollout', object, fake, { ...OFF, now });
    t.equal(d.action, 'rollout', key);
    if (d.action !== 'rollout') continue;
    t.match(
      d.patch,
      { spec: { restartAt: now }, metadata: { annotations: { [Ours.restartedStamp]: formatStamp(d.stamp), [Ours.restartedBase]: templateStamp } } },
      `${key}: restartAt and what it applied, in one patch`,
    );
    t.notOk((d.patch.spec as JsonRecord).template, `${key}: the template is left alone`);
    const restarted = apply(object, d);
    t.strictSame(decide('Rollout', restarted, fake, { ...OFF, now: '2026-12-01T10:05:00.000Z' }), { action: 'none' }, `${key}: restarted once, not again`);
    fake.put(secret('db-credentials', { username: 'app', password: 'pw3' }));
    t.match(
      decide('Rollout', restarted, fake, { ...OFF, now: '2026-12-01T10:06:00.000Z' }),
      { action: 'rollout', patch: { spec: { restartAt: '2026-12-01T10:06:00.000Z' } } },
      `${key}: the next change restarts again`,
    );
    // A user's template change is stamped afresh at admission: the restart record no longer applies.
    const edited = structuredClone(restarted);
    setPath(edited, ['spec', 'template', 'metadata', 'annotations'], { [Ours.stamp]: formatStamp(current('Rollout', edited, fake)) });
    t.strictSame(decide('Rollout', edited, fake, { ...OFF, now }), { action: 'none' }, `${key}: a newer template stamp supersedes the restart record`);
  }
  const plain = workload('Rollout', { annotations: { [Ours.track]: 'true' }, podSpec: SPEC() });
  const fake = sources();
  setPath(plain, ['spec', 'template', 'metadata', 'annotations'], { [Ours.stamp]: formatStamp(current('Rollout', plain, fake)) });
  fake.put(secret('db-credentials', { username: 'app', password: 'pw2' }));
  t.match(
    decide('Rollout', plain, fake, { ...OFF, now: '2026-12-01T10:00:00.000Z' }),
    { action: 'rollout', patch: { spec: { template: {} } } },
    'without the annotation a Rollout rolls through its template',
  );
  t.notOk(
    restartsPods(kindRow('Deployment'), { metadata: { annotations: { [Ours.rolloutStrategy]: 'restart' } } }),
    'a kind without a restart field never restarts',
  );
});

t.test('computeDrift on its own', async (t) => {
  const e = (name: string, digest: string) => ({ kind: 'ConfigMap' as const, name, digest });
  const recorded = {
    template: makeStamp([e('a', '1111111111111111'), e('d', '4444444444444444')]),
    adopted: makeStamp([e('b', '2222222222222222')]),
    notified: null,
  };
  const now = makeStamp([e('a', '1111111111111111'), e('b', '2020202020202020'), e('c', '3333333333333333'), e('d', ABSENT)]);
  t.strictSame(computeDrift(recorded, now, OFF), {
    changes: [{ kind: 'ConfigMap', name: 'b', from: '2222222222222222', to: '2020202020202020' }],
    unrecorded: [e('c', '3333333333333333')],
    rekeyed: [],
  });
  t.strictSame(
    computeDrift(recorded, now, ON).changes.map((c) => c.name),
    ['b', 'd'],
  );
  t.strictSame(computeDrift({ template: null, adopted: null, notified: null }, now, OFF), { changes: [], unrecorded: now, rekeyed: [] });
});

t.test('a new hash key: re-keyed where the recorded resourceVersions still hold, rolled where they do not', async (t) => {
  const fake = sources();
  const NEW_KEY = hashKey(8);
  const object = stamped(fake);
  const oldStamp = getPath(object, ['spec', 'template', 'metadata', 'annotations', Ours.stamp]) as string;
  setPath(object, ['metadata', 'annotations', Ours.sourceVersions], 'v1:configmap/app-config=10,secret/db-credentials=20');
  const underNewKey = (o: unknown): Stamp => {
    const row = kindRow('Deployment');
    const plan = planTracking({ kind: row, object: o }, extractReferences(getPath(o, row.templatePath)), namespace('shop'), DEFAULT_POLICY);
    return currentStamp(NEW_KEY, 'shop', selectTrackedSources(plan, fake, DEFAULT_POLICY), fake.lookup);
  };
  const at = (cm: string, secretRv: string): SourceTable<string> => {
    const v = new SourceTable<string>();
    v.set('ConfigMap', 'app-config', cm);
    v.set('Secret', 'db-credentials', secretRv);
    return v;
  };
  const now = underNewKey(object);
  t.notSame(now, current('Deployment', object, fake), 'every digest differs under the new key');

  const rekey = decideReconcile(kindRow('Deployment'), object, now, OFF, at('10', '20'));
  t.equal(rekey.action, 'adopt', 'both still at their recorded versions: nothing rolls');
  if (rekey.action !== 'adopt') return;
  t.strictSame(
    rekey.rekeyed.map((e) => e.name),
    ['app-config', 'db-credentials'],
  );
  t.strictSame(rekey.patch, {
    metadata: {
      annotations: {
        [Ours.restartedStamp]: formatStamp(now),
        [Ours.restartedBase]: oldStamp,
        [Ours.sourceVersions]: 'v1:configmap/app-config=10,secret/db-credentials=20',
      },
      resourceVersion: '1001',
    },
  });
  const rekeyed = apply(object, rekey);
  t.equal(getPath(rekeyed, ['spec', 'template', 'metadata', 'annotations', Ours.stamp]), oldStamp, 'the template is byte-identical');
  t.strictSame(decideReconcile(kindRow('Deployment'), rekeyed, now, OFF, at('10', '20')), { action: 'none' }, 'it converges');
  t.strictSame(decideReconcile(kindRow('Deployment'), rekeyed, now, OFF, at('10', '21')), { action: 'none' }, 'a later metadata-only write: still nothing');

  // One source written since (its version moved, its digest under the new key says nothing): it rolls; the other is re-keyed with it.
  const changed = decideReconcile(kindRow('Deployment'), object, now, OFF, at('10', '21'));
  t.equal(changed.action, 'rollout');
  if (changed.action === 'rollout') {
    t.strictSame(
      changed.changes.map((c) => c.name),
      ['db-credentials'],
      'only the written source is the reason',
    );
    t.equal(getPath(changed.patch, ['spec', 'template', 'metadata', 'annotations', Ours.stamp]), formatStamp(now));
    t.equal(getPath(changed.patch, ['metadata', 'annotations', Ours.sourceVersions]), 'v1:configmap/app-config=10,secret/db-credentials=21');
  }
  // No versions on record (a stamp older than them, or dropped): every differing digest rolls, as before.
  const bare = structuredClone(object);
  delete (bare.metadata as { annotations: Record<string, string> }).annotations[Ours.sourceVersions];
  t.equal(decideReconcile(kindRow('Deployment'), bare, now, OFF, at('10', '20')).action, 'rollout', 'no record: rolled');
  const garbled = structuredClone(object);
  setPath(garbled, ['metadata', 'annotations', Ours.sourceVersions], 'v1:configmap/app-config=10,,');
  t.equal(decideReconcile(kindRow('Deployment'), garbled, now, OFF, at('10', '20')).action, 'rollout', 'a record that does not parse: rolled');
  t.equal(decideReconcile(kindRow('Deployment'), object, now, OFF).action, 'rollout', 'current versions unknown: rolled');
  // Same key, versions moved (metadata-only writes): the digests agree, nothing to do.
  t.strictSame(decideReconcile(kindRow('Deployment'), object, current('Deployment', object, fake), OFF, at('11', '22')), { action: 'none' });
});

t.test('source versions: written beside every record, parsed strictly, never for pod-status sources', async (t) => {
  t.equal(
    formatVersions([
      { kind: 'ConfigMap', name: 'a', version: '5' },
      { kind: 'Secret', name: 'b', version: undefined },
    ]),
    'v1:configmap/a=5',
  );
  t.equal(formatVersions([{ kind: 'SecretProviderClass', name: 'vault', version: '3' }]), undefined, 'a fold count is not a version');
  t.equal(formatVersions([{ kind: 'ConfigMap', name: 'a', version: 'x,y=z' }]), undefined, 'nothing ambiguous');
  const parsed = parseVersions('v1:configmap/a=5,secret/b=6');
  t.same([parsed?.get('ConfigMap', 'a'), parsed?.get('Secret', 'b'), parsed?.size], ['5', '6', 2]);
  t.equal(parseVersions('v1:')?.size, 0);
  for (const bad of [
    undefined,
    7,
    '',
    'v2:configmap/a=5',
    'v1:configmap/a',
    'v1:nope/a=5',
    'v1:configmap/A_=5',
    'v1:configmap/a=5,configmap/a=6',
    'v1:secretproviderclass/v=3',
  ]) {
    t.equal(parseVersions(bad), null, `refused: ${String(bad)}`);
  }
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          kind: fc.constantFrom('ConfigMap' as const, 'Secret' as const),
          name: fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,20}[a-z0-9])?$/),
          version: fc.stringMatching(/^[0-9]{1,12}$/),
        }),
        { maxLength: 8 },
      ),
      (entries) => {
        const unique = [...new Map(entries.map((e) => [`${e.kind}/${e.name}`, e])).values()];
        const text = formatVersions(unique);
        if (unique.length === 0) return text === undefined;
        const back = parseVersions(text);
        return back !== null && back.size === unique.length && unique.every((e) => back.get(e.kind, e.name) === e.version);
      },
    ),
  );
});

t.test('sealed source versions: parsed strictly; the seal covers every field of every statement', async (t) => {
  const statements: SealedSource[] = [
    { kind: 'ConfigMap', name: 'a', keys: { all: false, keys: new Set(['x', 'y']) }, version: '5', digest: '0123456789abcdef' },
    { kind: 'Secret', name: 'b', keys: { all: true }, version: '6', digest: 'fedcba9876543210' },
  ];
  const seal = sealOf(KEY, 'shop', statements);
  t.match(seal, /^[0-9a-f]{32}$/);
  t.equal(sealOf(KEY, 'shop', statements), seal, 'deterministic: rewriting the same record changes nothing');
  const record = parseVersionRecord(`v2:${seal}:configmap/a=5,secret/b=6`);
  t.same(
    [record?.seal, record?.entries.map((e) => `${e.kind}/${e.name}=${e.version}`), parseVersions(`v2:${seal}:configmap/a=5`)?.get('ConfigMap', 'a')],
    [seal, ['ConfigMap/a=5', 'Secret/b=6'], '5'],
    'v2 reads as v1 does for re-keying',
  );
  t.equal(parseVersionRecord('v1:configmap/a=5')?.seal, undefined, 'v1 has no seal');
  for (const bad of [
    `v2:${seal}:`,
    `v2:${seal}configmap/a=5`,
    `v2:${seal.slice(1)}:configmap/a=5`,
    `v2:${seal.toUpperCase()}:configmap/a=5`,
    'v2::configmap/a=5',
    `v3:${seal}:configmap/a=5`,
  ]) {
    t.equal(parseVersionRecord(bad), null, `refused: ${bad}`);
  }
  const variants: [string, () => string][] = [
    ['another key', () => sealOf(hashKey(8), 'shop', statements)],
    ['another namespace', () => sealOf(KEY, 'shop2', statements)],
    ['another order', () => sealOf(KEY, 'shop', [...statements].reverse())],
    ['one statement fewer', () => sealOf(KEY, 'shop', statements.slice(0, 1))],
    ['another kind', () => sealOf(KEY, 'shop', [{ ...statements[0]!, kind: 'Secret' }, statements[1]!])],
    ['another name', () => sealOf(KEY, 'shop', [{ ...statements[0]!, name: 'a2' }, statements[1]!])],
    ['other keys', () => sealOf(KEY, 'shop', [{ ...statements[0]!, keys: { all: false, keys: new Set(['x']) } }, statements[1]!])],
    ['all keys', () => sealOf(KEY, 'shop', [{ ...statements[0]!, keys: { all: true } }, statements[1]!])],
    ['another version', () => sealOf(KEY, 'shop', [{ ...statements[0]!, version: '7' }, statements[1]!])],
    ['another digest', () => sealOf(KEY, 'shop', [{ ...statements[0]!, digest: '0123456789abcdee' }, statements[1]!])],
  ];
  for (const [name, other] of variants) t.not(other(), seal, `the seal changes with ${name}`);

  const keysOf = (keys: Map<string, KeySelection>) => (kind: string, name: string) => keys.get(`${kind}/${name}`);
  const digestOf = (digests: Map<string, string>) => (kind: string, name: string) => digests.get(`${kind}/${name}`);
  const keys = new Map(statements.map((s) => [`${s.kind}/${s.name}`, s.keys]));
  const digests = new Map(statements.map((s) => [`${s.kind}/${s.name}`, s.digest]));
  t.same(trustedVersions(record, KEY, 'shop', keysOf(keys), digestOf(digests)), statements, 'checks with the keys and digests it was written with');
  t.equal(trustedVersions(record, hashKey(8), 'shop', keysOf(keys), digestOf(digests)), undefined, 'not under another key');
  t.equal(trustedVersions(record, KEY, 'elsewhere', keysOf(keys), digestOf(digests)), undefined, 'not in another namespace');
  t.equal(
    trustedVersions(record, KEY, 'shop', keysOf(keys), digestOf(new Map([...digests, ['Secret/b', '1111111111111111']]))),
    undefined,
    'not with another recorded digest',
  );
  t.equal(
    trustedVersions(record, KEY, 'shop', keysOf(new Map([...keys, ['Secret/b', { all: false, keys: new Set(['p']) }]])), digestOf(digests)),
    undefined,
    'not with other keys consumed',
  );
  t.equal(
    trustedVersions(record, KEY, 'shop', keysOf(new Map([...keys].slice(0, 1))), digestOf(digests)),
    undefined,
    'not when a listed source is not tracked now',
  );
  t.equal(
    trustedVersions(parseVersionRecord('v1:configmap/a=5,secret/b=6'), KEY, 'shop', keysOf(keys), digestOf(digests)),
    undefined,
    'a v1 record is never trusted',
  );
  t.equal(
    trustedVersions(parseVersionRecord(`v2:${seal}:configmap/a=5,secret/b=7`), KEY, 'shop', keysOf(keys), digestOf(digests)),
    undefined,
    'not with a version edited',
  );
});

t.test('a decision seals the versions it writes, over what the workload records after it', async (t) => {
  const fake = sources();
  const row = kindRow('Deployment');
  const trackedBy = (object: unknown) => {
    const plan = planTracking({ kind: row, object }, extractReferences(getPath(object, row.templatePath)), namespace('shop'), DEFAULT_POLICY);
    return selectTrackedSources(plan, fake, DEFAULT_POLICY);
  };
  const sealFor = (object: unknown, key = KEY): VersionSeal => ({ hashKey: key, namespace: 'shop', keysOf: keysOfTracked(trackedBy(object)) });
  const at = (cm: string, secretRv: string): SourceTable<string> => {
    const v = new SourceTable<string>();
    v.set('ConfigMap', 'app-config', cm);
    v.set('Secret', 'db-credentials', secretRv);
    return v;
  };
  /** What a restart would take from the workload's record: its statements, when the seal checks. */
  const trusted = (object: unknown, key = KEY) => {
    const seal = sealFor(object);
    const digests = recordedDigests(readRecorded(row, object));
    return trustedVersions(parseVersionRecord(getPath(object, ['metadata', 'annotations', Ours.sourceVersions])), key, 'shop', seal.keysOf, (kind, name) =>
      digests.get(kind, name),
    )?.map((s) => `${s.kind}/${s.name}@${s.version}=${s.digest}`);
  };
  const described = (stamp: Stamp, versions: SourceTable<string>) => stamp.map((e) => `${e.kind}/${e.name}@${versions.get(e.kind, e.name)}=${e.digest}`);

  // A rollout: the new template stamp and the versions it was taken at.
  const object = stamped(fake);
  fake.put(secret('db-credentials', { username: 'app', password: 'pw2' }));
  const now = current('Deployment', object, fake);
  const rollout = decideReconcile(row, object, now, OFF, at('10', '21'), sealFor(object));
  t.equal(rollout.action, 'rollout');
  t.match(
    getPath(rollout.action === 'rollout' ? rollout.patch : {}, ['metadata', 'annotations', Ours.sourceVersions]),
    /^v2:[0-9a-f]{32}:configmap\/app-config=10,secret\/db-credentials=21$/,
  );
  const rolled = apply(object, rollout);
  t.same(trusted(rolled), described(now, at('10', '21')), 'after a rollout the record vouches for the new digests');
  t.equal(versionsText(now, at('10', '21'), sealFor(object)), getPath(rolled, ['metadata', 'annotations', Ours.sourceVersions]));

  // An adoption: the template records app-config only; db-credentials is adopted.
  const partial = tracked();
  const both = current('Deployment', partial, fake);
  setPath(partial, ['spec', 'template', 'metadata', 'annotations'], { [Ours.stamp]: formatStamp(both.filter((e) => e.kind === 'ConfigMap')) });
  const adopt = decideReconcile(row, partial, both, OFF, at('10', '21'), sealFor(partial));
  t.equal(adopt.action, 'adopt');
  t.same(trusted(apply(partial, adopt)), described(both, at('10', '21')), 'after an adoption the record vouches for template and adopted digests alike');

  // A new hash key, nothing written since: re-keyed, and the record sealed under the new key
  // over the re-keyed digests (the restart record over the unchanged template stamp).
  const NEW_KEY = hashKey(8);
  const underNewKey = currentStamp(NEW_KEY, 'shop', trackedBy(rolled), fake.lookup);
  t.equal(trusted(rolled, NEW_KEY), undefined, 'the old record does not check under the new key');
  const rekey = decideReconcile(row, rolled, underNewKey, OFF, at('10', '21'), sealFor(rolled, NEW_KEY));
  t.same(rekey.action === 'adopt' ? rekey.rekeyed.length : 0, 2, 're-keyed');
  const rekeyed = apply(rolled, rekey);
  t.same(trusted(rekeyed, NEW_KEY), described(underNewKey, at('10', '21')), 'after re-keying the record vouches for the new digests');
  t.equal(trusted(rekeyed, KEY), undefined, 'and no longer under the old key');

  // Notify mode, one change notified and pending, one source adopted: the pending source's
  // recorded digest is not of its version now, so the record leaves it out.
  const notifying = tracked();
  const old = current('Deployment', notifying, sources());
  const pending = both.find((e) => e.kind === 'Secret')!;
  setPath(notifying, ['spec', 'template', 'metadata', 'annotations'], { [Ours.stamp]: formatStamp(old.filter((e) => e.kind === 'Secret')) });
  setPath(notifying, ['metadata', 'annotations', Ours.notifiedStamp], formatStamp([pending]));
  const notified = decideReconcile(row, notifying, both, { ...OFF, notify: true }, at('10', '21'), sealFor(notifying));
  t.equal(notified.action, 'adopt');
  if (notified.action === 'adopt')
    t.same(
      notified.unrecorded.map((e) => e.name),
      ['app-config'],
    );
  const afterNotify = apply(notifying, notified);
  t.match(
    getPath(afterNotify, ['metadata', 'annotations', Ours.sourceVersions]),
    /^v2:[0-9a-f]{32}:configmap\/app-config=10$/,
    'the pending change is not recorded at its new version',
  );
  t.same(
    trusted(afterNotify),
    described(
      both.filter((e) => e.kind === 'ConfigMap'),
      at('10', '21'),
    ),
  );
  // Without it, a later new key would take the pending change for a re-keying and never roll it.
  const again = decideReconcile(row, afterNotify, both, { ...OFF, notify: true }, at('10', '21'));
  t.same(again.action === 'adopt' ? again.rekeyed.map((e) => e.name) : [], [], 'the pending change is not taken for a re-keying');
  t.same(
    computeDrift(readRecorded(row, afterNotify), both, OFF, at('10', '21')).changes.map((c) => c.name),
    ['db-credentials'],
    'it is still a change',
  );
});

t.test('currentStamp: digests per tracked source, namespaced, sorted, absent marked', async (t) => {
  const fake = sources();
  const list: TrackedSource[] = [
    { kind: 'Secret', name: 'db-credentials', keys: { all: false, keys: new Set(['password']) }, optional: false },
    { kind: 'ConfigMap', name: 'missing', keys: { all: true }, optional: true },
    { kind: 'ConfigMap', name: 'app-config', keys: { all: true }, optional: false },
  ];
  const stamp = currentStamp(KEY, 'shop', list, fake.lookup);
  t.strictSame(
    stamp.map((e) => `${e.kind}/${e.name}`),
    ['ConfigMap/app-config', 'ConfigMap/missing', 'Secret/db-credentials'],
  );
  t.equal(stamp[1]!.digest, ABSENT);
  t.equal(
    stamp[0]!.digest,
    stampDigest(KEY, { kind: 'ConfigMap', namespace: 'shop', name: 'app-config' }, { all: true }, fake.lookup('ConfigMap', 'app-config')),
  );
  t.not(currentStamp(KEY, 'other', list, fake.lookup)[0]!.digest, stamp[0]!.digest, 'the namespace is part of the digest');
  t.equal(currentStamp(KEY, 'shop', list, () => undefined)[0]!.digest, ABSENT, 'a lookup answering undefined means absent');
});

t.test('templatesEqualIgnoringStamp', async (t) => {
  for (const kind of WORKLOAD_KINDS) {
    const base = workload(kind.kind, { templateAnnotations: { keep: 'me' } });
    const withStamp = structuredClone(base);
    setPath(withStamp, [...kind.templatePath, 'metadata', 'annotations', Ours.stamp], 'v1:');
    const otherStamp = structuredClone(base);
    setPath(otherStamp, [...kind.templatePath, 'metadata', 'annotations', Ours.stamp], 'v1:configmap/a=absent');
    t.ok(templatesEqualIgnoringStamp(kind, base, withStamp), `${kind.kind}: stamp added`);
    t.ok(templatesEqualIgnoringStamp(kind, withStamp, otherStamp), `${kind.kind}: stamp changed`);
    const image = structuredClone(base);
    const spec = getPath(image, [...kind.templatePath, 'spec']) as { containers: { image: string }[] };
    spec.containers[0]!.image = 'changed:2';
    t.notOk(templatesEqualIgnoringStamp(kind, withStamp, image), `${kind.kind}: image changed`);
    const annotation = structuredClone(withStamp);
    setPath(annotation, [...kind.templatePath, 'metadata', 'annotations', 'keep'], 'other');
    t.notOk(templatesEqualIgnoringStamp(kind, withStamp, annotation), `${kind.kind}: another annotation changed`);
    const outside = structuredClone(base);
    setPath(outside, ['metadata', 'labels'], { changed: 'yes' });
    t.ok(templatesEqualIgnoringStamp(kind, base, outside), `${kind.kind}: changes outside the template do not count`);
  }
  const deployment = kindRow('Deployment');
  const onlyStamp = workload('Deployment', { templateAnnotations: { [Ours.stamp]: 'v1:' } });
  const bare = workload('Deployment');
  t.ok(templatesEqualIgnoringStamp(deployment, onlyStamp, bare), 'an annotations map holding only the stamp equals none');
  const original = structuredClone(onlyStamp);
  templatesEqualIgnoringStamp(deployment, onlyStamp, bare);
  t.strictSame(onlyStamp, original, 'the inputs are not mutated');
});

// A model-based property: any sequence of source edits, each followed by one reconcile whose patch
// is applied. After every step the next reconcile has nothing to do, and a step rolls the workload
// exactly when a value the pod consumes changed (or, with rollOnDelete, a consumed source vanished).
t.test('property: reconcile converges in one step and rolls exactly on consumed changes', async (t) => {
  type Edit =
    | { readonly op: 'password' | 'username' | 'log'; readonly value: string }
    | { readonly op: 'label'; readonly value: string }
    | { readonly op: 'delete-secret' | 'restore-secret' };
  const editArb: fc.Arbitrary<Edit> = fc.oneof(
    fc.record({ op: fc.constantFrom('password' as const, 'username' as const, 'log' as const, 'label' as const), value: fc.constantFrom('a', 'b', 'c') }),
    fc.record({ op: fc.constantFrom('delete-secret' as const, 'restore-secret' as const) }),
  );
  let rollouts = 0;
  fc.assert(
    fc.property(fc.array(editArb, { maxLength: 12 }), fc.boolean(), (edits, rollOnDelete) => {
      const drift = { rollOnDelete };
      const state = { password: 'a', username: 'a', log: 'a', label: 'a', secret: true };
      const build = (): FakeNamespace =>
        new FakeNamespace([
          configMap('app-config', { LOG_LEVEL: state.log }, undefined, { labels: { l: state.label } }),
          ...(state.secret ? [secret('db-credentials', { username: state.username, password: state.password })] : []),
        ]);
      let object = apply(tracked(), decide('Deployment', tracked(), build(), drift));
      // What the running pods consume: absent counts only when rollOnDelete asks for it.
      let rolledWith = { log: state.log, password: state.secret ? state.password : (null as string | null) };
      for (const edit of edits) {
        if ('value' in edit) state[edit.op] = edit.value;
        else state.secret = edit.op === 'restore-secret';
        const fake = build();
        const decision = decide('Deployment', object, fake, drift);
        const consumed = { log: state.log, password: state.secret ? state.password : null };
        const changed = consumed.log !== rolledWith.log || (consumed.password !== rolledWith.password && (consumed.password !== null || rollOnDelete));
        if ((decision.action === 'rollout') !== changed) return false;
        if (decision.action === 'rollout') {
          rollouts++;
          rolledWith = consumed;
        }
        object = apply(object, decision);
        if (decide('Deployment', object, fake, drift).action !== 'none') return false;
      }
      return true;
    }),
    { numRuns: 500 },
  );
  t.ok(rollouts > 0, `the runs rolled out (${rollouts} times) and never otherwise`);
});

t.test('pause period: the rollout pauses the Deployment; later changes join it; it resumes when the period is over', async (t) => {
  const fake = sources();
  const object = stamped(fake);
  (object.metadata as JsonRecord).annotations = { [Ours.track]: 'true', [Reloader.pausePeriod]: '1m30s' };
  const keys = { period: [Ours.pausePeriod, Reloader.pausePeriod], pausedAt: [Ours.pausedAt, Reloader.pausedAt] };
  const at = (iso: string): DriftOptions => ({ ...OFF, now: iso, pauseKeys: keys });
  fake.put(secret('db-credentials', { username: 'app', password: 'pw2' }));
  const first = decide('Deployment', object, fake, at('2026-12-01T10:00:00.000Z'));
  t.match(
    first,
    { action: 'rollout', patch: { spec: { paused: true, template: {} }, metadata: { annotations: { [Ours.pausedAt]: '2026-12-01T10:00:00.000Z' } } } },
    'stamp and pause in one write',
  );
  const paused = apply(object, first);
  t.strictSame(
    decide('Deployment', paused, fake, at('2026-12-01T10:01:00.000Z')),
    { action: 'none', wakeInMs: 30_000 },
    'inside the period: wake when it is over',
  );
  fake.put(secret('db-credentials', { username: 'app', password: 'pw3' }));
  const second = decide('Deployment', paused, fake, at('2026-12-01T10:01:00.000Z'));
  t.equal(second.action, 'rollout', 'a change inside the period updates the template...');
  t.notOk(((second as { patch: JsonRecord }).patch.spec as JsonRecord).paused, '...and leaves the pause as it is');
  const later = apply(paused, second);
  const resume = decide('Deployment', later, fake, at('2026-12-01T10:01:30.000Z'));
  t.match(resume, { action: 'resume', patch: { spec: { paused: false }, metadata: { annotations: { [Ours.pausedAt]: null } } } }, 'the period is over: resume');
  t.strictSame(decide('Deployment', apply(later, resume), fake, at('2026-12-01T10:02:00.000Z')), { action: 'none' }, 'then nothing');

  const userPaused = structuredClone(object);
  setPath(userPaused, ['spec', 'paused'], true);
  t.strictSame(decide('Deployment', userPaused, sources(), at('2026-12-01T10:00:00.000Z')), { action: 'none' }, 'a Deployment its user paused is left alone');
  const byReloader = structuredClone(userPaused);
  (byReloader.metadata as JsonRecord).annotations = { [Ours.track]: 'true', [Reloader.pausePeriod]: '5m', [Reloader.pausedAt]: '2026-12-01T09:00:00Z' };
  t.match(
    decide('Deployment', byReloader, sources(), at('2026-12-01T10:00:00.000Z')),
    { action: 'resume', patch: { metadata: { annotations: { [Reloader.pausedAt]: null } } } },
    'one Reloader paused and never resumed (#1016, #1219) is resumed',
  );
  const garbled = structuredClone(byReloader);
  (garbled.metadata as JsonRecord).annotations = { [Ours.track]: 'true', [Reloader.pausedAt]: 'yesterday' };
  t.match(
    decide('Deployment', garbled, sources(), at('2026-12-01T10:00:00.000Z')),
    { action: 'resume' },
    'a record that does not parse, or no period any more, resumes at once',
  );
});

t.test("Go durations, as Reloader's pause-period is written", async (t) => {
  for (const [text, ms] of [
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['300ms', 300],
    ['2s500ms', 2_500],
    ['0', 0],
    ['-1s', -1000],
  ] as const)
    t.equal(parseGoDuration(text), ms, text);
  for (const bad of ['', '5', 'm', '1d', '1 m', '5mm']) t.equal(parseGoDuration(bad), undefined, bad);
});
