/**
 * Switching from Reloader without editing a line, on a real control plane:
 * - a migration that rolls nothing: workloads Reloader has already reloaded (its STAKATER_* env
 *   vars, its last-reloaded-from annotation), annotated with Reloader's keys only, and configstamp
 *   started with Reloader's own flags and env vars as a Reloader Deployment passes them: zero
 *   rollouts at install; then one consumed change rolls each consumer exactly once;
 * - Reloader's annotations (not ours) across every workload kind, for each form Reloader documents:
 *   auto, typed auto, named lists with a regex, search + match, ignore on a source, excludes, the
 *   pod-template fallback, and auto=false under --auto-reload-all (a second watcher, scoped with
 *   Reloader's --namespaces);
 * - renamed annotation keys (--auto-annotation…) honoured by the webhook and the watcher alike.
 */
import t from 'tap';
import type tap from 'tap';
import { createHash } from 'node:crypto';
import { eventually, sleep } from '../support/poll.js';
import { startConfigstamp } from '../support/process.js';
import { registerWebhook, startWebhookProcess } from '../support/webhook-registration.js';
import {
  ROLLOUT_CRD,
  annotationsOf,
  apply,
  configMap,
  createNamespace,
  kubectl,
  podTemplate,
  rolloutCount,
  secret,
  startCluster,
  startWatcher,
} from './watcher-support.js';
import type { RunningWatcher } from './watcher-support.js';

const { cluster, client } = await startCluster(t);
await apply(cluster, 'default', [ROLLOUT_CRD]);
await kubectl(cluster, ['wait', '--for=condition=Established', 'crd/rollouts.argoproj.io', '--timeout=60s']);
await createNamespace(cluster, 'configstamp');

type Kind = 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'CronJob' | 'Rollout';
type Uses = Parameters<typeof podTemplate>[1];

const PATHS: Record<Kind, (ns: string, n: string) => string> = {
  Deployment: (ns, n) => `/apis/apps/v1/namespaces/${ns}/deployments/${n}`,
  StatefulSet: (ns, n) => `/apis/apps/v1/namespaces/${ns}/statefulsets/${n}`,
  DaemonSet: (ns, n) => `/apis/apps/v1/namespaces/${ns}/daemonsets/${n}`,
  CronJob: (ns, n) => `/apis/batch/v1/namespaces/${ns}/cronjobs/${n}`,
  Rollout: (ns, n) => `/apis/argoproj.io/v1alpha1/namespaces/${ns}/rollouts/${n}`,
};

interface Spec {
  readonly kind: Kind;
  readonly name: string;
  readonly uses: Uses;
  readonly annotations?: Record<string, string>;
  readonly templateAnnotations?: Record<string, string>;
  /** Extra env on the container, as Reloader's env-vars strategy leaves it. */
  readonly env?: Record<string, string>;
}

/** A workload of any kind, annotated exactly as given (no configstamp key). */
function workload(s: Spec): unknown {
  const template = podTemplate(s.name, s.uses) as { metadata: Record<string, unknown>; spec: { containers: { env: unknown[] }[]; restartPolicy?: string } };
  if (s.templateAnnotations) template.metadata.annotations = s.templateAnnotations;
  for (const [name, value] of Object.entries(s.env ?? {})) template.spec.containers[0]!.env.push({ name, value });
  const metadata = { name: s.name, annotations: s.annotations ?? {} };
  const selector = { matchLabels: { app: s.name } };
  switch (s.kind) {
    case 'Deployment':
      return { apiVersion: 'apps/v1', kind: s.kind, metadata, spec: { replicas: 0, selector, template } };
    case 'StatefulSet':
      return { apiVersion: 'apps/v1', kind: s.kind, metadata, spec: { replicas: 0, serviceName: s.name, selector, template } };
    case 'DaemonSet':
      return { apiVersion: 'apps/v1', kind: s.kind, metadata, spec: { selector, template } };
    case 'Rollout':
      return { apiVersion: 'argoproj.io/v1alpha1', kind: s.kind, metadata, spec: { replicas: 0, selector, template } };
    case 'CronJob':
      template.spec.restartPolicy = 'Never';
      return { apiVersion: 'batch/v1', kind: s.kind, metadata, spec: { schedule: '0 0 1 1 *', suspend: true, jobTemplate: { spec: { template } } } };
  }
}

