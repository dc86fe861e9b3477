// The writes as data: JSON Patch for admission (RFC 6902, pointers per RFC 6901) and the watcher's
// merge patch (RFC 7386), per workload kind. Each patch is checked by applying it with reference
// appliers written from the RFCs (test/fixtures/json-patch.ts), not only by its shape.
import t from 'tap';
import fc from 'fast-check';
import {
  Ours,
  WORKLOAD_KINDS,
  buildStampJsonPatch,
  buildStampMergePatch,
  buildTemplateAnnotationPatch,
  escapePointerSegment,
  getPath,
  pointer,
} from '../../shared/core/index.js';
import type { JsonRecord } from '../../shared/core/index.js';
import { kindRow, setPath, templateOf, workload } from '../fixtures/index.js';
import { applyJsonPatch, applyMergePatch, parsePointer } from '../fixtures/json-patch.js';

const STAMP = 'v1:configmap/app-config=3f9a0c1d2e4b5a67';

t.test('JSON pointer escaping: ~ becomes ~0 and / becomes ~1, ~ first', async (t) => {
  const rows: [string, string][] = [
    ['configstamp.io/stamp', 'configstamp.io~1stamp'],
    ['a~b', 'a~0b'],
    ['~1', '~01'],
    ['/~', '~1~0'],
    ['~/', '~0~1'],
    ['plain', 'plain'],
    ['', ''],
  ];
  for (const [raw, escaped] of rows) t.equal(escapePointerSegment(raw), escaped, raw);
  t.equal(pointer(['spec', 'template', 'metadata', 'annotations', 'configstamp.io/stamp']), '/spec/template/metadata/annotations/configstamp.io~1stamp');
  t.equal(pointer([]), '');
});

t.test('property: pointer segments unescape back to what they were', async (t) => {
  const segment = fc.string({ unit: fc.constantFrom('a', '/', '~', '0', '1', '.'), maxLength: 8 });
  fc.assert(
    fc.property(fc.array(segment, { minLength: 1, maxLength: 5 }), (segments) => {
      return JSON.stringify(parsePointer(pointer(segments))) === JSON.stringify(segments);
    }),
    { numRuns: 2000 },
  );
  t.pass('escape then unescape is the identity');
});

const templateShapes: readonly {
  readonly name: string;
  readonly shape: (template: JsonRecord) => void;
  readonly op: (path: string) => { op: string; path: string; value: unknown };
}[] = [
  {
    name: 'annotations present',
    shape: (tpl) => {
      tpl.metadata = { labels: { app: 'x' }, annotations: { keep: 'me' } };
    },
    op: (p) => ({ op: 'add', path: `${p}/metadata/annotations/configstamp.io~1stamp`, value: STAMP }),
  },
  {
    name: 'stamp present already (add replaces it)',
    shape: (tpl) => {
      tpl.metadata = { annotations: { [Ours.stamp]: 'v1:', keep: 'me' } };
    },
    op: (p) => ({ op: 'add', path: `${p}/metadata/annotations/configstamp.io~1stamp`, value: STAMP }),
  },
  {
    name: 'metadata without annotations',
    shape: (tpl) => {
      tpl.metadata = { labels: { app: 'x' } };
    },
    op: (p) => ({ op: 'add', path: `${p}/metadata/annotations`, value: { [Ours.stamp]: STAMP } }),
  },
  {
    name: 'annotations null',
    shape: (tpl) => {
      tpl.metadata = { annotations: null };
    },
    op: (p) => ({ op: 'add', path: `${p}/metadata/annotations`, value: { [Ours.stamp]: STAMP } }),
  },
  {
    name: 'no metadata',
    shape: (tpl) => {
      delete tpl.metadata;
    },
    op: (p) => ({ op: 'add', path: `${p}/metadata`, value: { annotations: { [Ours.stamp]: STAMP } } }),
  },
  {
    name: 'metadata not an object',
    shape: (tpl) => {
      tpl.metadata = 'x';
    },
    op: (p) => ({ op: 'add', path: `${p}/metadata`, value: { annotations: { [Ours.stamp]: STAMP } } }),
  },
];

