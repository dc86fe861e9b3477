// What admission does with a workload before any source is read: stamp it fresh, restore the stamp
// a writer dropped, or leave it alone. One table, run for every workload kind.
import t from 'tap';
import { Ours, WORKLOAD_KINDS, admissionAction } from '../../shared/core/index.js';
import type { AdmissionAction, JsonRecord, WorkloadKind } from '../../shared/core/index.js';
import { setPath, workload } from '../fixtures/index.js';

const OLD_STAMP = 'v1:configmap/app-config=3f9a0c1d2e4b5a67';
const NEW_STAMP = 'v1:configmap/app-config=0123456789abcdef';

function withStamp(kind: WorkloadKind, object: JsonRecord, stamp: string): JsonRecord {
  setPath(object, [...kind.templatePath, 'metadata', 'annotations', Ours.stamp], stamp);
  return object;
}

function withImage(kind: WorkloadKind, object: JsonRecord, image: string): JsonRecord {
  setPath(object, [...kind.templatePath, 'spec', 'containers'], [{ name: 'app', image }]);
  return object;
}

interface Case {
  readonly name: string;
  readonly operation: string;
  /** The incoming object and the stored one, built per kind. */
  readonly object: (kind: WorkloadKind) => unknown;
  readonly oldObject: (kind: WorkloadKind) => unknown;
  readonly want: AdmissionAction;
}

const base = (kind: WorkloadKind): JsonRecord => workload(kind.kind);
const stamped =
  (stamp: string) =>
  (kind: WorkloadKind): JsonRecord =>
    withStamp(kind, base(kind), stamp);

const cases: readonly Case[] = [
  { name: 'CREATE: stamp fresh', operation: 'CREATE', object: base, oldObject: () => null, want: { action: 'stamp', reason: 'created', fallback: undefined } },
  {
    name: 'CREATE with a stamp already (a copied manifest): stamp fresh all the same',
    operation: 'CREATE',
    object: stamped(OLD_STAMP),
    oldObject: () => undefined,
    want: { action: 'stamp', reason: 'created', fallback: undefined },
  },
  {
    name: 'UPDATE changing the template, stamp kept by the writer: fresh stamp, the incoming one as fallback',
    operation: 'UPDATE',
    object: (k) => withImage(k, stamped(OLD_STAMP)(k), 'app:2'),
    oldObject: stamped(OLD_STAMP),
    want: { action: 'stamp', reason: 'pod template changed', fallback: OLD_STAMP },
  },
  {
    name: 'UPDATE changing the template and dropping the stamp: the stored stamp as fallback',
    operation: 'UPDATE',
    object: (k) => withImage(k, base(k), 'app:2'),
    oldObject: stamped(OLD_STAMP),
    want: { action: 'stamp', reason: 'pod template changed', fallback: OLD_STAMP },
  },
  {
    name: 'UPDATE changing the template of a workload never stamped: no fallback',
    operation: 'UPDATE',
    object: (k) => withImage(k, base(k), 'app:2'),
    oldObject: base,
    want: { action: 'stamp', reason: 'pod template changed', fallback: undefined },
  },
  {
    name: 'UPDATE with the template unchanged and the stamp present: leave it',
    operation: 'UPDATE',
    object: (k) => {
      const o = stamped(OLD_STAMP)(k);
      setPath(o, ['spec', 'paused'], true);
      return o;
    },
    oldObject: stamped(OLD_STAMP),
    want: { action: 'skip', reason: 'pod template unchanged, stamp present' },
  },
  {
    name: "UPDATE writing a new stamp (the watcher's own rollout): leave it",
    operation: 'UPDATE',
    object: stamped(NEW_STAMP),
    oldObject: stamped(OLD_STAMP),
    want: { action: 'skip', reason: 'pod template unchanged, stamp present' },
  },
  {
    name: 'UPDATE re-applying a manifest that drops the stamp: restore it, the template stays byte-identical',
    operation: 'UPDATE',
    object: base,
    oldObject: stamped(OLD_STAMP),
    want: { action: 'restore', reason: 'pod template unchanged, stamp dropped by the writer', stamp: OLD_STAMP },
  },
  {
    name: 'UPDATE of a workload never stamped (adopted), template unchanged: leave it',
    operation: 'UPDATE',
    object: (k) => {
      const o = base(k);
      setPath(o, ['metadata', 'annotations'], { [Ours.adoptedStamp]: OLD_STAMP });
      return o;
    },
    oldObject: base,
    want: { action: 'skip', reason: 'pod template unchanged and never stamped (adopted workload)' },
  },
  {
    name: 'DELETE: not ours to act on',
    operation: 'DELETE',
    object: () => null,
    oldObject: stamped(OLD_STAMP),
    want: { action: 'skip', reason: 'operation DELETE' },
  },
  { name: 'CONNECT: not ours to act on', operation: 'CONNECT', object: base, oldObject: base, want: { action: 'skip', reason: 'operation CONNECT' } },
  {
    name: 'operations are case-sensitive as the API sends them',
    operation: 'update',
    object: base,
    oldObject: stamped(OLD_STAMP),
    want: { action: 'skip', reason: 'operation update' },
  },
];

t.test('admission plan table, every kind', async (t) => {
  for (const kind of WORKLOAD_KINDS) {
    for (const c of cases) {
      t.strictSame(admissionAction(kind, c.operation, c.object(kind), c.oldObject(kind)), c.want, `${kind.kind}: ${c.name}`);
    }
  }
});

t.test("a template change elsewhere in the object is seen at the kind's own path only", async (t) => {
  const cron = WORKLOAD_KINDS.find((k) => k.kind === 'CronJob')!;
  const oldObject = withStamp(cron, workload('CronJob'), OLD_STAMP);
  const schedule = structuredClone(oldObject);
  setPath(schedule, ['spec', 'schedule'], '0 * * * *');
  t.equal(admissionAction(cron, 'UPDATE', schedule, oldObject).action, 'skip', 'a CronJob schedule is not its pod template');
  const jobSpec = structuredClone(oldObject);
  setPath(jobSpec, ['spec', 'jobTemplate', 'spec', 'backoffLimit'], 9);
  t.equal(admissionAction(cron, 'UPDATE', jobSpec, oldObject).action, 'skip', 'nor is the Job spec around it');
});

t.test('malformed objects never throw', async (t) => {
  const deployment = WORKLOAD_KINDS[0]!;
  for (const [object, oldObject] of [
    [null, null],
    ['x', 3],
    [{ spec: { template: null } }, {}],
    [{ spec: { template: { metadata: { annotations: { [Ours.stamp]: 5 } } } } }, {}],
  ] as const) {
    const plan = admissionAction(deployment, 'UPDATE', object, oldObject);
    t.ok(['skip', 'stamp', 'restore'].includes(plan.action), JSON.stringify([object, oldObject]));
  }
});