async function counts(ns: string, specs: readonly Spec[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const s of specs) out[s.name] = await rolloutCount(client, ns, s.kind, s.name);
  return out;
}

/** Waits until the controllers made every first revision (Deployments, StatefulSets, DaemonSets). */
async function settledBaseline(ns: string, specs: readonly Spec[]): Promise<Record<string, number>> {
  return eventually(`first revisions in ${ns}`, async () => {
    const c = await counts(ns, specs);
    return Object.values(c).every((n) => n >= 1) ? c : undefined;
  });
}

async function recorded(ns: string, s: Spec): Promise<true | undefined> {
  const a = await annotationsOf(client, PATHS[s.kind](ns, s.name));
  return a.own['configstamp.io/adopted-stamp'] !== undefined || a.template['configstamp.io/stamp'] !== undefined ? true : undefined;
}

/** Waits until each workload's revision count is baseline + want[name] (absent: + 0), then holds for `settleMs`. */
async function expectRollouts(
  t: Pick<typeof tap, 'equal'>,
  ns: string,
  specs: readonly Spec[],
  baseline: Record<string, number>,
  want: Record<string, number>,
  settleMs = 2_500,
): Promise<void> {
  for (const s of specs) {
    const target = baseline[s.name]! + (want[s.name] ?? 0);
    await eventually(`${s.kind} ${s.name} at ${target}`, async () => ((await rolloutCount(client, ns, s.kind, s.name)) >= target ? true : undefined));
  }
  await sleep(settleMs);
  const after = await counts(ns, specs);
  for (const s of specs) t.equal(after[s.name]! - baseline[s.name]!, want[s.name] ?? 0, `${s.kind} ${s.name}: ${want[s.name] ?? 0} rollout(s)`);
}

// ---- 1. a migration that rolls nothing -------------------------------------------------------

const MIG = await createNamespace(cluster, 'migrated');
const sha1 = (text: string): string => createHash('sha1').update(text).digest('hex');
const MIGRATED: Spec[] = [
  {
    kind: 'Deployment',
    name: 'env-vars',
    uses: { configMap: 'app-config' },
    annotations: { 'reloader.stakater.com/auto': 'true' },
    env: { STAKATER_APP_CONFIG_CONFIGMAP: sha1('level=info') },
  },
  {
    kind: 'Deployment',
    name: 'annotations',
    uses: { configMap: 'app-config', key: 'level' },
    annotations: { 'configmap.reloader.stakater.com/reload': 'app-config' },
    templateAnnotations: {
      'reloader.stakater.com/last-reloaded-from': JSON.stringify({
        type: 'CONFIGMAP',
        name: 'app-config',
        namespace: MIG,
        hash: sha1('level=info'),
        containerRefs: ['c'],
        observedAt: 1764580000,
      }),
    },
  },
  {
    kind: 'StatefulSet',
    name: 'db-client',
    uses: { secret: 'db' },
    annotations: { 'secret.reloader.stakater.com/reload': 'db' },
    env: { STAKATER_DB_SECRET: sha1('password=hunter2') },
  },
  { kind: 'DaemonSet', name: 'agent', uses: { configMap: 'app-config' }, annotations: { 'configmap.reloader.stakater.com/auto': 'true' } },
  { kind: 'CronJob', name: 'report', uses: { configMap: 'app-config' }, annotations: { 'reloader.stakater.com/auto': 'true' } },
  { kind: 'Rollout', name: 'canary', uses: { configMap: 'app-config' }, annotations: { 'reloader.stakater.com/auto': 'true' } },
];
await apply(cluster, MIG, [configMap('app-config', { level: 'info' }), secret('db', { password: 'hunter2' })]);
await apply(cluster, MIG, MIGRATED.map(workload));
const migBaseline = await settledBaseline(MIG, MIGRATED);