t.test('stamp JSON patch, per kind and per template shape', async (t) => {
  for (const kind of WORKLOAD_KINDS) {
    const prefix = pointer(kind.templatePath);
    for (const shape of templateShapes) {
      const object = workload(kind.kind);
      shape.shape(templateOf(kind.kind, object));
      const ops = buildStampJsonPatch(kind, object, STAMP);
      t.strictSame(ops, [shape.op(prefix)], `${kind.kind}, ${shape.name}`);
      const patched = applyJsonPatch(object, ops);
      t.equal(getPath(patched, [...kind.templatePath, 'metadata', 'annotations', Ours.stamp]), STAMP, `${kind.kind}, ${shape.name}: applied`);
      if (shape.name.startsWith('annotations present') || shape.name.startsWith('stamp present')) {
        t.equal(getPath(patched, [...kind.templatePath, 'metadata', 'annotations', 'keep']), 'me', 'other annotations kept');
      }
      // Nothing else in the object moved.
      const expected = structuredClone(object);
      const tplPath = [...kind.templatePath, 'metadata', 'annotations', Ours.stamp];
      setPath(expected, tplPath, STAMP);
      t.strictSame(
        stripTemplateMetadata(kind.templatePath, patched),
        stripTemplateMetadata(kind.templatePath, expected),
        `${kind.kind}, ${shape.name}: only the annotation changed`,
      );
    }
  }
});

/** The object with its pod template's metadata taken out, to compare everything else. */
function stripTemplateMetadata(path: readonly string[], object: unknown): unknown {
  const copy = structuredClone(object) as JsonRecord;
  delete (getPath(copy, path) as JsonRecord).metadata;
  return copy;
}

t.test("the CronJob stamp lands on the Job's pod template, not the CronJob or the Job", async (t) => {
  const cron = kindRow('CronJob');
  const ops = buildStampJsonPatch(cron, workload('CronJob'), STAMP);
  t.strictSame(ops, [{ op: 'add', path: '/spec/jobTemplate/spec/template/metadata/annotations', value: { [Ours.stamp]: STAMP } }]);
});

t.test('no pod template, no patch', async (t) => {
  const deployment = kindRow('Deployment');
  for (const object of [{}, { spec: {} }, { spec: { template: null } }, { spec: { template: 'x' } }, null, 'x']) {
    t.strictSame(buildStampJsonPatch(deployment, object, STAMP), [], JSON.stringify(object));
  }
});

t.test('any annotation key is escaped in the path', async (t) => {
  const deployment = kindRow('Deployment');
  const object = workload('Deployment', { templateAnnotations: {} });
  const ops = buildTemplateAnnotationPatch(deployment, object, 'a/b~c', 'v');
  t.strictSame(ops, [{ op: 'add', path: '/spec/template/metadata/annotations/a~1b~0c', value: 'v' }]);
  t.equal(getPath(applyJsonPatch(object, ops), ['spec', 'template', 'metadata', 'annotations', 'a/b~c']), 'v');
});

