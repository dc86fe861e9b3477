// The one table of workload kinds: where each lives in the API and where its pod template sits,
// checked against a real-shaped object of each kind (fixtures).
import t from 'tap';
import {
  SOURCE_KINDS,
  SOURCE_KIND_TABLE,
  WORKLOAD_KINDS,
  apiVersionOf,
  extractReferences,
  getPath,
  parseExtraWorkloadKind,
  sourceKindByName,
  sourceKindByToken,
  workloadKindByName,
  workloadKindByResource,
} from '../../shared/core/index.js';
import type { WorkloadKind } from '../../shared/core/index.js';
import { podSpec, workload } from '../fixtures/index.js';

const rows: readonly [kind: string, apiVersion: string, plural: string, templatePath: string, crd: boolean][] = [
  ['Deployment', 'apps/v1', 'deployments', 'spec.template', false],
  ['StatefulSet', 'apps/v1', 'statefulsets', 'spec.template', false],
  ['DaemonSet', 'apps/v1', 'daemonsets', 'spec.template', false],
  ['CronJob', 'batch/v1', 'cronjobs', 'spec.jobTemplate.spec.template', false],
  ['Rollout', 'argoproj.io/v1alpha1', 'rollouts', 'spec.template', true],
  ['DeploymentConfig', 'apps.openshift.io/v1', 'deploymentconfigs', 'spec.template', true],
  ['Job', 'batch/v1', 'jobs', 'spec.template', false],
];

t.test('the kinds table', async (t) => {
  t.equal(WORKLOAD_KINDS.length, rows.length, 'no kind more, no kind less');
  for (const [kind, apiVersion, plural, templatePath, crd] of rows) {
    const row = workloadKindByName(kind);
    t.ok(row, kind);
    if (row === undefined) continue;
    t.equal(apiVersionOf(row), apiVersion, `${kind}: apiVersion`);
    t.equal(row.plural, plural, `${kind}: plural`);
    t.equal(row.templatePath.join('.'), templatePath, `${kind}: template path`);
    t.equal(row.crd, crd, `${kind}: served by a CRD`);
    t.equal(workloadKindByResource(row.group, row.version, plural), row, `${kind}: found by resource`);
  }
});

t.test('the source kinds table: API plural, stamp token, data encoding, what never counts', async (t) => {
  t.same(
    SOURCE_KINDS.map((k) => SOURCE_KIND_TABLE[k]),
    [
      { kind: 'ConfigMap', plural: 'configmaps', token: 'configmap', dataEncoding: 'utf8', hasBinaryData: true, listFieldSelector: undefined },
      { kind: 'Secret', plural: 'secrets', token: 'secret', dataEncoding: 'base64', hasBinaryData: false, listFieldSelector: 'type!=helm.sh/release.v1' },
      {
        kind: 'SecretProviderClass',
        plural: 'secretproviderclasses',
        token: 'secretproviderclass',
        dataEncoding: 'utf8',
        hasBinaryData: false,
        listFieldSelector: undefined,
        podStatus: {
          group: 'secrets-store.csi.x-k8s.io',
          version: 'v1',
          plural: 'secretproviderclasspodstatuses',
          driver: 'secrets-store.csi.k8s.io',
          attribute: 'secretProviderClass',
        },
      },
    ],
  );
  t.equal(sourceKindByToken('configmap'), 'ConfigMap');
  t.equal(sourceKindByToken('constructor'), undefined, "only the table's tokens");
  for (const [name, kind] of [
    ['configMaps', 'ConfigMap'],
    ['secret', 'Secret'],
    ['SECRETS', 'Secret'],
    ['pods', undefined],
  ] as const)
    t.equal(sourceKindByName(name), kind, name);
});

t.test("each fixture has its pod template at the kind's path, and its references are found there", async (t) => {
  for (const kind of WORKLOAD_KINDS) {
    const object = workload(kind.kind, { podSpec: podSpec({ envFrom: [{ configMapRef: { name: `${kind.plural}-env` } }] }) });
    t.equal(getPath(object, ['apiVersion']), apiVersionOf(kind), `${kind.kind}: fixture apiVersion`);
    t.equal(getPath(object, ['kind']), kind.kind, `${kind.kind}: fixture kind`);
    const template = getPath(object, kind.templatePath);
    t.strictSame(
      extractReferences(template).map((r) => r.name),
      [`${kind.plural}-env`],
      kind.kind,
    );
    t.strictSame(extractReferences(object), [], `${kind.kind}: the workload itself is not a pod template`);
  }
});

t.test('unknown resources and names are not ours', async (t) => {
  t.equal(workloadKindByResource('apps', 'v1', 'replicasets'), undefined);
  t.equal(workloadKindByResource('apps', 'v1beta1', 'deployments'), undefined, 'the version counts');
  t.equal(workloadKindByResource('extensions', 'v1', 'deployments'), undefined, 'the group counts');
  t.equal(workloadKindByResource('batch', 'v1', 'pods'), undefined);
  t.equal(workloadKindByName('ReplicaSet'), undefined);
  t.equal(workloadKindByName('Job')?.recreate, true, 'a Job rolls by re-creation');
  t.equal(workloadKindByName('deployment'), undefined, 'kind names are case-sensitive');
});

t.test('a core-group kind would have a bare apiVersion', async (t) => {
  const core: WorkloadKind = {
    kind: 'ReplicationController',
    group: '',
    version: 'v1',
    plural: 'replicationcontrollers',
    templatePath: ['spec', 'template'],
    crd: false,
  };
  t.equal(apiVersionOf(core), 'v1');
});

t.test('an extra pod-template kind is a row like the others; a malformed or known one is refused', async (t) => {
  t.same(parseExtraWorkloadKind('serving.knative.dev/v1/services:Service:spec.template'), {
    kind: 'Service',
    group: 'serving.knative.dev',
    version: 'v1',
    plural: 'services',
    templatePath: ['spec', 'template'],
    crd: true,
  });
  t.match(parseExtraWorkloadKind('v1/replicationcontrollers:ReplicationController:spec.template'), { group: '', version: 'v1' }, 'the core group');
  t.match(parseExtraWorkloadKind('example.com/v1beta2/pipelines:Pipeline:spec.runner.podTemplate'), { templatePath: ['spec', 'runner', 'podTemplate'] });
  for (const bad of [
    'services:Service:spec.template',
    'serving.knative.dev/v1/services',
    'x/v1/things:thing:spec',
    'apps/v1/deployments:MyDeploy:spec.template',
    'example.com/v1/widgets:Deployment:spec.template',
    'example.com/v1/widgets:Widget:spec..template',
  ]) {
    t.equal(parseExtraWorkloadKind(bad), undefined, bad);
  }
  const knative = parseExtraWorkloadKind('serving.knative.dev/v1/services:Service:spec.template')!;
  t.equal(workloadKindByResource('serving.knative.dev', 'v1', 'services'), undefined, 'not among the built-in rows');
  t.equal(workloadKindByResource('serving.knative.dev', 'v1', 'services', [...WORKLOAD_KINDS, knative]), knative, "found among an install's kinds");
});