// Reloader's Deployment, as its chart renders it (args and env), given to configstamp as it is.
const RELOADER_ARGS = [
  '--reload-strategy=annotations',
  '--reload-on-create=true',
  '--reload-on-delete=false',
  '--sync-after-restart=true',
  '--enable-ha=true',
  '--log-format=',
  '--log-level=info',
  '--is-Argo-Rollouts=true',
  '--ignored-workload-types=jobs',
];
const RELOADER_ENV = {
  POD_NAME: 'reloader-7d9f-abcde',
  POD_NAMESPACE: 'configstamp',
  RELOADER_NAMESPACE: 'configstamp',
  RELOADER_DEPLOYMENT_NAME: 'reloader',
  ALERT_ON_RELOAD: 'false',
};
const migrating = startConfigstamp(
  [
    'watcher',
    `--kubeconfig=${cluster.kubeconfigPath}`,
    '--health-port=0',
    '--health-host=127.0.0.1',
    '--debounce=300ms',
    '--min-rollout-interval=0',
    '--lease-duration=2s',
    '--renew-deadline=1500ms',
    '--retry-period=250ms',
    ...RELOADER_ARGS,
  ],
  RELOADER_ENV,
);
t.teardown(() => migrating.stop());

t.test("a Reloader-reloaded cluster, configstamp started with Reloader's own settings: nothing rolls, then one change rolls each consumer once", async (t) => {
  // --log-format="" is Reloader's text format: logfmt lines, read here as such.
  await eventually(
    'the watcher synced (logfmt line)',
    async () => (migrating.lines.some((l) => /^time=\S+ level=info msg="synced: listed namespaces/.test(l)) ? true : undefined),
    60_000,
  );
  t.ok(
    migrating.lines.some((l) => /msg="leading: reconciling every workload/.test(l) && /identity=reloader-7d9f-abcde/.test(l)),
    'POD_NAME is the Lease identity',
  );
  t.notOk(
    migrating.lines.some((l) => /level=(error|fatal)/.test(l)),
    'no error at startup',
  );
  for (const s of MIGRATED) await eventually(`${s.name} recorded`, () => recorded(MIG, s));
  await expectRollouts(t, MIG, MIGRATED, migBaseline, {});
  for (const s of MIGRATED) {
    const a = await annotationsOf(client, PATHS[s.kind](MIG, s.name));
    t.ok(a.own['configstamp.io/adopted-stamp'], `${s.name}: adopted on its metadata (no rollout)`);
  }
  await apply(cluster, MIG, [configMap('app-config', { level: 'debug' })]);
  await expectRollouts(t, MIG, MIGRATED, migBaseline, { 'env-vars': 1, annotations: 1, agent: 1, report: 1, canary: 1 });
  await apply(cluster, MIG, [secret('db', { password: 'correct horse' })]);
  await expectRollouts(t, MIG, MIGRATED, migBaseline, { 'env-vars': 1, annotations: 1, agent: 1, report: 1, canary: 1, 'db-client': 1 });
  const stdout = migrating.lines.join('\n');
  t.notMatch(stdout, /hunter2|correct horse/, 'no Secret value in the logs');
  // Reloader's chart watches every namespace, and so does this watcher: left running, it would
  // (rightly) roll the default-key workloads of the renamed-keys test below.
  await migrating.stop();
});

// ---- 2. Reloader's annotations, every form, every kind ---------------------------------------

const R = await createNamespace(cluster, 'reloader-forms');
const ALL = await createNamespace(cluster, 'reloader-all');
const FORMS: Spec[] = [
  { kind: 'Deployment', name: 'auto', uses: { configMap: 'shared' }, annotations: { 'reloader.stakater.com/auto': 'true' } },
  { kind: 'StatefulSet', name: 'typed-auto', uses: { configMap: 'shared', secret: 'sec' }, annotations: { 'secret.reloader.stakater.com/auto': 'true' } },
  { kind: 'DaemonSet', name: 'named-regex', uses: { configMap: 'shared' }, annotations: { 'configmap.reloader.stakater.com/reload': 'regex-app-.*, other' } },
  { kind: 'CronJob', name: 'search', uses: { configMap: 'matched', secret: 'sec' }, annotations: { 'reloader.stakater.com/search': 'true' } },
  { kind: 'Rollout', name: 'fallback', uses: { configMap: 'shared' }, templateAnnotations: { 'reloader.stakater.com/auto': 'true' } },
  {
    kind: 'Deployment',
    name: 'excludes',
    uses: { configMap: 'shared', secret: 'sec' },
    annotations: { 'reloader.stakater.com/auto': 'true', 'configmaps.exclude.reloader.stakater.com/reload': 'shared' },
  },
  { kind: 'Deployment', name: 'ignored', uses: { configMap: 'ignored' }, annotations: { 'reloader.stakater.com/auto': 'true' } },
  { kind: 'Deployment', name: 'untracked', uses: { configMap: 'shared' } },
];
const AUTO_ALL: Spec[] = [
  { kind: 'Deployment', name: 'plain', uses: { configMap: 'shared' } },
  { kind: 'Deployment', name: 'opted-out', uses: { configMap: 'shared' }, annotations: { 'reloader.stakater.com/auto': 'false' } },
  { kind: 'StatefulSet', name: 'typed-off', uses: { configMap: 'shared' }, annotations: { 'configmap.reloader.stakater.com/auto': 'false' } },
];
const sources = (v: string): unknown[] => [
  configMap('shared', { v }),
  configMap('other', { v }),
  configMap('regex-app-1', { v }),
  configMap('matched', { v }, { annotations: { 'reloader.stakater.com/match': 'true' } }),
  configMap('ignored', { v }, { annotations: { 'reloader.stakater.com/ignore': 'true' } }),
  secret('sec', { v }),
];
await apply(cluster, R, sources('1'));
await apply(cluster, ALL, sources('1'));
await apply(cluster, R, FORMS.map(workload));
await apply(cluster, ALL, AUTO_ALL.map(workload));
const formsBaseline = await settledBaseline(R, FORMS);
const allBaseline = await settledBaseline(ALL, AUTO_ALL);

// Two watchers, each scoped with Reloader's --namespaces: one as a plain install, one with
// --auto-reload-all; their own Leases.
const forms: RunningWatcher = await startWatcher(cluster, 'configstamp', [`--namespaces=${R}`, '--lease-name=forms']);
t.teardown(() => forms.proc.stop());
const autoAll: RunningWatcher = await startWatcher(cluster, 'configstamp', [`--namespaces=${ALL}`, '--lease-name=auto-all', '--auto-reload-all']);
t.teardown(() => autoAll.proc.stop());

async function change(ns: string, name: string, v: string): Promise<void> {
  const source = sources(v).find((s) => (s as { metadata: { name: string } }).metadata.name === name);
  await apply(cluster, ns, [source]);
}

t.test("each of Reloader's annotation forms rolls what Reloader rolls, across kinds", async (t) => {
  await expectRollouts(t, R, FORMS, formsBaseline, {}, 500);
  await change(R, 'shared', '2');
  const afterShared = { auto: 1, fallback: 1 };
  await expectRollouts(t, R, FORMS, formsBaseline, afterShared);
  await change(R, 'sec', '2');
  const afterSec = { ...afterShared, 'typed-auto': 1, excludes: 1 };
  await expectRollouts(t, R, FORMS, formsBaseline, afterSec);
  await change(R, 'regex-app-1', '2');
  const afterRegex = { ...afterSec, 'named-regex': 1 };
  await expectRollouts(t, R, FORMS, formsBaseline, afterRegex);
  await change(R, 'other', '2');
  await expectRollouts(t, R, FORMS, formsBaseline, { ...afterRegex, 'named-regex': 2 });
  await change(R, 'matched', '2');
  await expectRollouts(t, R, FORMS, formsBaseline, { ...afterRegex, 'named-regex': 2, search: 1 });
  await change(R, 'ignored', '2');
  await expectRollouts(t, R, FORMS, formsBaseline, { ...afterRegex, 'named-regex': 2, search: 1 });
});

t.test('--auto-reload-all tracks every workload but those with auto=false (or typed auto=false)', async (t) => {
  await change(ALL, 'shared', '2');
  await expectRollouts(t, ALL, AUTO_ALL, allBaseline, { plain: 1 });
  t.same(
    forms.rollouts().filter((r) => String(r.workload).includes(`/${ALL}/`)),
    [],
    'the other watcher, scoped elsewhere, touched nothing here',
  );
});

// ---- 3. renamed keys, at admission and in the watcher ----------------------------------------

t.test('renamed annotation keys (--auto-annotation) work at admission and in the watcher', async (t) => {
  const ns = await createNamespace(cluster, 'renamed');
  const renamed = ['--auto-annotation=example.com/reload-on-change', '--configmap-annotation=example.com/configmaps'];
  // The webhook also serves `default`, where registerWebhook's probe is created.
  const webhook = await startWebhookProcess(cluster, ['--namespace=configstamp', ...renamed, `--namespaces=${ns},default`]);
  t.teardown(() => webhook.process.stop());
  // The matchConditions name the renamed keys, as the chart renders reloader.custom_annotations.
  const renamedKeys = { 'reloader.stakater.com/auto': 'example.com/reload-on-change', 'configmap.reloader.stakater.com/reload': 'example.com/configmaps' };
  const unregister = await registerWebhook(cluster, webhook.port, webhook.caPem, undefined, { renamedKeys });
  t.teardown(unregister);
  const watcher = await startWatcher(cluster, 'configstamp', [...renamed, `--namespaces=${ns}`, '--lease-name=renamed']);
  t.teardown(() => watcher.proc.stop());
  const specs: Spec[] = [
    { kind: 'Deployment', name: 'custom-auto', uses: { configMap: 'shared' }, annotations: { 'example.com/reload-on-change': 'true' } },
    { kind: 'Deployment', name: 'custom-named', uses: { configMap: 'shared' }, annotations: { 'example.com/configmaps': 'other' } },
    { kind: 'Deployment', name: 'default-key', uses: { configMap: 'shared' }, annotations: { 'reloader.stakater.com/auto': 'true' } },
  ];
  await apply(cluster, ns, sources('1'));
  await apply(cluster, ns, specs.map(workload));
  const stamped = await annotationsOf(client, PATHS.Deployment(ns, 'custom-auto'));
  t.match(stamped.template['configstamp.io/stamp'], /^v1:configmap\/shared=/, 'the webhook stamped it at admission under the renamed key');
  t.notOk((await annotationsOf(client, PATHS.Deployment(ns, 'default-key'))).template['configstamp.io/stamp'], 'the default key is not read once renamed');
  const baseline = await settledBaseline(ns, specs);
  t.same(baseline, { 'custom-auto': 1, 'custom-named': 1, 'default-key': 1 }, 'one ReplicaSet each: stamped at creation, not rolled twice');
  await change(ns, 'shared', '2');
  await expectRollouts(t, ns, specs, baseline, { 'custom-auto': 1 });
  await change(ns, 'other', '2');
  await expectRollouts(t, ns, specs, baseline, { 'custom-auto': 1, 'custom-named': 1 });
});