t.test('property: the JSON patch sets the annotation whatever the template metadata looks like', async (t) => {
  const keyArb = fc.string({ unit: fc.constantFrom('a', '/', '~', '0', '1', '.'), minLength: 1, maxLength: 6 });
  const annotationsArb = fc.option(fc.dictionary(keyArb, fc.string({ maxLength: 4 })), { nil: undefined });
  const metadataArb = fc.oneof(
    fc.constant(undefined),
    fc.constant(null),
    fc.constant('str'),
    fc.record({ annotations: fc.oneof(annotationsArb, fc.constant(null)), labels: fc.constant({ app: 'x' }) }, { requiredKeys: ['labels'] }),
  );
  fc.assert(
    fc.property(fc.constantFrom(...WORKLOAD_KINDS), metadataArb, keyArb, fc.string({ maxLength: 8 }), (kind, metadata, key, value) => {
      const object = workload(kind.kind);
      const template = templateOf(kind.kind, object);
      if (metadata === undefined) delete template.metadata;
      else template.metadata = metadata;
      const patched = applyJsonPatch(object, buildTemplateAnnotationPatch(kind, object, key, value));
      const before = getPath(object, [...kind.templatePath, 'metadata', 'annotations']);
      const after = getPath(patched, [...kind.templatePath, 'metadata', 'annotations']) as JsonRecord;
      const kept = typeof before === 'object' && before !== null ? { ...(before as JsonRecord) } : {};
      return JSON.stringify(after) === JSON.stringify({ ...kept, [key]: value });
    }),
    { numRuns: 2000 },
  );
  t.pass('the annotation was set and no other annotation changed');
});

t.test('merge patch shape per kind', async (t) => {
  const expectedTemplatePath: Readonly<Record<string, readonly string[]>> = {
    Deployment: ['spec', 'template'],
    StatefulSet: ['spec', 'template'],
    DaemonSet: ['spec', 'template'],
    Rollout: ['spec', 'template'],
    CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
    DeploymentConfig: ['spec', 'template'],
    Job: ['spec', 'template'],
  };
  t.strictSame(WORKLOAD_KINDS.map((k) => k.kind).sort(), Object.keys(expectedTemplatePath).sort(), 'the table covers every kind');
  for (const kind of WORKLOAD_KINDS) {
    const nested = (leaf: JsonRecord): JsonRecord => {
      const out: JsonRecord = {};
      setPath(out, [...expectedTemplatePath[kind.kind]!, 'metadata', 'annotations'], leaf);
      return out;
    };
    t.strictSame(buildStampMergePatch(kind, { templateStamp: STAMP }), nested({ [Ours.stamp]: STAMP }), `${kind.kind}: template stamp`);
    t.strictSame(
      buildStampMergePatch(kind, { adoptedStamp: STAMP }),
      { metadata: { annotations: { [Ours.adoptedStamp]: STAMP } } },
      `${kind.kind}: adopted stamp`,
    );
    t.strictSame(
      buildStampMergePatch(kind, { adoptedStamp: null }),
      { metadata: { annotations: { [Ours.adoptedStamp]: null } } },
      `${kind.kind}: adopted stamp removed`,
    );
    t.strictSame(buildStampMergePatch(kind, { resourceVersion: '42' }), { metadata: { resourceVersion: '42' } }, `${kind.kind}: guard only`);
    t.strictSame(buildStampMergePatch(kind, {}), {}, `${kind.kind}: nothing`);
    t.strictSame(
      buildStampMergePatch(kind, { templateStamp: STAMP, adoptedStamp: null, resourceVersion: '42' }),
      { metadata: { annotations: { [Ours.adoptedStamp]: null }, resourceVersion: '42' }, ...nested({ [Ours.stamp]: STAMP }) },
      `${kind.kind}: all three`,
    );
  }
});

t.test('applied, the merge patch touches only our annotations', async (t) => {
  for (const kind of WORKLOAD_KINDS) {
    const object = workload(kind.kind, { annotations: { keep: 'me', [Ours.adoptedStamp]: 'v1:' }, templateAnnotations: { other: 'x' } });
    const patched = applyMergePatch(object, buildStampMergePatch(kind, { templateStamp: STAMP, adoptedStamp: null, resourceVersion: 'rv' })) as JsonRecord;
    const expected = structuredClone(object);
    delete ((expected.metadata as JsonRecord).annotations as JsonRecord)[Ours.adoptedStamp];
    (expected.metadata as JsonRecord).resourceVersion = 'rv';
    setPath(expected, [...kind.templatePath, 'metadata', 'annotations', Ours.stamp], STAMP);
    t.strictSame(patched, expected, kind.kind);
  }
});
