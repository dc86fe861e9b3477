// The install manifests (deploy/): the kustomize base and the Helm chart render with the real
// kubectl and helm built from source, install the same objects configured the same way (also as
// a scoped install, deploy/overlays/namespaced), hold every pod to the restricted security
// profile, give each ServiceAccount only what its process needs, pass flags the processes accept
// (also from a Stakater Reloader values file), and apply to a real API server whose RBAC then
// answers for each ServiceAccount as docs/install.md says.
import t from 'tap';
import type tap from 'tap';
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { defaultCacheRoot, ensureBinaries } from '../cluster/binaries.js';
import { withControlPlane } from '../cluster/fixtures.js';
import { envName, parseFlags } from '../../shared/config/flags.js';
import type { FlagSpec } from '../../shared/config/flags.js';
import { WEBHOOK_FLAGS, parseWebhookConfig } from '../../webhook/config.js';
import { WATCHER_FLAGS, parseWatcherConfig } from '../../watcher/config.js';
import { CERTS_FLAGS } from '../../certs/main.js';
import { Ours, Wave, readBool } from '../../shared/core/annotations.js';
import { planTracking } from '../../shared/core/policy.js';
import type { PolicyOptions } from '../../shared/core/policy.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const BASE = join(ROOT, 'deploy/base');
const CERT_MANAGER_OVERLAY = join(ROOT, 'deploy/overlays/cert-manager');
const NAMESPACED_OVERLAY = join(ROOT, 'deploy/overlays/namespaced');
const TRACK_ALL_OVERLAY = join(ROOT, 'deploy/overlays/track-all');
const CHART = join(ROOT, 'deploy/helm/configstamp');
const NAMESPACE = 'configstamp';
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const IMAGE = `ghcr.io/configstamp/configstamp:${VERSION}`;
const WORKLOADS = [
  ['apps', 'deployments'],
  ['apps', 'statefulsets'],
  ['apps', 'daemonsets'],
  ['batch', 'cronjobs'],
  ['argoproj.io', 'rollouts'],
  ['apps.openshift.io', 'deploymentconfigs'],
] as const;

// ---- running the real tools -------------------------------------------------------------------

interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

// helm and kubectl get a home of their own: nothing of the user's is read or written.
const toolHome = mkdtempSync(join(tmpdir(), 'configstamp-manifests-'));
t.teardown(() => rmSync(toolHome, { recursive: true, force: true }));

/** Runs a tool; `isolated` (the default) gives it the private home, build.sh keeps the real one (Go's caches). */
function run(bin: string, args: readonly string[], { timeoutMs = 120_000, isolated = true } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = isolated
      ? {
          ...process.env,
          HOME: toolHome,
          KUBECACHEDIR: join(toolHome, 'kube-cache'),
          HELM_CACHE_HOME: join(toolHome, 'helm-cache'),
          HELM_CONFIG_HOME: join(toolHome, 'helm-config'),
          HELM_DATA_HOME: join(toolHome, 'helm-data'),
        }
      : { ...process.env };
    delete env.KUBECONFIG;
    const child = spawn(bin, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
      if (!isolated) process.stderr.write(c); // build.sh's progress: a cold build takes minutes
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** helm, built by build.sh from test/cluster/go/helm into its own pinned cache directory. */
async function ensureHelm(): Promise<string> {
  const goMod = readFileSync(join(ROOT, 'test/cluster/go/helm/go.mod'), 'utf8');
  const version = /^\s*(?:require\s+)?helm\.sh\/helm\/v3\s+(v\S+)/m.exec(goMod)?.[1];
  if (version === undefined) throw new Error('test/cluster/go/helm/go.mod does not require helm.sh/helm/v3');
  const helm = join(defaultCacheRoot(), `helm-${version}`, 'helm');
  try {
    accessSync(helm, constants.X_OK);
    return helm;
  } catch {
    process.stderr.write(`[manifests] ${helm} missing; running test/cluster/build.sh\n`);
    const built = await run('bash', [join(ROOT, 'test/cluster/build.sh')], { timeoutMs: 3_600_000, isolated: false });
    if (built.code !== 0) throw new Error(`build.sh failed:\n${built.stderr}`);
    return helm;
  }
}

type AccessCase = [account: string, verb: string, resource: string, namespace: string | undefined, allowed: boolean];

/** Asks the real authorizer (`kubectl auth can-i --as` each ServiceAccount) and checks every answer. */
async function expectAccess(
  t: Pick<typeof tap, 'equal'>,
  cluster: { kubectl: (args: readonly string[]) => Promise<RunResult> },
  cases: readonly AccessCase[],
): Promise<void> {
  const ask = async ([account, verb, resource, namespace]: AccessCase): Promise<boolean> => {
    const r = await cluster.kubectl([
      'auth',
      'can-i',
      verb,
      resource,
      `--as=system:serviceaccount:${NAMESPACE}:${account}`,
      ...(namespace === undefined ? ['--all-namespaces'] : ['-n', namespace]),
    ]);
    if (r.code !== 0 && r.code !== 1) throw new Error(`kubectl auth can-i: ${r.stderr}`);
    return r.code === 0;
  };
  const answers = await Promise.all(cases.map(ask));
  cases.forEach(([account, verb, resource, namespace, allowed], i) => {
    t.equal(answers[i], allowed, `${account} ${allowed ? 'may' : 'may not'} ${verb} ${resource} in ${namespace ?? 'all namespaces'}`);
  });
}

// ---- reading rendered objects -----------------------------------------------------------------

type Json = Record<string, unknown>;
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}
interface Container {
  name: string;
  image?: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  ports?: { name?: string; containerPort: number }[];
  securityContext?: Json;
  resources?: { requests?: Json; limits?: Json };
  livenessProbe?: Json;
  readinessProbe?: Json;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface PodSpec {
  serviceAccountName?: string;
  securityContext?: Json;
  containers: Container[];
  initContainers?: Container[];
  volumes?: Json[];
  affinity?: Json;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
}
interface PodTemplate {
  metadata?: { labels?: Record<string, string> };
  spec: PodSpec;
}
interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
}

function parseObjects(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

const idOf = (o: K8sObject): string => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

function find(objects: readonly K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (found === undefined) throw new Error(`no ${kind} ${name} among ${objects.map(idOf).join(', ')}`);
  return found;
}

function at<T>(value: unknown, ...path: (string | number)[]): T {
  let v: unknown = value;
  for (const p of path) v = (v as Record<string | number, unknown> | undefined)?.[p];
  return v as T;
}

/** Every pod template with where it came from: Deployments, Jobs and CronJobs. */
function podTemplates(objects: readonly K8sObject[]): { owner: string; template: PodTemplate }[] {
  const out: { owner: string; template: PodTemplate }[] = [];
  for (const o of objects) {
    const template = o.kind === 'CronJob' ? at<PodTemplate>(o, 'spec', 'jobTemplate', 'spec', 'template') : at<PodTemplate | undefined>(o, 'spec', 'template');
    if (template?.spec?.containers !== undefined) out.push({ owner: idOf(o), template });
  }
  return out;
}

// ---- RBAC, evaluated the way the API server's authorizer does ---------------------------------

interface Grant {
  readonly namespace: string | null;
  readonly rule: Rule;
}

function grantsOf(objects: readonly K8sObject[], account: string, namespace = NAMESPACE): Grant[] {
  const grants: Grant[] = [];
  for (const b of objects.filter((o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding')) {
    const subjects = at<{ kind: string; name: string; namespace?: string }[]>(b, 'subjects') ?? [];
    if (!subjects.some((s) => s.kind === 'ServiceAccount' && s.name === account && s.namespace === namespace)) continue;
    const ref = at<{ kind: string; name: string }>(b, 'roleRef');
    const role = objects.find(
      (o) => o.kind === ref.kind && o.metadata.name === ref.name && (ref.kind === 'ClusterRole' || o.metadata.namespace === b.metadata.namespace),
    );
    if (role === undefined) throw new Error(`${idOf(b)} refers to a missing ${ref.kind} ${ref.name}`);
    const scope = b.kind === 'ClusterRoleBinding' ? null : (b.metadata.namespace ?? null);
    for (const rule of at<Rule[]>(role, 'rules') ?? []) grants.push({ namespace: scope, rule });
  }
  return grants;
}

/** Whether `grants` allow verb on group/resource; namespace undefined asks cluster-wide. */
function can(grants: readonly Grant[], verb: string, group: string, resource: string, where: { namespace?: string; name?: string } = {}): boolean {
  return grants.some(
    ({ namespace, rule }) =>
      (namespace === null || namespace === where.namespace) &&
      (rule.apiGroups ?? []).some((g) => g === group || g === '*') &&
      (rule.resources ?? []).some((r) => r === resource || r === '*') &&
      rule.verbs.some((v) => v === verb || v === '*') &&
      (rule.resourceNames === undefined || rule.resourceNames.length === 0 || (where.name !== undefined && rule.resourceNames.includes(where.name))),
  );
}

// ---- rendering ----------------------------------------------------------------------------------

const binDir = await ensureBinaries();
const kubectl = join(binDir, 'kubectl');
const helm = await ensureHelm();

async function kustomize(dir: string): Promise<K8sObject[]> {
  const r = await run(kubectl, ['kustomize', dir]);
  if (r.code !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${r.stderr}`);
  return parseObjects(r.stdout);
}

async function helmTemplate(args: readonly string[] = [], namespace = NAMESPACE): Promise<K8sObject[]> {
  const r = await run(helm, ['template', 'configstamp', CHART, '--namespace', namespace, ...args]);
  if (r.code !== 0) throw new Error(`helm template ${args.join(' ')} failed: ${r.stderr}`);
  return parseObjects(r.stdout);
}

const rendered = {
  kustomize: await kustomize(BASE),
  kustomizeCertManager: await kustomize(CERT_MANAGER_OVERLAY),
  helm: await helmTemplate(),
  helmCertManager: await helmTemplate(['--set', 'certManager.enabled=true']),
};
const renders = Object.entries(rendered);

/** Scoped installs, apart from `renders`: their RBAC is namespaced on purpose. */
const scoped = {
  kustomize: await kustomize(NAMESPACED_OVERLAY),
  helm: await helmTemplate(['--set', 'namespaces={team-a}']),
};

/** Writes a values file into the tools' private home and returns its path. */
function valuesFile(name: string, text: string): string {
  const file = join(toolHome, name);
  writeFileSync(file, text);
  return file;
}

/** Helm names the certs Job per release revision (its pod template is immutable); the rest match. */
function comparableIds(objects: readonly K8sObject[]): string[] {
  return objects.map((o) => (o.kind === 'Job' ? idOf(o).replace(/-\d+$/, '') : idOf(o))).sort();
}

// ---- helpers that read the manifests as the processes would -----------------------------------

/**
 * The environment a container gets: literal values, downward-API ones set as the kubelet would,
 * and keys of the Secrets among `objects` (a secretKeyRef to anything else reads as '').
 */
function envOf(c: Container, objects: readonly K8sObject[] = []): Record<string, string> {
  const downward: Record<string, string> = { 'metadata.namespace': NAMESPACE, 'metadata.name': 'POD_NAME' };
  const secretKey = (ref: { name: string; key: string } | undefined): string => {
    const secret = ref === undefined ? undefined : objects.find((o) => o.kind === 'Secret' && o.metadata.name === ref.name);
    const data = at<string | undefined>(secret, 'data', ref?.key ?? '');
    return data === undefined ? (at<string | undefined>(secret, 'stringData', ref?.key ?? '') ?? '') : Buffer.from(data, 'base64').toString('utf8');
  };
  return Object.fromEntries(
    (c.env ?? []).map((e) => [
      e.name,
      e.value ??
        downward[at<string>(e.valueFrom, 'fieldRef', 'fieldPath')] ??
        secretKey(at<{ name: string; key: string } | undefined>(e.valueFrom, 'secretKeyRef')),
    ]),
  );
}

const FLAGS: Readonly<Record<string, readonly FlagSpec[]>> = { webhook: WEBHOOK_FLAGS, watcher: WATCHER_FLAGS, certs: CERTS_FLAGS };

/**
 * Each container's flags parsed by the subcommand's own parser (which throws on an unknown flag
 * or a bad value), and every CONFIGSTAMP_* variable checked against the same flag specs.
 */
function configsOf(pod: PodSpec, objects: readonly K8sObject[] = []): unknown[] {
  return pod.containers.map((c) => {
    const [command, ...argv] = c.args ?? [];
    const specs = FLAGS[command ?? ''];
    if (specs === undefined) throw new Error(`container ${c.name}: unknown subcommand ${String(command)}`);
    const env = envOf(c, objects);
    const known = new Set(specs.map(envName));
    for (const name of Object.keys(env)) {
      if (name.startsWith('CONFIGSTAMP_') && !known.has(name)) throw new Error(`container ${c.name}: ${name} is no flag of configstamp ${command}`);
    }
    if (command === 'webhook') return parseWebhookConfig(argv, env);
    if (command === 'watcher') return parseWatcherConfig(argv, env);
    return parseFlags(specs, argv, env).values;
  });
}

/** Whether a label selector's matchLabels select the pod template. */
function selects(matchLabels: Record<string, string> | undefined, template: PodTemplate): boolean {
  if (matchLabels === undefined || Object.keys(matchLabels).length === 0) return false;
  return Object.entries(matchLabels).every(([k, v]) => template.metadata?.labels?.[k] === v);
}

// ---- the webhook configuration's entries and matchConditions --------------------------------

interface Requirement {
  key: string;
  operator: string;
  values?: string[];
}
interface WebhookEntry {
  name: string;
  namespaceSelector: { matchExpressions: Requirement[] };
  rules: { apiGroups: string[]; apiVersions: string[]; resources: string[] }[];
  matchConditions?: { name: string; expression: string }[];
  [field: string]: unknown;
}

const hooksOf = (objects: readonly K8sObject[]): WebhookEntry[] => at<WebhookEntry[]>(find(objects, 'MutatingWebhookConfiguration', 'configstamp'), 'webhooks');

/** Every spelling of "true" a label value can have (no blanks in labels): the webhook reads the namespace label ignoring case. */
const TRUE_SPELLINGS = [...Array(16).keys()].map((bits) => [...'true'].map((c, i) => (bits & (8 >> i) ? c.toUpperCase() : c)).join(''));

/** What the one matchCondition's CEL names: the annotation keys, and the paths whose annotations it reads ('' is the object's own). */
function conditionOf(hook: WebhookEntry): { keys: string[]; paths: string[]; expression: string } {
  const expression = hook.matchConditions?.[0]?.expression ?? '';
  return {
    expression,
    keys: [...expression.matchAll(/'([^']+)'/g)].map((m) => m[1]!),
    paths: [...expression.matchAll(/\? (o(?:\.\w+)*)\.metadata\.annotations :/g)].map((m) => m[1]!.replace(/^o\.?/, '')),
  };
}

/**
 * The annotation keys that, alone on a Deployment's or a CronJob's metadata or pod template, make
 * the code itself (planTracking, with this policy, in an unlabelled namespace in scope) track it: every key
 * the code knows, under this install's names, tried with "true" and with a source name.
 */
function keysThatTrack(policy: PolicyOptions): Set<string> {
  const known = new Set([...Object.values(Ours), ...Object.values(policy.reloaderKeys.keys), ...Object.values(Wave)]);
  const tracking = new Set<string>();
  const kinds = policy.workloadKinds.filter((k) => k.kind === 'Deployment' || k.kind === 'CronJob');
  // A namespace in scope, unlabelled.
  const namespace = { name: [...(policy.namespaceScope ?? ['apps'])][0]!, labels: {} };
  for (const kind of kinds) {
    for (const key of known) {
      for (const value of ['true', 'cfg']) {
        for (const where of ['metadata', 'template'] as const) {
          const annotations = { [key]: value };
          const template: Json = { metadata: where === 'template' ? { annotations } : {}, spec: { containers: [] } };
          const spec: Json = {};
          let node: Json = spec;
          for (const segment of kind.templatePath.slice(1, -1)) node = (node[segment] = {}) as Json;
          node[kind.templatePath.at(-1)!] = template;
          const object = { metadata: { name: 'w', annotations: where === 'metadata' ? annotations : {} }, spec };
          if (planTracking({ kind, object }, [], namespace, policy).tracked) tracking.add(key);
        }
      }
    }
  }
  return tracking;
}

/**
 * The matchCondition of entry 0 as the webhook with `policy` needs it: it names every key that can
 * track a workload (and the stamp, for restores), nothing the policy does not read, and reads the
 * annotations of the object and of every kind's pod template.
 */
function expectConditionFits(t: Pick<typeof tap, 'ok' | 'same' | 'equal'>, label: string, hook: WebhookEntry, policy: PolicyOptions): void {
  const { keys, paths, expression } = conditionOf(hook);
  const tracking = keysThatTrack(policy);
  t.ok(tracking.has(Ours.track) && tracking.size >= 5, `${label}: the code tracks on ${tracking.size} keys (${[...tracking].join(', ')})`);
  t.same(
    [...tracking].filter((k) => !keys.includes(k)),
    [],
    `${label}: the condition names every key that tracks a workload`,
  );
  t.same(
    keys.filter((k) => k !== Ours.stamp && !tracking.has(k)),
    [],
    `${label}: and no key that does not`,
  );
  t.ok(
    keys.includes(Ours.stamp) && /\[object, oldObject\]\.exists\(o, o != null &&/.test(expression),
    `${label}: and the stamp, on the object or the old object (restores)`,
  );
  t.same(
    [...new Set(['', ...policy.workloadKinds.map((k) => k.templatePath.join('.'))])].sort(),
    [...paths].sort(),
    `${label}: on the object and the pod template of every kind`,
  );
}

// ---- tests ------------------------------------------------------------------------------------

t.test('the kustomize base renders every object of the install', async (t) => {
  t.same(comparableIds(rendered.kustomize), [
    'ClusterRole//configstamp-certs',
    'ClusterRole//configstamp-watcher',
    'ClusterRole//configstamp-webhook',
    'ClusterRoleBinding//configstamp-certs',
    'ClusterRoleBinding//configstamp-watcher',
    'ClusterRoleBinding//configstamp-webhook',
    'CronJob/configstamp/configstamp-certs',
    'Deployment/configstamp/configstamp-watcher',
    'Deployment/configstamp/configstamp-webhook',
    'Job/configstamp/configstamp-certs',
    'MutatingWebhookConfiguration//configstamp',
    'Namespace//configstamp',
    'NetworkPolicy/configstamp/configstamp-certs',
    'NetworkPolicy/configstamp/configstamp-watcher',
    'NetworkPolicy/configstamp/configstamp-webhook',
    'PodDisruptionBudget/configstamp/configstamp-webhook',
    'Role/configstamp/configstamp-certs',
    'Role/configstamp/configstamp-watcher',
    'RoleBinding/configstamp/configstamp-certs',
    'RoleBinding/configstamp/configstamp-watcher',
    'Service/configstamp/configstamp-webhook',
    'ServiceAccount/configstamp/configstamp-certs',
    'ServiceAccount/configstamp/configstamp-watcher',
    'ServiceAccount/configstamp/configstamp-webhook',
  ]);
  const ns = find(rendered.kustomize, 'Namespace', NAMESPACE);
  t.equal(ns.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted', 'the namespace enforces the restricted Pod Security level');
});

t.test('helm lint passes strictly, and the values schema rejects a misspelt or malformed value', async (t) => {
  const lint = await run(helm, ['lint', '--strict', CHART]);
  t.equal(lint.code, 0, `helm lint --strict${lint.code === 0 ? '' : `: ${lint.stdout}${lint.stderr}`}`);
  const typo = await run(helm, ['template', CHART, '--set', 'watcher.debounc=1s']);
  t.not(typo.code, 0, 'an unknown value is an error, not silently ignored');
  t.match(typo.stderr, /debounc/);
  const bad = await run(helm, ['template', CHART, '--set', 'watcher.debounce=soon']);
  t.not(bad.code, 0, 'a duration that is not one is refused at install time');
});

t.test('the chart and the kustomize base install the same objects', async (t) => {
  const withoutNamespace = comparableIds(rendered.kustomize).filter((id) => id !== `Namespace//${NAMESPACE}`);
  t.same(comparableIds(rendered.helm), withoutNamespace, 'same kinds, namespaces and names (helm installs into a namespace it is given)');
  const cmWithoutNamespace = comparableIds(rendered.kustomizeCertManager).filter((id) => id !== `Namespace//${NAMESPACE}`);
  t.same(comparableIds(rendered.helmCertManager), cmWithoutNamespace, 'and the same with cert-manager');
  t.same(
    at(find(rendered.helm, 'MutatingWebhookConfiguration', 'configstamp'), 'webhooks'),
    at(find(rendered.kustomize, 'MutatingWebhookConfiguration', 'configstamp'), 'webhooks'),
    "the chart's webhook configuration is deploy/base/mutatingwebhookconfiguration.yaml's",
  );
  sameConfiguration(t, 'default', rendered.kustomize, rendered.helm);
  sameConfiguration(t, 'cert-manager', rendered.kustomizeCertManager, rendered.helmCertManager);
});

/** The assertions sameConfiguration() makes, from whichever test calls it. */
type Asserts = Pick<typeof t, 'same' | 'fail'>;

/** What sameConfiguration() compares of each kind, beyond its name. */
const COMPARED: Readonly<Record<string, readonly string[]>> = {
  ClusterRole: ['rules'],
  Role: ['rules'],
  ClusterRoleBinding: ['roleRef', 'subjects'],
  RoleBinding: ['roleRef', 'subjects'],
  NetworkPolicy: ['spec'],
  Service: ['spec'],
  PodDisruptionBudget: ['spec'],
  Certificate: ['spec'],
  Issuer: ['spec'],
  MutatingWebhookConfiguration: ['webhooks'],
};

/** Beyond names: the same rules, bindings, policies, Service, PDB, certificates, webhooks, pod specs and parsed flags. */
function sameConfiguration(t: Asserts, label: string, kustomized: readonly K8sObject[], charted: readonly K8sObject[]): void {
  for (const o of kustomized) {
    const other = charted.find((c) => idOf(c) === idOf(o));
    for (const key of COMPARED[o.kind] ?? []) {
      if (other === undefined) t.fail(`${label}: helm has no ${idOf(o)}`);
      else t.same(at(other, key), at(o, key), `${label}: ${idOf(o)}: same ${key}`);
    }
  }
  for (const { owner, template } of podTemplates(kustomized)) {
    const [kind, , name] = owner.split('/') as [string, string, string];
    const other = podTemplates(charted).find((p) => p.owner.replace(/-\d+$/, '') === `${kind}/${NAMESPACE}/${name}`);
    if (other === undefined) {
      t.fail(`${label}: helm has no ${owner}`);
      continue;
    }
    const withoutArgs = (spec: PodSpec) => ({ ...spec, containers: spec.containers.map((c) => ({ ...c, args: undefined })) });
    t.same(withoutArgs(other.template.spec), withoutArgs(template.spec), `${label}: ${owner}: same pod spec apart from flags`);
    t.same(configsOf(other.template.spec), configsOf(template.spec), `${label}: ${owner}: flags that parse to the same configuration`);
  }
}

t.test('every pod runs non-root, read-only, unprivileged, seccomp-confined, with requests and limits', async (t) => {
  for (const [render, objects] of renders) {
    const templates = podTemplates(objects);
    t.ok(templates.length >= 3, `${render}: pod templates found`);
    for (const { owner, template } of templates) {
      const pod = template.spec;
      const where = `${render} ${owner}`;
      t.equal(at(pod.securityContext, 'runAsNonRoot'), true, `${where}: pod runAsNonRoot`);
      t.equal(at(pod.securityContext, 'runAsUser'), 10001, `${where}: pod runAsUser 10001`);
      t.equal(at(pod.securityContext, 'seccompProfile', 'type'), 'RuntimeDefault', `${where}: pod seccomp RuntimeDefault`);
      t.notOk(pod.hostNetwork || pod.hostPID || pod.hostIPC, `${where}: no host namespaces`);
      t.notOk(
        (pod.volumes ?? []).some((v) => 'hostPath' in v),
        `${where}: no hostPath volumes`,
      );
      for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
        const sc = c.securityContext ?? {};
        const w = `${where} container ${c.name}`;
        t.equal(sc.runAsNonRoot, true, `${w}: runAsNonRoot`);
        t.equal(sc.runAsUser, 10001, `${w}: runAsUser 10001`);
        t.equal(sc.readOnlyRootFilesystem, true, `${w}: readOnlyRootFilesystem`);
        t.equal(sc.allowPrivilegeEscalation, false, `${w}: no privilege escalation`);
        t.same(at(sc, 'capabilities', 'drop'), ['ALL'], `${w}: drops all capabilities`);
        t.notOk(at(sc, 'capabilities', 'add'), `${w}: adds none`);
        t.notOk(sc.privileged, `${w}: not privileged`);
        t.equal(at(sc, 'seccompProfile', 'type'), 'RuntimeDefault', `${w}: seccomp RuntimeDefault`);
        for (const r of ['cpu', 'memory']) {
          t.ok(c.resources?.requests?.[r], `${w}: requests ${r}`);
          t.ok(c.resources?.limits?.[r], `${w}: limits ${r}`);
        }
        t.equal(c.image, IMAGE, `${w}: image ${IMAGE} (package.json's version)`);
      }
    }
  }
});

t.test('each process runs under its own ServiceAccount', async (t) => {
  for (const [render, objects] of renders) {
    for (const { owner, template } of podTemplates(objects)) {
      const component = template.metadata?.labels?.['app.kubernetes.io/component'];
      t.ok(component, `${render} ${owner}: has a component label`);
      t.equal(template.spec.serviceAccountName, `configstamp-${component ?? '?'}`, `${render} ${owner}: runs as configstamp-${component ?? '?'}`);
    }
  }
});

t.test('the webhook: two spread replicas behind a PDB, probes on the ops port, the TLS Secret read-only', async (t) => {
  for (const [render, objects] of renders) {
    const d = find(objects, 'Deployment', 'configstamp-webhook');
    const pod = at<PodTemplate>(d, 'spec', 'template');
    const c = pod.spec.containers[0]!;
    t.equal(at(d, 'spec', 'replicas'), 2, `${render}: 2 replicas`);
    t.equal(at(d, 'spec', 'strategy', 'rollingUpdate', 'maxUnavailable'), 0, `${render}: a rollout never drops below 2`);
    const anti = at<{ podAffinityTerm: { topologyKey: string; labelSelector: { matchLabels: Record<string, string> } } }[]>(
      pod.spec.affinity,
      'podAntiAffinity',
      'preferredDuringSchedulingIgnoredDuringExecution',
    );
    t.equal(anti[0]?.podAffinityTerm.topologyKey, 'kubernetes.io/hostname', `${render}: preferred anti-affinity on hostname`);
    t.ok(selects(anti[0]?.podAffinityTerm.labelSelector.matchLabels, pod), `${render}: anti-affinity selects webhook pods`);

    const config = parseWebhookConfig(c.args!.slice(1), envOf(c));
    const portNamed = (name: string) => c.ports?.find((p) => p.name === name)?.containerPort;
    t.equal(portNamed('https'), config?.port, `${render}: the https port is the one --port serves`);
    t.equal(portNamed('metrics'), config?.metricsPort, `${render}: the metrics port is the one --metrics-port serves`);
    t.match(c.livenessProbe, { httpGet: { path: '/healthz', port: 'metrics' } }, `${render}: liveness /healthz on the ops port`);
    t.match(c.readinessProbe, { httpGet: { path: '/readyz', port: 'metrics' } }, `${render}: readiness /readyz on the ops port`);
    const mount = c.volumeMounts?.find((m) => m.name === 'tls');
    t.equal(mount?.readOnly, true, `${render}: TLS mounted read-only`);
    t.ok(
      config?.certFile.startsWith(`${mount?.mountPath ?? '?'}/`) && config.keyFile.startsWith(`${mount?.mountPath ?? '?'}/`),
      `${render}: --cert-file and --key-file are in the mount`,
    );
    t.equal(
      at(
        pod.spec.volumes?.find((v) => v.name === 'tls'),
        'secret',
        'secretName',
      ),
      'configstamp-webhook-tls',
      `${render}: from the Secret configstamp certs writes`,
    );

    const pdb = find(objects, 'PodDisruptionBudget', 'configstamp-webhook');
    t.equal(at(pdb, 'spec', 'minAvailable'), 1, `${render}: PDB minAvailable 1`);
    t.ok(selects(at(pdb, 'spec', 'selector', 'matchLabels'), pod), `${render}: PDB selects webhook pods`);

    const svc = find(objects, 'Service', 'configstamp-webhook');
    const port = at<{ port: number; targetPort: string }[]>(svc, 'spec', 'ports')[0];
    t.equal(port?.port, 443, `${render}: Service port 443`);
    t.equal(portNamed(port?.targetPort ?? '?'), 8443, `${render}: to the webhook's 8443`);
    t.ok(selects(at(svc, 'spec', 'selector'), pod), `${render}: Service selects webhook pods`);
    t.notOk(selects(at(svc, 'spec', 'selector'), at(find(objects, 'Deployment', 'configstamp-watcher'), 'spec', 'template')), `${render}: and not the watcher`);
    t.match(
      at(find(objects, 'MutatingWebhookConfiguration', 'configstamp'), 'webhooks', 0, 'clientConfig', 'service'),
      { name: 'configstamp-webhook', namespace: NAMESPACE, port: 443 },
      `${render}: the webhook configuration calls this Service`,
    );
  }
});

t.test('the watcher: two replicas electing a leader, probes on its ops port', async (t) => {
  for (const [render, objects] of renders) {
    const d = find(objects, 'Deployment', 'configstamp-watcher');
    const c = at<PodTemplate>(d, 'spec', 'template').spec.containers[0]!;
    t.equal(at(d, 'spec', 'replicas'), 2, `${render}: 2 replicas`);
    const config = parseWatcherConfig(c.args!.slice(1), envOf(c));
    t.equal(config?.leaderElect, true, `${render}: --leader-elect`);
    t.equal(config?.namespace, NAMESPACE, `${render}: its Lease lives in configstamp's namespace`);
    t.equal(config?.identity, 'POD_NAME', `${render}: its Lease identity is the pod's name`);
    t.equal(c.ports?.find((p) => p.name === 'metrics')?.containerPort, config?.healthPort, `${render}: the metrics port is --health-port`);
    t.match(c.readinessProbe, { httpGet: { path: '/readyz', port: 'metrics' } }, `${render}: readiness /readyz`);
  }
});

t.test('the certs Job makes the hash key and certificates; with cert-manager only the hash key', async (t) => {
  for (const [render, objects] of renders) {
    const job = objects.find((o) => o.kind === 'Job')!;
    const c = at<Container>(job, 'spec', 'template', 'spec', 'containers', 0);
    t.equal(c.args?.[0], 'certs', `${render}: runs configstamp certs`);
    const certManager = render.endsWith('CertManager');
    t.equal(c.args?.includes('--hash-key-only'), certManager, `${render}: --hash-key-only ${certManager ? 'with' : 'without'} cert-manager`);
    t.equal(
      objects.some((o) => o.kind === 'CronJob'),
      !certManager,
      `${render}: a rotation CronJob unless cert-manager renews`,
    );
    const mwc = find(objects, 'MutatingWebhookConfiguration', 'configstamp');
    t.equal(
      mwc.metadata.annotations?.['cert-manager.io/inject-ca-from'],
      certManager ? `${NAMESPACE}/configstamp-webhook` : undefined,
      `${render}: cert-manager injects the caBundle only when it makes the certificate`,
    );
    if (certManager) {
      const cert = find(objects, 'Certificate', 'configstamp-webhook');
      t.equal(at(cert, 'spec', 'secretName'), 'configstamp-webhook-tls', `${render}: cert-manager fills the Secret the webhook mounts`);
      t.ok(at<string[]>(cert, 'spec', 'dnsNames').includes(`configstamp-webhook.${NAMESPACE}.svc`), `${render}: for the Service's name`);
    }
  }
});

t.test('network policies: admissions from anywhere, metrics in-cluster, egress only to the API server and DNS', async (t) => {
  for (const [render, objects] of renders) {
    const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
    for (const { owner, template } of podTemplates(objects)) {
      const mine = policies.filter((p) => selects(at(p, 'spec', 'podSelector', 'matchLabels'), template));
      t.equal(mine.length, 1, `${render} ${owner}: one policy selects its pods`);
      t.same(at(mine[0], 'spec', 'policyTypes'), ['Ingress', 'Egress'], `${render} ${owner}: both directions are isolated`);
      const egressPorts = at<{ ports: { port: number; protocol: string }[] }[]>(mine[0], 'spec', 'egress').flatMap((r) =>
        r.ports.map((p) => `${p.protocol}/${p.port}`),
      );
      t.same(egressPorts.sort(), ['TCP/443', 'TCP/53', 'TCP/6443', 'UDP/53'], `${render} ${owner}: egress to the API server and DNS only`);
    }
    const ingress = at<{ from?: unknown[]; ports: { port: number }[] }[]>(find(objects, 'NetworkPolicy', 'configstamp-webhook'), 'spec', 'ingress');
    t.ok(
      ingress.some((r) => r.from === undefined && r.ports.some((p) => p.port === 8443)),
      `${render}: 8443 open to any source (the API server's address is unknown)`,
    );
    t.ok(
      ingress.some((r) => r.from !== undefined && r.ports.some((p) => p.port === 8080)),
      `${render}: 8080 only from in-cluster peers`,
    );
    t.same(at(find(objects, 'NetworkPolicy', 'configstamp-certs'), 'spec', 'ingress'), [], `${render}: nothing may reach the certs Job`);
  }
});

t.test('RBAC: each ServiceAccount gets what its process needs and nothing more', async (t) => {
  for (const [render, objects] of renders) {
    const roles = objects.filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole');
    const rules = roles.flatMap((r) => at<Rule[]>(r, 'rules'));
    t.notOk(
      rules.some((r) => [...(r.apiGroups ?? []), ...(r.resources ?? []), ...r.verbs].includes('*')),
      `${render}: no wildcards`,
    );
    t.notOk(
      rules.some((r) => r.verbs.some((v) => ['escalate', 'bind', 'impersonate', 'deletecollection'].includes(v))),
      `${render}: no escalate/bind/impersonate/deletecollection`,
    );
    // delete: the watcher's re-creation of Jobs (the Job, then its intent Secret in its own namespace), nothing else.
    t.same(
      rules
        .filter((r) => r.verbs.includes('delete'))
        .flatMap((r) => (r.resources ?? []).map((res) => `${(r.apiGroups ?? []).join(',')}/${res}`))
        .sort(),
      ['/secrets', 'batch/jobs'],
      `${render}: delete only Jobs and Secrets`,
    );

    const webhook = grantsOf(objects, 'configstamp-webhook');
    for (const kind of ['configmaps', 'secrets']) {
      t.ok(can(webhook, 'get', '', kind, { namespace: 'team-a' }), `${render} webhook: get ${kind} in any namespace`);
      t.ok(can(webhook, 'list', '', kind, { namespace: 'team-a' }), `${render} webhook: list ${kind} (Reloader's name patterns)`);
      t.notOk(can(webhook, 'watch', '', kind), `${render} webhook: does not watch ${kind}`);
    }
    t.ok(can(webhook, 'get', '', 'secrets', { namespace: NAMESPACE, name: 'configstamp-hash-key' }), `${render} webhook: reads its hash key`);
    t.ok(can(webhook, 'watch', '', 'namespaces'), `${render} webhook: watches namespace labels`);
    t.notOk(
      webhook.some((g) => g.rule.verbs.some((v) => !['get', 'list', 'watch'].includes(v))),
      `${render} webhook: only reads`,
    );
    for (const [group, resource] of WORKLOADS) {
      for (const verb of ['patch', 'update', 'create'])
        t.notOk(can(webhook, verb, group, resource, { namespace: 'team-a' }), `${render} webhook: no ${verb} ${resource}`);
    }

    const watcher = grantsOf(objects, 'configstamp-watcher');
    for (const [group, resource] of [['', 'configmaps'], ['', 'secrets'], ['', 'namespaces'], ...WORKLOADS] as const) {
      for (const verb of ['list', 'watch']) t.ok(can(watcher, verb, group, resource), `${render} watcher: ${verb} ${resource} cluster-wide`);
    }
    for (const [group, resource] of WORKLOADS) {
      t.ok(can(watcher, 'patch', group, resource, { namespace: 'team-a' }), `${render} watcher: patch ${resource}`);
      t.notOk(can(watcher, 'update', group, resource, { namespace: 'team-a' }), `${render} watcher: no update of ${resource} (patches only)`);
    }
    for (const group of ['', 'events.k8s.io'])
      t.ok(can(watcher, 'create', group, 'events', { namespace: 'team-a' }), `${render} watcher: create events (${group || 'core'})`);
    for (const verb of ['get', 'create', 'update']) {
      t.ok(can(watcher, verb, 'coordination.k8s.io', 'leases', { namespace: NAMESPACE }), `${render} watcher: ${verb} its Lease`);
      t.notOk(can(watcher, verb, 'coordination.k8s.io', 'leases', { namespace: 'kube-system' }), `${render} watcher: ${verb} no Lease elsewhere`);
    }
    t.ok(can(watcher, 'create', '', 'secrets', { namespace: NAMESPACE }), `${render} watcher: may create the hash key`);
    t.notOk(can(watcher, 'create', '', 'secrets', { namespace: 'team-a' }), `${render} watcher: creates no Secret elsewhere`);
    for (const verb of ['list', 'update', 'delete']) {
      t.ok(can(watcher, verb, '', 'secrets', { namespace: NAMESPACE }), `${render} watcher: ${verb} Jobs' re-create intents in its namespace`);
      t.notOk(
        can(watcher, verb === 'list' ? 'update' : verb, '', 'secrets', { namespace: 'team-a' }),
        `${render} watcher: ${verb === 'list' ? 'update' : verb}s no Secret elsewhere`,
      );
    }
    for (const verb of ['delete', 'create'])
      t.ok(can(watcher, verb, 'batch', 'jobs', { namespace: 'team-a' }), `${render} watcher: ${verb} Jobs (re-creation)`);
    t.notOk(can(watcher, 'delete', 'apps', 'deployments', { namespace: 'team-a' }), `${render} watcher: deletes no other workload`);
    t.notOk(
      ['get', 'list', 'watch'].some((v) => can(watcher, v, '', 'pods', { namespace: 'team-a' })),
      `${render} watcher: no access to Pods`,
    );
    t.notOk(can(watcher, 'patch', '', 'configmaps', { namespace: 'team-a' }), `${render} watcher: never writes a source`);

    const certs = grantsOf(objects, 'configstamp-certs');
    for (const verb of ['get', 'create', 'update']) {
      t.ok(can(certs, verb, '', 'secrets', { namespace: NAMESPACE }), `${render} certs: ${verb} Secrets in configstamp's namespace`);
      t.notOk(can(certs, verb, '', 'secrets', { namespace: 'team-a' }), `${render} certs: not elsewhere`);
    }
    const certManager = render.endsWith('CertManager');
    t.equal(
      can(certs, 'patch', 'admissionregistration.k8s.io', 'mutatingwebhookconfigurations', { name: 'configstamp' }),
      !certManager,
      `${render} certs: patches the caBundle of configstamp's webhook configuration${certManager ? ' (not with cert-manager)' : ''}`,
    );
    t.notOk(can(certs, 'patch', 'admissionregistration.k8s.io', 'mutatingwebhookconfigurations', { name: 'someone-else' }), `${render} certs: and no other`);
    t.notOk(can(certs, 'list', 'admissionregistration.k8s.io', 'mutatingwebhookconfigurations'), `${render} certs: lists none`);
    t.notOk(
      WORKLOADS.some(([g, r]) => can(certs, 'get', g, r, { namespace: 'team-a' })),
      `${render} certs: no workloads`,
    );
  }
});

t.test('a fully configured chart passes only flags the processes accept', async (t) => {
  const objects = await helmTemplate([
    '--set',
    'logLevel=debug',
    '--set',
    'policy.trackAll=true',
    '--set',
    'policy.reloaderCompat=false',
    '--set',
    'policy.waveCompat=false',
    '--set',
    'policy.namespacesToIgnore={a,b}',
    '--set-string',
    'policy.namespaceSelector=team=a',
    '--set-string',
    'policy.resourceLabelSelector=tier=config',
    '--set',
    'policy.resourcesToIgnore={secrets}',
    '--set',
    'policy.ignoredWorkloadTypes={rollouts}',
    '--set',
    'webhook.fetchDeadline=1500ms',
    '--set',
    'webhook.fetchConcurrency=4',
    '--set',
    'watcher.debounce=5s',
    '--set',
    'watcher.debounceMax=7s',
    '--set',
    'watcher.qps=5',
    '--set',
    'watcher.burst=10',
    '--set',
    'watcher.minRolloutInterval=1m',
    '--set',
    'watcher.rollOnDelete=true',
    '--set',
    'watcher.workers=2',
    '--set',
    'certs.extraDnsNames={webhook.example.com}',
    '--set',
    'certs.extraIpAddresses={10.0.0.1}',
    '--set',
    'certs.certValidity=2160h',
    '--set',
    'certs.certRenewBefore=360h',
  ]);
  const configs = Object.fromEntries(podTemplates(objects).map(({ owner, template }) => [owner, configsOf(template.spec)[0]]));
  const webhook = configs[`Deployment/${NAMESPACE}/configstamp-webhook`] as ReturnType<typeof parseWebhookConfig>;
  t.match(webhook, { logLevel: 'debug', fetchDeadlineMs: 1500, fetchConcurrency: 4, policy: { trackAll: true, reloaderCompat: false, waveCompat: false } });
  t.same([...webhook!.policy.namespacesToIgnore], ['a', 'b']);
  t.same([...webhook!.policy.ignoredSourceKinds], ['Secret']);
  t.same([...webhook!.policy.ignoredWorkloadKinds], ['Rollout']);
  const watcher = configs[`Deployment/${NAMESPACE}/configstamp-watcher`] as ReturnType<typeof parseWatcherConfig>;
  t.match(watcher, {
    debounceMs: 5000,
    debounceMaxMs: 7000,
    patchQps: 5,
    patchBurst: 10,
    minRolloutIntervalMs: 60_000,
    rollOnDelete: true,
    workers: 2,
    policy: { trackAll: true },
  });
  t.same(watcher?.policy, webhook?.policy, 'both processes track the same things');
  t.match(configs[`Job/${NAMESPACE}/configstamp-certs-1`], {
    'extra-dns-names': ['webhook.example.com'],
    'extra-ip-addresses': ['10.0.0.1'],
    'cert-validity': 90 * 24 * 3_600_000,
  });
});

// ---- scoped installs ------------------------------------------------------------------------

type WebhookCfg = NonNullable<ReturnType<typeof parseWebhookConfig>>;
type WatcherCfg = NonNullable<ReturnType<typeof parseWatcherConfig>>;

/** The parsed configuration of each pod template, by owner (`Deployment/configstamp/configstamp-watcher`...). */
function configsByOwner(objects: readonly K8sObject[]): Record<string, unknown> {
  return Object.fromEntries(podTemplates(objects).map(({ owner, template }) => [owner.replace(/-\d+$/, ''), configsOf(template.spec, objects)[0]]));
}
const webhookOf = (objects: readonly K8sObject[]) => configsByOwner(objects)[`Deployment/${NAMESPACE}/configstamp-webhook`] as WebhookCfg;
const watcherOf = (objects: readonly K8sObject[]) => configsByOwner(objects)[`Deployment/${NAMESPACE}/configstamp-watcher`] as WatcherCfg;
const podOf = (objects: readonly K8sObject[], name: string) => at<PodTemplate>(find(objects, 'Deployment', name), 'spec', 'template');
const clusterWide = (objects: readonly K8sObject[]) =>
  objects
    .filter((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding')
    .map(idOf)
    .sort();
const NAME_KEY = 'kubernetes.io/metadata.name';

t.test('a scoped install: the chart with namespaces={team-a} and deploy/overlays/namespaced install the same objects', async (t) => {
  const withoutNamespace = comparableIds(scoped.kustomize).filter((id) => id !== `Namespace//${NAMESPACE}`);
  t.same(comparableIds(scoped.helm), withoutNamespace, 'same kinds, namespaces and names');
  sameConfiguration(t, 'scoped', scoped.kustomize, scoped.helm);
  for (const [render, objects] of Object.entries(scoped)) {
    t.same(
      clusterWide(objects),
      ['ClusterRole//configstamp-certs', 'ClusterRoleBinding//configstamp-certs'],
      `${render}: no ClusterRole or ClusterRoleBinding for the watcher or the webhook (the certs Job keeps its own)`,
    );
    for (const id of [
      'Role/team-a/configstamp-watcher-scoped',
      'RoleBinding/team-a/configstamp-watcher-scoped',
      'Role/team-a/configstamp-webhook-scoped',
      'RoleBinding/team-a/configstamp-webhook-scoped',
      `Role/${NAMESPACE}/configstamp-watcher`,
      `Role/${NAMESPACE}/configstamp-webhook`,
    ]) {
      t.ok(
        objects.some((o) => idOf(o) === id),
        `${render}: ${id}`,
      );
    }
    for (const [i, label] of ['NotIn', 'In'].entries()) {
      t.same(
        at(find(objects, 'MutatingWebhookConfiguration', 'configstamp'), 'webhooks', i, 'namespaceSelector', 'matchExpressions'),
        [
          { key: NAME_KEY, operator: 'NotIn', values: ['kube-system', NAMESPACE] },
          { key: 'configstamp.io/track', operator: label, values: TRUE_SPELLINGS },
          { key: NAME_KEY, operator: 'In', values: ['team-a'] },
        ],
        `${render}: webhook ${i}: the API server sends admissions only from team-a, and still none from kube-system or configstamp`,
      );
    }
    const webhook = webhookOf(objects);
    const watcher = watcherOf(objects);
    for (const [name, config] of [
      ['webhook', webhook],
      ['watcher', watcher],
    ] as const) {
      t.same(config.namespaces, ['team-a'], `${render}: the ${name} runs with --namespaces=team-a`);
      t.same([...(config.policy.namespaceScope ?? [])], ['team-a'], `${render}: the ${name}'s policy tracks team-a only`);
    }
    t.same(watcher.policy, webhook.policy, `${render}: both processes track the same things`);
  }
});

t.test('scoped RBAC: the rules of the ClusterRoles in each namespace in scope, nothing cluster-wide, no Namespace reads', async (t) => {
  const two = await helmTemplate(['--set', 'namespaces={team-b,team-a,team-a}']);
  const cases: [string, readonly K8sObject[], string[]][] = [
    ['kustomize', scoped.kustomize, ['team-a']],
    ['helm', scoped.helm, ['team-a']],
    ['helm, two namespaces', two, ['team-a', 'team-b']],
  ];
  for (const [render, objects, inScope] of cases) {
    t.same(watcherOf(objects).namespaces, inScope, `${render}: --namespaces is sorted and deduplicated`);
    const watcher = grantsOf(objects, 'configstamp-watcher');
    const webhook = grantsOf(objects, 'configstamp-webhook');
    for (const ns of inScope) {
      for (const [group, resource] of [['', 'configmaps'], ['', 'secrets'], ...WORKLOADS] as const) {
        for (const verb of ['get', 'list', 'watch'])
          t.ok(can(watcher, verb, group, resource, { namespace: ns }), `${render} watcher: ${verb} ${resource} in ${ns}`);
      }
      for (const [group, resource] of WORKLOADS)
        t.ok(can(watcher, 'patch', group, resource, { namespace: ns }), `${render} watcher: patch ${resource} in ${ns}`);
      for (const group of ['', 'events.k8s.io']) t.ok(can(watcher, 'create', group, 'events', { namespace: ns }), `${render} watcher: create events in ${ns}`);
      for (const kind of ['configmaps', 'secrets']) {
        for (const verb of ['get', 'list']) t.ok(can(webhook, verb, '', kind, { namespace: ns }), `${render} webhook: ${verb} ${kind} in ${ns}`);
      }
    }
    for (const where of [{ namespace: 'team-c' }, {}] as const) {
      const label = where.namespace ?? 'cluster-wide';
      t.notOk(can(watcher, 'list', '', 'configmaps', where), `${render} watcher: lists no ConfigMaps ${label}`);
      t.notOk(can(watcher, 'patch', 'apps', 'deployments', where), `${render} watcher: patches no Deployment ${label}`);
      t.notOk(can(webhook, 'get', '', 'secrets', where), `${render} webhook: reads no Secret ${label}`);
    }
    for (const verb of ['get', 'list', 'watch']) {
      t.notOk(
        can(watcher, verb, '', 'namespaces') || inScope.some((ns) => can(watcher, verb, '', 'namespaces', { namespace: ns })),
        `${render} watcher: no ${verb} on namespaces`,
      );
      t.notOk(
        can(webhook, verb, '', 'namespaces') || inScope.some((ns) => can(webhook, verb, '', 'namespaces', { namespace: ns })),
        `${render} webhook: no ${verb} on namespaces`,
      );
    }
    t.ok(can(webhook, 'get', '', 'secrets', { namespace: NAMESPACE, name: 'configstamp-hash-key' }), `${render} webhook: still reads its hash key`);
    t.notOk(
      can(webhook, 'get', '', 'secrets', { namespace: NAMESPACE, name: 'configstamp-webhook-tls' }),
      `${render} webhook: and no other Secret of configstamp's`,
    );
    t.ok(can(watcher, 'update', 'coordination.k8s.io', 'leases', { namespace: NAMESPACE }), `${render} watcher: keeps its Lease`);
    t.ok(can(watcher, 'create', '', 'secrets', { namespace: NAMESPACE }), `${render} watcher: may still create the hash key`);
    for (const i of [0, 1]) {
      t.same(
        at(find(objects, 'MutatingWebhookConfiguration', 'configstamp'), 'webhooks', i, 'namespaceSelector', 'matchExpressions', 2),
        { key: NAME_KEY, operator: 'In', values: inScope },
        `${render}: webhook ${i} of the configuration selects ${inScope.join(', ')}`,
      );
    }
  }
});

t.test("Reloader's scope values: watchGlobally false is the release namespace; namespaces a list or a comma string; ours win", async (t) => {
  const single = await helmTemplate(['--set', 'reloader.watchGlobally=false']);
  t.same(watcherOf(single).namespaces, [NAMESPACE], 'watchGlobally: false watches the release namespace (Reloader sets KUBERNETES_NAMESPACE to its own)');
  t.same(webhookOf(single).namespaces, [NAMESPACE], 'and so does the webhook');
  t.same(clusterWide(single), ['ClusterRole//configstamp-certs', 'ClusterRoleBinding//configstamp-certs'], 'with Roles only');
  t.ok(
    can(grantsOf(single, 'configstamp-watcher'), 'patch', 'apps', 'deployments', { namespace: NAMESPACE }),
    'the watcher patches workloads in the release namespace',
  );
  t.notOk(can(grantsOf(single, 'configstamp-watcher'), 'patch', 'apps', 'deployments', { namespace: 'team-a' }), 'and nowhere else');
  const global = await helmTemplate(['--set', 'reloader.watchGlobally=true']);
  t.same(watcherOf(global).namespaces, [], 'watchGlobally: true is a cluster-wide install');
  const csv = await helmTemplate(['-f', valuesFile('csv.yaml', 'reloader:\n  watchGlobally: false\n  namespaces: "team-b, team-a,,team-b"\n')]);
  t.same(watcherOf(csv).namespaces, ['team-a', 'team-b'], 'a comma string is split, trimmed, deduplicated and sorted');
  t.ok(
    csv.some((o) => idOf(o) === 'Role/team-b/configstamp-watcher-scoped'),
    'with a Role in each',
  );
  t.notOk(
    csv.some((o) => o.metadata.namespace === NAMESPACE && o.kind === 'Role' && o.metadata.name === 'configstamp-watcher-scoped'),
    "the release namespace is not added (Reloader v1's chart adds it, v2's does not)",
  );
  const list = await helmTemplate(['-f', valuesFile('list.yaml', 'namespaces: [team-d]\nreloader:\n  watchGlobally: false\n  namespaces: [team-c]\n')]);
  t.same(watcherOf(list).namespaces, ['team-d'], 'namespaces wins over reloader.namespaces');
});

// ---- a Stakater Reloader values file --------------------------------------------------------

/** A Reloader chart values file (chart 2.2.16 keys, and v2's custom_annotations), with its image block and top-level keys. */
const RELOADER_VALUES = `
global:
  imageRegistry: ""
  imagePullSecrets: [regcred]
kubernetes:
  host: https://kubernetes.default
nameOverride: ""
fullnameOverride: ""
image:
  name: stakater/reloader
  repository: ghcr.io/stakater/reloader
  tag: v1.4.21
  pullPolicy: IfNotPresent
reloader:
  autoReloadAll: true
  isArgoRollouts: true
  isOpenshift: false
  ignoreSecrets: true
  ignoreConfigMaps: true
  ignoreJobs: true
  ignoreCronJobs: true
  reloadOnCreate: true
  reloadOnDelete: true
  syncAfterRestart: true
  reloadStrategy: annotations
  ignoreNamespaces: "kube-public, legacy"
  namespaceSelector: "team:platform"
  resourceLabelSelector: "reload=true"
  logFormat: json
  logLevel: debug
  watchGlobally: false
  namespaces: []
  enableHA: true
  enablePProf: true
  pprofAddr: ":6061"
  enableCSIIntegration: true
  enableRestartWindows: true
  readOnlyRootFileSystem: true
  legacy:
    rbac: true
  matchLabels: {}
  enableMetricsByNamespace: true
  webhookUrl: ""
  custom_annotations:
    configmap: my.company.com/configmap
    secret: my.company.com/secret
    auto: my.company.com/auto
    secret_auto: my.company.com/secret-auto
    configmap_auto: my.company.com/configmap-auto
    configmap_exclude: my.company.com/configmap-exclude
    secret_exclude: my.company.com/secret-exclude
    search: my.company.com/search
    match: my.company.com/match
    ignore: my.company.com/ignore
    pausePeriod: my.company.com/pause-period
    pauseTime: my.company.com/paused-at
    secretproviderclass: my.company.com/spc
    secretproviderclass_auto: my.company.com/spc-auto
    secretproviderclass_exclude: my.company.com/spc-exclude
  deployment:
    dnsConfig: {}
    replicas: 1
    revisionHistoryLimit: 5
    hostUsers: null
    nodeSelector:
      kubernetes.io/os: linux
    affinity:
      nodeAffinity:
        requiredDuringSchedulingIgnoredDuringExecution:
          nodeSelectorTerms:
            - matchExpressions: [{ key: node-role.kubernetes.io/infra, operator: Exists }]
    volumeMounts: [{ name: extra, mountPath: /etc/extra, readOnly: true }]
    volumes: [{ name: extra, configMap: { name: extra } }]
    securityContext: { runAsNonRoot: true, runAsUser: 65534, seccompProfile: { type: RuntimeDefault } }
    containerSecurityContext: {}
    tolerations: [{ key: node-role.kubernetes.io/infra, operator: Exists, effect: NoSchedule }]
    topologySpreadConstraints: [{ maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: ScheduleAnyway }]
    annotations: { owner: platform-team }
    labels: { provider: stakater, group: com.stakater.platform, version: v1.4.21, team: platform }
    env:
      open:
        ALERT_ON_RELOAD: "true"
        ALERT_SINK: slack
        UNUSED: ""
      secret:
        ALERT_WEBHOOK_URL: https://hooks.slack.com/services/T000/B000/XXXX
        ALERT_WEBHOOK_PROXY: http://proxy.internal:3128
        ALERT_ADDITIONAL_INFO: cluster prod-1
      field:
        MY_NODE: spec.nodeName
      existing:
        alert-extra:
          ALERT_STRUCTURED: structured
    livenessProbe: {}
    readinessProbe: {}
    resources:
      requests: { cpu: 10m, memory: 128Mi }
      limits: { cpu: 200m, memory: 640Mi }
    pod:
      annotations: { sidecar.istio.io/inject: "false" }
    priorityClassName: system-cluster-critical
    runtimeClassName: ""
    schedulerName: ""
    gomaxprocsOverride: ""
    gomemlimitOverride: ""
  service:
    port: 9090
  rbac:
    enabled: true
    labels: {}
  serviceAccount:
    create: true
    labels: { owner: platform }
    annotations: { eks.amazonaws.com/role-arn: "arn:aws:iam::123456789012:role/reloader" }
    name: reloader
  serviceMonitor:
    enabled: true
    interval: 30s
    timeout: 10s
    labels: { release: prometheus }
    annotations: {}
    honorLabels: true
    metricRelabelings: []
    relabelings: []
    targetLabels: []
  podMonitor:
    enabled: true
    interval: 15s
    labels: { release: prometheus }
    honorLabels: true
    podTargetLabels: [team]
  podDisruptionBudget:
    enabled: true
    maxUnavailable: 1
  netpol:
    enabled: true
    from: []
    to: []
  verticalPodAutoscaler:
    enabled: true
    controlledResources: [memory]
    maxAllowed: { memory: 1Gi }
    updatePolicy: { updateMode: Auto }
`;

/** The existing Secret RELOADER_VALUES's deployment.env.existing names, as the cluster would have it. */
const ALERT_EXTRA: K8sObject = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'alert-extra', namespace: NAMESPACE },
  data: { structured: Buffer.from('true').toString('base64') },
};

t.test('a Reloader values file as is: it renders, and every flag parses to what Reloader meant', async (t) => {
  const objects = [...(await helmTemplate(['-f', valuesFile('reloader.yaml', RELOADER_VALUES)])), ALERT_EXTRA];
  const webhook = webhookOf(objects);
  const watcher = watcherOf(objects);
  const custom = {
    configMapReload: 'my.company.com/configmap',
    secretReload: 'my.company.com/secret',
    auto: 'my.company.com/auto',
    secretAuto: 'my.company.com/secret-auto',
    configMapAuto: 'my.company.com/configmap-auto',
    search: 'my.company.com/search',
    match: 'my.company.com/match',
    ignore: 'my.company.com/ignore',
    excludeConfigMaps: 'my.company.com/configmap-exclude',
    excludeSecrets: 'my.company.com/secret-exclude',
    rolloutStrategy: 'reloader.stakater.com/rollout-strategy',
    pausePeriod: 'my.company.com/pause-period',
    pausedAt: 'my.company.com/paused-at',
    secretProviderClassAuto: 'my.company.com/spc-auto',
    secretProviderClassReload: 'my.company.com/spc',
    excludeSecretProviderClasses: 'my.company.com/spc-exclude',
    restartWindow: 'reloader.stakater.com/restart-window',
  };
  for (const [name, config] of [
    ['webhook', webhook],
    ['watcher', watcher],
  ] as const) {
    t.match(
      config,
      { logLevel: 'debug', logFormat: 'json', namespaces: [NAMESPACE] },
      `${name}: logLevel, logFormat, and watchGlobally: false as the release namespace`,
    );
    const p = config.policy;
    t.equal(p.trackAll, true, `${name}: autoReloadAll is --track-all`);
    t.same([...p.ignoredSourceKinds].sort(), ['ConfigMap', 'Secret'], `${name}: ignoreConfigMaps and ignoreSecrets together (Reloader v1 would refuse both)`);
    t.same([...p.ignoredWorkloadKinds].sort(), ['CronJob', 'Job'], `${name}: ignoreJobs and ignoreCronJobs; isArgoRollouts: true keeps Rollouts`);
    t.same([...p.namespacesToIgnore].sort(), ['kube-public', 'legacy'], `${name}: ignoreNamespaces, a comma string`);
    t.equal(p.namespaceSelector, null, `${name}: namespaceSelector dropped in a scoped install, as Reloader does`);
    t.not(p.sourceSelector, null, `${name}: resourceLabelSelector`);
    t.same(p.reloaderKeys.keys, custom, `${name}: every custom_annotations key renames its annotation`);
    t.notOk(p.ignoredSourceKinds.has('SecretProviderClass'), `${name}: enableCSIIntegration: true tracks SecretProviderClasses`);
    for (const flag of ['--secretproviderclass-annotation', '--enable-csi-integration']) {
      t.notOk(
        config.warnings.some((w) => w.startsWith(`${flag}:`)),
        `${name}: ${flag} works as in Reloader: no startup warning`,
      );
    }
  }
  t.same(watcher.policy, webhook.policy, 'both processes track the same things');
  t.match(
    watcher,
    { rollOnDelete: true, metricsByNamespace: true, webhookUrl: '', leaderElect: true },
    'reloadOnDelete, enableMetricsByNamespace; the watcher elects a leader whatever enableHA says',
  );
  t.match(
    watcher.alerts,
    {
      url: 'https://hooks.slack.com/services/T000/B000/XXXX',
      sink: 'slack',
      proxy: 'http://proxy.internal:3128',
      additionalInfo: 'cluster prod-1',
      structured: true,
    },
    'deployment.env.open, env.secret and env.existing bring the ALERT_* variables to the watcher',
  );
  const watcherArgs = (podOf(objects, 'configstamp-watcher').spec.containers[0]?.args ?? []) as string[];
  t.ok(watcherArgs.includes('--enable-restart-windows=true'), 'enableRestartWindows is rendered as the flag Reloader reads...');
  t.notOk(
    watcher.warnings.some((w) => w.startsWith('--enable-restart-windows:')),
    '...and accepted without a warning (restart windows are always honoured)',
  );
  t.ok(
    watcher.warnings.some((w) => w.startsWith('--enable-pprof:')),
    'enablePProf: the watcher says it serves no pprof endpoint',
  );
  t.notOk(
    watcher.warnings.some((w) => /reload-strategy|sync-after-restart|reload-on-create/.test(w)),
    'reloadStrategy annotations, syncAfterRestart and reloadOnCreate: true are what configstamp does anyway',
  );

  const pod = podOf(objects, 'configstamp-watcher');
  const c = pod.spec.containers[0]!;
  const spec = pod.spec as PodSpec & Json;
  t.same(spec.nodeSelector, { 'kubernetes.io/os': 'linux' }, 'deployment.nodeSelector');
  t.match(spec.tolerations, [{ key: 'node-role.kubernetes.io/infra', effect: 'NoSchedule' }], 'deployment.tolerations');
  t.ok(at(spec.affinity, 'nodeAffinity', 'requiredDuringSchedulingIgnoredDuringExecution'), 'deployment.affinity (replacing the default anti-affinity)');
  const spread = at<{ labelSelector: { matchLabels: Record<string, string> } }[]>(spec, 'topologySpreadConstraints');
  t.ok(selects(spread[0]?.labelSelector.matchLabels, pod), 'deployment.topologySpreadConstraints, given the watcher pods as their labelSelector');
  t.same(
    c.resources,
    { requests: { cpu: '10m', memory: '128Mi' }, limits: { cpu: '200m', memory: '640Mi' } },
    'deployment.resources replaces the chart default',
  );
  t.equal(spec.priorityClassName, 'system-cluster-critical', 'deployment.priorityClassName');
  t.equal(at(find(objects, 'Deployment', 'configstamp-watcher'), 'spec', 'revisionHistoryLimit'), 5, 'deployment.revisionHistoryLimit');
  const labels = pod.metadata?.labels ?? {};
  t.equal(labels.team, 'platform', 'deployment.labels on the pods');
  t.notOk('provider' in labels || 'version' in labels || 'group' in labels, "but not Reloader's own chart labels (version: v1.4.21 would be wrong here)");
  t.equal(find(objects, 'Deployment', 'configstamp-watcher').metadata.annotations?.owner, 'platform-team', 'deployment.annotations');
  t.equal(at(pod, 'metadata', 'annotations', 'sidecar.istio.io/inject'), 'false', 'deployment.pod.annotations');
  t.ok(
    c.volumeMounts?.some((m) => m.name === 'extra' && m.mountPath === '/etc/extra') && spec.volumes?.some((v) => v.name === 'extra'),
    'deployment.volumes and volumeMounts',
  );
  t.equal(envOf(c, objects).MY_NODE, '', 'deployment.env.field as a fieldRef');
  t.match(
    c.env?.find((e) => e.name === 'ALERT_STRUCTURED'),
    { valueFrom: { secretKeyRef: { name: 'alert-extra', key: 'structured' } } },
    'deployment.env.existing',
  );
  t.notOk(
    c.env?.some((e) => e.name === 'UNUSED'),
    'an empty env.open value is skipped, as Reloader does',
  );
  t.equal(at(find(objects, 'Secret', 'configstamp-watcher-env'), 'type'), 'Opaque', 'env.secret values live in a Secret of the chart');

  t.equal(spec.serviceAccountName, 'reloader', 'serviceAccount.name names the watcher account');
  const account = find(objects, 'ServiceAccount', 'reloader');
  t.equal(account.metadata.annotations?.['eks.amazonaws.com/role-arn'], 'arn:aws:iam::123456789012:role/reloader', 'serviceAccount.annotations');
  t.equal(account.metadata.labels?.owner, 'platform', 'serviceAccount.labels');
  const rights = grantsOf(objects, 'reloader');
  t.ok(
    can(rights, 'patch', 'apps', 'deployments', { namespace: NAMESPACE }) && can(rights, 'update', 'coordination.k8s.io', 'leases', { namespace: NAMESPACE }),
    'and its RBAC bindings follow the name',
  );
  t.same(grantsOf(objects, 'configstamp-watcher'), [], 'no binding names the old account');

  for (const { owner, template } of podTemplates(objects)) {
    t.ok(
      template.spec.containers.every((x) => x.image === IMAGE),
      `${owner}: runs configstamp's image, not Reloader's image block`,
    );
    t.same(at(template.spec, 'imagePullSecrets'), [{ name: 'regcred' }], `${owner}: global.imagePullSecrets`);
  }
  for (const component of ['webhook', 'watcher']) {
    const svc = find(objects, 'Service', `configstamp-${component}-metrics`);
    const sm = find(objects, 'ServiceMonitor', `configstamp-${component}`);
    t.ok(
      Object.entries(at<Record<string, string>>(sm, 'spec', 'selector', 'matchLabels')).every(([k, v]) => svc.metadata.labels?.[k] === v),
      `serviceMonitor: ${component}'s selects its metrics Service`,
    );
    t.match(
      at(sm, 'spec', 'endpoints', 0),
      { port: 'metrics', interval: '30s', scrapeTimeout: '10s', honorLabels: true },
      'serviceMonitor: interval, timeout as scrapeTimeout, honorLabels',
    );
    t.equal(sm.metadata.labels?.release, 'prometheus', 'serviceMonitor.labels');
    const pm = find(objects, 'PodMonitor', `configstamp-${component}`);
    t.ok(selects(at(pm, 'spec', 'selector', 'matchLabels'), podOf(objects, `configstamp-${component}`)), `podMonitor: ${component}'s selects its pods`);
    t.same(at(pm, 'spec', 'podTargetLabels'), ['team'], 'podMonitor.podTargetLabels');
  }
  const pdb = find(objects, 'PodDisruptionBudget', 'configstamp-watcher');
  t.equal(at(pdb, 'spec', 'maxUnavailable'), 1, 'podDisruptionBudget: a watcher PDB, maxUnavailable');
  t.ok(selects(at(pdb, 'spec', 'selector', 'matchLabels'), pod), 'selecting the watcher pods');
  const vpa = find(objects, 'VerticalPodAutoscaler', 'configstamp-watcher');
  t.match(
    at(vpa, 'spec'),
    {
      targetRef: { kind: 'Deployment', name: 'configstamp-watcher' },
      updatePolicy: { updateMode: 'Auto' },
      resourcePolicy: { containerPolicies: [{ containerName: 'watcher', controlledResources: ['memory'], maxAllowed: { memory: '1Gi' } }] },
    },
    'verticalPodAutoscaler: the watcher',
  );
  t.notOk(
    objects.some((o) => o.kind === 'VerticalPodAutoscaler' && o.metadata.name === 'configstamp-webhook'),
    "Reloader's VPA maps onto the watcher only",
  );

  const strategy = watcherOf(await helmTemplate(['--set', 'reloader.reloadStrategy=env-vars']));
  t.ok(
    strategy.warnings.some((w) => w.startsWith('--reload-strategy:') && /stamp annotation/.test(w)),
    'reloadStrategy env-vars: accepted, with a warning that configstamp writes an annotation',
  );
  const openshift = webhookOf(await helmTemplate(['--set', 'reloader.isOpenshift=true']));
  t.notOk(
    openshift.warnings.some((w) => w.startsWith('--is-openshift:')),
    'isOpenshift: accepted without a warning',
  );
  t.notOk(openshift.policy.ignoredWorkloadKinds.has('DeploymentConfig'), 'isOpenshift: DeploymentConfigs are tracked (when apps.openshift.io is served)');
  const byDefault = await helmTemplate(['--set', 'reloader.reloadStrategy=default', '--set', 'reloader.webhookUrl=https://notify.example.com/hook']);
  t.notOk(
    podOf(byDefault, 'configstamp-watcher').spec.containers[0]!.args!.some((a) => a.startsWith('--reload-strategy')),
    "reloadStrategy 'default' passes no flag",
  );
  t.equal(
    watcherOf(byDefault).webhookUrl,
    'https://notify.example.com/hook',
    'webhookUrl is notify mode, even without custom_annotations (Reloader renders it only with them)',
  );
});

t.test("Reloader's values only fill what ours leave empty: ours win", async (t) => {
  const objects = [
    ...(await helmTemplate([
      '-f',
      valuesFile(
        'reloader-and-ours.yaml',
        `${RELOADER_VALUES}
logLevel: warn
logFormat: text
namespaces: [team-x]
policy:
  resourcesToIgnore: [secrets]
  ignoredWorkloadTypes: [rollouts]
  namespacesToIgnore: [sandbox]
serviceAccount:
  names: { watcher: mine }
watcher:
  nodeSelector: { pool: ops }
  resources:
    requests: { cpu: 20m, memory: 64Mi }
    limits: { cpu: 500m, memory: 768Mi }
  revisionHistoryLimit: 7
  podDisruptionBudget: { enabled: true, minAvailable: 2 }
  extraVolumes: [{ name: mine, emptyDir: {} }]
  extraVolumeMounts: [{ name: mine, mountPath: /mine }]
`,
      ),
    ])),
    ALERT_EXTRA,
  ];
  const watcher = watcherOf(objects);
  t.match(watcher, { logLevel: 'warn', logFormat: 'text', namespaces: ['team-x'] }, 'logLevel, logFormat, namespaces');
  t.same([...watcher.policy.ignoredSourceKinds], ['Secret'], 'policy.resourcesToIgnore');
  t.same([...watcher.policy.ignoredWorkloadKinds], ['Rollout'], 'policy.ignoredWorkloadTypes');
  t.same([...watcher.policy.namespacesToIgnore], ['sandbox'], 'policy.namespacesToIgnore');
  t.same(watcherOf(objects).policy, webhookOf(objects).policy, 'both processes still agree');
  const d = find(objects, 'Deployment', 'configstamp-watcher');
  const pod = at<PodTemplate>(d, 'spec', 'template');
  t.same(at(pod.spec, 'nodeSelector'), { pool: 'ops' }, 'watcher.nodeSelector');
  t.same(pod.spec.containers[0]!.resources?.limits, { cpu: '500m', memory: '768Mi' }, 'watcher.resources, changed from the chart default');
  t.equal(at(d, 'spec', 'revisionHistoryLimit'), 7, 'watcher.revisionHistoryLimit');
  t.equal(pod.spec.serviceAccountName, 'mine', 'serviceAccount.names.watcher');
  t.same(at(find(objects, 'PodDisruptionBudget', 'configstamp-watcher'), 'spec', 'minAvailable'), 2, 'watcher.podDisruptionBudget.minAvailable');
  t.notOk(at(find(objects, 'PodDisruptionBudget', 'configstamp-watcher'), 'spec', 'maxUnavailable'), "and not Reloader's maxUnavailable beside it");
  t.same(
    pod.spec.volumes?.map((v) => v.name),
    ['tmp', 'mine'],
    'watcher.extraVolumes',
  );
  t.notOk(
    pod.spec.containers[0]!.volumeMounts?.some((m) => m.name === 'extra'),
    "instead of Reloader's",
  );
});

// ---- configstamp's own values ---------------------------------------------------------------

t.test("the chart's own values render what they say", async (t) => {
  const objects = await helmTemplate([
    '-f',
    valuesFile(
      'own.yaml',
      `
logFormat: text
commonLabels: { team: platform, app.kubernetes.io/name: not-this }
serviceAccount:
  annotations: { iam.gke.io/gcp-service-account: configstamp@example.iam.gserviceaccount.com }
  names: { webhook: cs-webhook, watcher: cs-watcher, certs: cs-certs }
metrics:
  service: { enabled: true, annotations: { a: b } }
  serviceMonitor: { enabled: true, interval: 30s, labels: { release: prometheus } }
  podMonitor: { enabled: true, scrapeTimeout: 5s }
webhook:
  revisionHistoryLimit: 1
  extraEnv: [{ name: CONFIGSTAMP_FETCH_DEADLINE, value: 1500ms }]
  extraVolumes: [{ name: ca, configMap: { name: corporate-ca } }]
  extraVolumeMounts: [{ name: ca, mountPath: /etc/ssl/corporate, readOnly: true }]
  topologySpreadConstraints:
    - { maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule }
  podDisruptionBudget: { enabled: true, maxUnavailable: 1 }
  verticalPodAutoscaler: { enabled: true, maxAllowed: { memory: 512Mi } }
watcher:
  revisionHistoryLimit: 2
  metricsByNamespace: true
  extraEnv:
    - { name: ALERT_WEBHOOK_URL, valueFrom: { secretKeyRef: { name: alerts, key: url } } }
    - { name: ALERT_SINK, value: teams }
  topologySpreadConstraints:
    - { maxSkew: 2, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway, labelSelector: { matchLabels: { tier: ops } } }
  podDisruptionBudget: { enabled: true }
  verticalPodAutoscaler: { enabled: true, controlledValues: RequestsAndLimits, updatePolicy: { updateMode: Initial } }
`,
    ),
  ]);
  const alertsSecret: K8sObject = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'alerts', namespace: NAMESPACE },
    data: { url: Buffer.from('https://example.webhook.office.com/x').toString('base64') },
  } as K8sObject;
  for (const o of objects) {
    t.equal(o.metadata.labels?.team, 'platform', `${idOf(o)}: commonLabels`);
    t.equal(o.metadata.labels?.['app.kubernetes.io/name'], 'configstamp', `${idOf(o)}: which never replace the chart's own`);
  }
  for (const { owner, template } of podTemplates(objects)) {
    t.equal(template.metadata?.labels?.team, 'platform', `${owner}: commonLabels on the pods`);
    const component = template.metadata?.labels?.['app.kubernetes.io/component'] ?? '?';
    t.equal(template.spec.serviceAccountName, `cs-${component}`, `${owner}: runs as serviceAccount.names.${component}`);
    const config = configsOf(template.spec, [...objects, alertsSecret])[0] as Record<string, unknown>;
    t.equal(config.logFormat ?? config['log-format'], 'text', `${owner}: logFormat`);
  }
  for (const component of ['webhook', 'watcher', 'certs']) {
    const account = find(objects, 'ServiceAccount', `cs-${component}`);
    t.equal(
      account.metadata.annotations?.['iam.gke.io/gcp-service-account'],
      'configstamp@example.iam.gserviceaccount.com',
      `${component}: serviceAccount.annotations`,
    );
    t.same(grantsOf(objects, `configstamp-${component}`), [], `${component}: no binding names the default account`);
  }
  t.ok(can(grantsOf(objects, 'cs-watcher'), 'watch', '', 'secrets'), 'the bindings follow the names: the watcher');
  t.ok(can(grantsOf(objects, 'cs-webhook'), 'get', '', 'secrets', { namespace: 'team-a' }), 'the webhook');
  t.ok(can(grantsOf(objects, 'cs-certs'), 'patch', 'admissionregistration.k8s.io', 'mutatingwebhookconfigurations', { name: 'configstamp' }), 'the certs Job');

  const webhook = webhookOf(objects);
  const watcher = configsByOwner([...objects, alertsSecret])[`Deployment/${NAMESPACE}/configstamp-watcher`] as WatcherCfg;
  t.equal(webhook.fetchDeadlineMs, 1500, 'webhook.extraEnv reaches the webhook');
  t.match(watcher.alerts, { url: 'https://example.webhook.office.com/x', sink: 'teams' }, 'watcher.extraEnv reaches the watcher (a secretKeyRef too)');
  t.equal(watcher.metricsByNamespace, true, 'watcher.metricsByNamespace');

  for (const [component, limit] of [
    ['webhook', 1],
    ['watcher', 2],
  ] as const) {
    const d = find(objects, 'Deployment', `configstamp-${component}`);
    const pod = at<PodTemplate>(d, 'spec', 'template');
    t.equal(at(d, 'spec', 'revisionHistoryLimit'), limit, `${component}: revisionHistoryLimit`);
    const svc = find(objects, 'Service', `configstamp-${component}-metrics`);
    const port = at<{ name: string; port: number; targetPort: string }[]>(svc, 'spec', 'ports')[0]!;
    t.ok(selects(at(svc, 'spec', 'selector'), pod), `${component}: its metrics Service selects its pods`);
    t.equal(pod.spec.containers[0]!.ports?.find((p) => p.name === port.targetPort)?.containerPort, 8080, `${component}: to the metrics port`);
    t.equal(svc.metadata.annotations?.a, 'b', `${component}: metrics.service.annotations`);
    const sm = find(objects, 'ServiceMonitor', `configstamp-${component}`);
    const smSelector = at<Record<string, string>>(sm, 'spec', 'selector', 'matchLabels');
    const services = objects.filter((o) => o.kind === 'Service' && Object.entries(smSelector).every(([k, v]) => o.metadata.labels?.[k] === v));
    t.same(
      services.map((o) => o.metadata.name),
      [`configstamp-${component}-metrics`],
      `${component}: the ServiceMonitor selects the metrics Service only`,
    );
    t.match(at(sm, 'spec', 'endpoints', 0), { port: port.name, path: '/metrics', interval: '30s' }, `${component}: on its metrics port`);
    t.same(at(sm, 'spec', 'namespaceSelector'), { matchNames: [NAMESPACE] }, `${component}: in the release namespace`);
    const pm = find(objects, 'PodMonitor', `configstamp-${component}`);
    t.ok(selects(at(pm, 'spec', 'selector', 'matchLabels'), pod), `${component}: the PodMonitor selects its pods`);
    t.match(at(pm, 'spec', 'podMetricsEndpoints', 0), { port: 'metrics', scrapeTimeout: '5s' }, `${component}: on the container port named metrics`);
    const pdb = find(objects, 'PodDisruptionBudget', `configstamp-${component}`);
    t.ok(selects(at(pdb, 'spec', 'selector', 'matchLabels'), pod), `${component}: a PDB selecting its pods`);
    const vpa = find(objects, 'VerticalPodAutoscaler', `configstamp-${component}`);
    t.match(
      at(vpa, 'spec'),
      {
        targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: `configstamp-${component}` },
        resourcePolicy: { containerPolicies: [{ containerName: pod.spec.containers[0]!.name }] },
      },
      `${component}: a VPA for its Deployment and container`,
    );
    const spread = at<{ labelSelector: { matchLabels: Record<string, string> } }[]>(pod.spec, 'topologySpreadConstraints');
    t.equal(spread.length, 1, `${component}: topologySpreadConstraints`);
    if (component === 'webhook') t.ok(selects(spread[0]!.labelSelector.matchLabels, pod), 'webhook: an entry without a labelSelector gets the pod labels');
    else t.same(spread[0]!.labelSelector, { matchLabels: { tier: 'ops' } }, 'watcher: a labelSelector given is kept');
  }
  t.same(at(find(objects, 'PodDisruptionBudget', 'configstamp-webhook'), 'spec', 'maxUnavailable'), 1, 'webhook.podDisruptionBudget.maxUnavailable');
  t.same(
    at(find(objects, 'PodDisruptionBudget', 'configstamp-watcher'), 'spec', 'minAvailable'),
    1,
    'watcher.podDisruptionBudget: minAvailable 1 when neither is set',
  );
  t.equal(
    at(find(objects, 'VerticalPodAutoscaler', 'configstamp-webhook'), 'spec', 'resourcePolicy', 'containerPolicies', 0, 'controlledValues'),
    'RequestsOnly',
    'a VPA controls requests only unless told (the memory limit stays above the V8 heap ceiling)',
  );
  t.match(at(find(objects, 'VerticalPodAutoscaler', 'configstamp-watcher'), 'spec'), {
    updatePolicy: { updateMode: 'Initial' },
    resourcePolicy: { containerPolicies: [{ controlledValues: 'RequestsAndLimits' }] },
  });
  const hook = podOf(objects, 'configstamp-webhook');
  t.ok(
    hook.spec.containers[0]!.volumeMounts?.some((m) => m.name === 'ca' && m.readOnly === true) && hook.spec.volumes?.some((v) => v.name === 'ca'),
    'webhook.extraVolumes and extraVolumeMounts',
  );

  const off = rendered.helm;
  t.notOk(
    off.some(
      (o) =>
        ['ServiceMonitor', 'PodMonitor', 'VerticalPodAutoscaler', 'Secret'].includes(o.kind) ||
        o.metadata.name.endsWith('-metrics') ||
        idOf(o) === `PodDisruptionBudget/${NAMESPACE}/configstamp-watcher`,
    ),
    'all of them off by default',
  );
});

t.test("the values schema takes Reloader's keys and still refuses a misspelt one of ours", async (t) => {
  const ok = await run(helm, [
    'template',
    CHART,
    '--set',
    'reloader.someFutureKey=1',
    '--set',
    'reloader.deployment.hostUsers=false',
    '--set',
    'global.imageRegistry=r.example.com',
  ]);
  t.equal(ok.code, 0, `unknown keys under reloader: are accepted (a newer Reloader chart's file still installs): ${ok.stderr}`);
  for (const [args, what] of [
    [['--set', 'reloader.custom_annotations.configmapp=x'], 'an unknown custom_annotations key (it would rename nothing)'],
    [['--set', 'reloader.reloadStrategy=rolling'], 'a reloadStrategy Reloader does not have'],
    [['--set', 'namespaces={Team_A}'], 'a namespace that is not a DNS label'],
    [['--set', 'metrics.serviceMonitr.enabled=true'], 'a misspelt key of ours'],
    [['--set', 'watcher.podDisruptionBudget.minAvailable=most'], 'a PDB bound that is neither a number nor a percentage'],
  ] as const) {
    const r = await run(helm, ['template', CHART, ...args]);
    t.not(r.code, 0, `refused: ${what}`);
  }
});

t.test('applied to a real API server: accepted, no Pod Security warning, and its RBAC answers as intended', async (t) => {
  const cluster = await withControlPlane(t);
  const ns = await cluster.kubectl(['apply', '--server-side', '-f', join(BASE, 'namespace.yaml')]);
  t.equal(ns.code, 0, ns.stderr);
  const dry = await cluster.kubectl(['apply', '--server-side', '--dry-run=server', '-k', BASE]);
  t.equal(dry.code, 0, `server-side dry run of deploy/base: ${dry.stderr}`);
  t.notMatch(dry.stderr, /PodSecurity|violate/i, 'no Pod Security warning for any pod template');
  const control = await cluster.kubectl(['apply', '--server-side', '--dry-run=server', '-f', '-'], {
    input: `apiVersion: apps/v1
kind: Deployment
metadata: { name: unconfined, namespace: ${NAMESPACE} }
spec:
  selector: { matchLabels: { app: unconfined } }
  template:
    metadata: { labels: { app: unconfined } }
    spec: { containers: [{ name: c, image: ${IMAGE} }] }
`,
  });
  t.match(control.stderr, /PodSecurity/, 'control: the namespace does warn about a pod template without them');
  const applied = await cluster.kubectl(['apply', '--server-side', '-k', BASE]);
  t.equal(applied.code, 0, applied.stderr);
  const stored = JSON.parse((await cluster.kubectl(['get', 'mutatingwebhookconfiguration', 'configstamp', '-o', 'json'])).stdout) as {
    webhooks: WebhookEntry[];
  };
  t.same(
    stored.webhooks.map((h) => h.matchConditions),
    hooksOf(rendered.kustomize).map((h) => h.matchConditions),
    'the API server compiled and kept the matchConditions',
  );
  // The API server compiles each CEL expression when the configuration is written: every rendering must pass.
  const variants: [string, string[]][] = [
    ['renamed keys', ['--set', 'reloader.custom_annotations.auto=example.com/reload', '--set', 'reloader.custom_annotations.configmap=example.com/cm']],
    ['Reloader and Wave off', ['--set', 'policy.reloaderCompat=false', '--set', 'policy.waveCompat=false']],
    ['an extra kind', ['--set', 'policy.extraWorkloadKinds={example.com/v1/widgets:Widget:spec.runner.podTemplate}']],
  ];
  for (const [label, args] of variants) {
    const hooks = find(await helmTemplate(args), 'MutatingWebhookConfiguration', 'configstamp');
    const r = await cluster.kubectl(['apply', '--server-side', '--dry-run=server', '-f', '-'], { input: JSON.stringify(hooks) });
    t.equal(r.code, 0, `${label}: accepted${r.code === 0 ? '' : `: ${r.stderr}`}`);
  }
  const broken = structuredClone(find(rendered.kustomize, 'MutatingWebhookConfiguration', 'configstamp')) as K8sObject & { webhooks: WebhookEntry[] };
  broken.webhooks[0]!.matchConditions![0]!.expression = broken.webhooks[0]!.matchConditions![0]!.expression.replace('type(a) == map', 'type(a) == mapp');
  const refused = await cluster.kubectl(['apply', '--server-side', '--dry-run=server', '-f', '-'], { input: JSON.stringify(broken) });
  t.match(refused.stderr, /matchConditions\[0\]\.expression.*compilation failed/s, 'control: a broken expression is refused, so acceptance means it compiled');

  const cases: AccessCase[] = [
    ['configstamp-webhook', 'get', 'secrets', 'team-a', true],
    ['configstamp-webhook', 'list', 'configmaps', 'team-a', true],
    ['configstamp-webhook', 'get', 'secrets/configstamp-hash-key', NAMESPACE, true],
    ['configstamp-webhook', 'patch', 'deployments.apps', 'team-a', false],
    ['configstamp-webhook', 'update', 'secrets', NAMESPACE, false],
    ['configstamp-watcher', 'watch', 'secrets', undefined, true],
    ['configstamp-watcher', 'list', 'cronjobs.batch', undefined, true],
    ['configstamp-watcher', 'patch', 'statefulsets.apps', 'team-a', true],
    ['configstamp-watcher', 'create', 'events.events.k8s.io', 'team-a', true],
    ['configstamp-watcher', 'update', 'leases.coordination.k8s.io', NAMESPACE, true],
    ['configstamp-watcher', 'update', 'leases.coordination.k8s.io', 'kube-system', false],
    ['configstamp-watcher', 'get', 'pods', 'team-a', false],
    ['configstamp-watcher', 'delete', 'deployments.apps', 'team-a', false],
    ['configstamp-certs', 'update', 'secrets', NAMESPACE, true],
    ['configstamp-certs', 'get', 'secrets', 'team-a', false],
    ['configstamp-certs', 'patch', 'mutatingwebhookconfigurations.admissionregistration.k8s.io/configstamp', undefined, true],
    ['configstamp-certs', 'patch', 'mutatingwebhookconfigurations.admissionregistration.k8s.io/other', undefined, false],
    ['configstamp-certs', 'list', 'deployments.apps', undefined, false],
  ];
  await expectAccess(t, cluster, cases);
});

t.test('a scoped install applied to a real API server: its accounts may act only in the namespaces in scope', async (t) => {
  const cluster = await withControlPlane(t);
  for (const ns of [NAMESPACE, 'team-a', 'team-b']) {
    const created = await cluster.kubectl(['create', 'namespace', ns]);
    t.equal(created.code, 0, created.stderr);
  }
  const dry = await cluster.kubectl(['apply', '--server-side', '--dry-run=server', '-k', NAMESPACED_OVERLAY]);
  t.equal(dry.code, 0, `server-side dry run of deploy/overlays/namespaced: ${dry.stderr}`);
  const applied = await cluster.kubectl(['apply', '--server-side', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: scoped.helm }),
  });
  t.equal(applied.code, 0, `helm template --set namespaces={team-a}, applied: ${applied.stderr}`);

  const cases: AccessCase[] = [
    ['configstamp-watcher', 'list', 'configmaps', 'team-a', true],
    ['configstamp-watcher', 'watch', 'secrets', 'team-a', true],
    ['configstamp-watcher', 'patch', 'deployments.apps', 'team-a', true],
    ['configstamp-watcher', 'watch', 'cronjobs.batch', 'team-a', true],
    ['configstamp-watcher', 'create', 'events.events.k8s.io', 'team-a', true],
    ['configstamp-watcher', 'list', 'configmaps', 'team-b', false],
    ['configstamp-watcher', 'patch', 'deployments.apps', 'team-b', false],
    ['configstamp-watcher', 'list', 'configmaps', undefined, false],
    ['configstamp-watcher', 'watch', 'deployments.apps', undefined, false],
    ['configstamp-watcher', 'list', 'namespaces', undefined, false],
    ['configstamp-watcher', 'get', 'namespaces', undefined, false],
    ['configstamp-watcher', 'update', 'leases.coordination.k8s.io', NAMESPACE, true],
    ['configstamp-watcher', 'create', 'secrets', NAMESPACE, true],
    ['configstamp-webhook', 'get', 'secrets', 'team-a', true],
    ['configstamp-webhook', 'list', 'configmaps', 'team-a', true],
    ['configstamp-webhook', 'get', 'secrets', 'team-b', false],
    ['configstamp-webhook', 'list', 'configmaps', undefined, false],
    ['configstamp-webhook', 'get', 'secrets/configstamp-hash-key', NAMESPACE, true],
    ['configstamp-webhook', 'get', 'secrets/configstamp-webhook-tls', NAMESPACE, false],
    ['configstamp-webhook', 'watch', 'namespaces', undefined, false],
    ['configstamp-certs', 'patch', 'mutatingwebhookconfigurations.admissionregistration.k8s.io/configstamp', undefined, true],
  ];
  await expectAccess(t, cluster, cases);
});

// ---- the webhook's matchConditions ----------------------------------------------------------

t.test('the webhook configuration: two entries splitting namespaces on the tracking label; matchConditions only outside', async (t) => {
  t.ok(TRUE_SPELLINGS.length === 16 && TRUE_SPELLINGS.every((v) => readBool(v) === true) && new Set(TRUE_SPELLINGS).size === 16, 'the 16 spellings of true');
  for (const [render, objects] of renders) {
    const hooks = hooksOf(objects);
    t.same(
      hooks.map((h) => h.name),
      ['stamp.configstamp.io', 'namespace.stamp.configstamp.io'],
      `${render}: two entries, names unique`,
    );
    const [outside, inside] = hooks as [WebhookEntry, WebhookEntry];
    const exclusions = { key: NAME_KEY, operator: 'NotIn', values: ['kube-system', NAMESPACE] };
    t.same(
      outside.namespaceSelector.matchExpressions,
      [exclusions, { key: 'configstamp.io/track', operator: 'NotIn', values: TRUE_SPELLINGS }],
      `${render}: entry 0: namespaces not labelled configstamp.io/track=true (in any case), kube-system and configstamp still out`,
    );
    t.same(
      inside.namespaceSelector.matchExpressions,
      [exclusions, { key: 'configstamp.io/track', operator: 'In', values: TRUE_SPELLINGS }],
      `${render}: entry 1: namespaces labelled so, with the same exclusions`,
    );
    t.equal(outside.matchConditions?.length, 1, `${render}: entry 0 has one matchCondition`);
    t.equal(inside.matchConditions, undefined, `${render}: entry 1 none: every workload in such a namespace is tracked`);
    const rest = ({ name: _n, namespaceSelector: _s, matchConditions: _m, ...r }: WebhookEntry) => r;
    t.same(rest(inside), rest(outside), `${render}: otherwise the same (rules, client, timeouts, policies)`);
  }
});

t.test('the matchCondition names every key that can track a workload, on it or its pod template, and the stamp', async (t) => {
  for (const [render, objects] of [...renders, ...Object.entries(scoped)]) {
    expectConditionFits(t, render, hooksOf(objects)[0]!, webhookOf(objects).policy);
  }
  t.same(conditionOf(hooksOf(rendered.helm)[0]!), conditionOf(hooksOf(rendered.kustomize)[0]!), "the chart's condition is deploy/base's, to the character");
});

t.test('each setting renders the condition it needs: renamed keys, Reloader or Wave off, extra kinds', async (t) => {
  const cases: [string, string[], (keys: string[]) => boolean][] = [
    [
      'reloader.custom_annotations',
      [
        '--set',
        'reloader.custom_annotations.auto=example.com/reload',
        '--set',
        'reloader.custom_annotations.configmap=example.com/configmaps',
        '--set',
        'reloader.custom_annotations.secret_auto= example.com/secret-auto ',
        '--set',
        'reloader.custom_annotations.search=example.com/search',
        '--set',
        'reloader.custom_annotations.match=example.com/match',
      ],
      (keys) =>
        ['example.com/reload', 'example.com/configmaps', 'example.com/secret-auto', 'example.com/search'].every((k) => keys.includes(k)) &&
        !keys.includes('reloader.stakater.com/auto') &&
        !keys.includes('example.com/match') &&
        keys.includes('secret.reloader.stakater.com/reload'),
    ],
    ['policy.reloaderCompat=false', ['--set', 'policy.reloaderCompat=false'], (keys) => !keys.some((k) => k.includes('reloader.stakater.com'))],
    ['policy.waveCompat=false', ['--set', 'policy.waveCompat=false'], (keys) => !keys.some((k) => k.startsWith('wave.pusher.com/'))],
    [
      'policy.extraWorkloadKinds',
      ['--set', 'policy.extraWorkloadKinds={example.com/v1/widgets:Widget:spec.runner.podTemplate,serving.knative.dev/v1/services:Service:spec.template}'],
      () => true,
    ],
  ];
  for (const [label, args, check] of cases) {
    const objects = await helmTemplate(args);
    const hook = hooksOf(objects)[0]!;
    const { keys } = conditionOf(hook);
    expectConditionFits(t, label, hook, webhookOf(objects).policy);
    t.ok(check(keys), `${label}: ${keys.join(', ')}`);
  }
  const extra = await helmTemplate(['--set', 'policy.extraWorkloadKinds={example.com/v1/widgets:Widget:spec.runner.podTemplate}']);
  t.match(
    conditionOf(hooksOf(extra)[0]!).expression,
    'has(o.spec) && has(o.spec.runner) && has(o.spec.runner.podTemplate) && has(o.spec.runner.podTemplate.metadata) && has(o.spec.runner.podTemplate.metadata.annotations) ? o.spec.runner.podTemplate.metadata.annotations : {}',
    'an extra kind: its template path, each step tested with has()',
  );
  for (const hook of hooksOf(extra)) t.match(hook.rules.at(-1), { apiGroups: ['example.com'], resources: ['widgets'] }, `${hook.name}: its rule`);
});

t.test('cluster-wide tracking, or webhook.matchConditions=false: no matchConditions; kustomize track-all renders what the chart does', async (t) => {
  const trackAll = {
    kustomize: await kustomize(TRACK_ALL_OVERLAY),
    helm: await helmTemplate(['--set', 'policy.trackAll=true']),
    reloaderAutoReloadAll: await helmTemplate(['--set', 'reloader.autoReloadAll=true']),
  };
  const off = await helmTemplate(['--set', 'webhook.matchConditions=false']);
  for (const [render, objects] of Object.entries(trackAll)) {
    t.equal(webhookOf(objects).policy.trackAll, true, `${render}: the webhook runs with --track-all`);
    t.equal(watcherOf(objects).policy.trackAll, true, `${render}: and so does the watcher`);
    t.same(
      hooksOf(objects).map((h) => h.matchConditions),
      [undefined, undefined],
      `${render}: every workload may be tracked, so every one is sent`,
    );
  }
  const withoutNamespace = comparableIds(trackAll.kustomize).filter((id) => id !== `Namespace//${NAMESPACE}`);
  t.same(comparableIds(trackAll.helm), withoutNamespace, 'track-all: the chart and deploy/overlays/track-all install the same objects');
  sameConfiguration(t, 'track-all', trackAll.kustomize, trackAll.helm);
  const withoutConditions = hooksOf(rendered.helm).map(({ matchConditions: _m, ...rest }) => rest);
  t.same(hooksOf(off), withoutConditions, 'webhook.matchConditions=false: the default configuration without its matchConditions');
  t.equal(webhookOf(off).policy.trackAll, false, 'and the policy unchanged');
  const offNamespaced = await helmTemplate(['--set', 'webhook.matchConditions=false', '--set', 'namespaces={team-a}']);
  t.same(
    hooksOf(offNamespaced).map((h) => [h.matchConditions, h.namespaceSelector.matchExpressions.at(-1)]),
    [
      [undefined, { key: NAME_KEY, operator: 'In', values: ['team-a'] }],
      [undefined, { key: NAME_KEY, operator: 'In', values: ['team-a'] }],
    ],
    'and with a scope, both entries still select it',
  );
  const bad = await run(helm, ['template', CHART, '--set', 'webhook.matchConditions=maybe']);
  t.not(bad.code, 0, 'the schema takes a boolean only');
});

t.test('extra pod-template kinds: the flag for both processes, their webhook rule and the watcher RBAC', async (t) => {
  const kinds = ['serving.knative.dev/v1/services:Service:spec.template', 'v1/replicationcontrollers:ReplicationController:spec.template'];
  const objects = await helmTemplate(['--set', `policy.extraWorkloadKinds={${kinds.join(',')}}`]);
  for (const [name, config] of [
    ['webhook', webhookOf(objects)],
    ['watcher', watcherOf(objects)],
  ] as const) {
    t.match(
      config.policy.workloadKinds.slice(-2),
      [
        { kind: 'Service', group: 'serving.knative.dev', version: 'v1', plural: 'services', templatePath: ['spec', 'template'] },
        { kind: 'ReplicationController', group: '', version: 'v1', plural: 'replicationcontrollers' },
      ],
      `${name}: both kinds parsed`,
    );
  }
  const rules = at<{ apiGroups: string[]; apiVersions: string[]; resources: string[] }[]>(
    find(objects, 'MutatingWebhookConfiguration', 'configstamp'),
    'webhooks',
    0,
    'rules',
  );
  t.match(rules.slice(-2), [
    { apiGroups: ['serving.knative.dev'], apiVersions: ['v1'], resources: ['services'] },
    { apiGroups: [''], apiVersions: ['v1'], resources: ['replicationcontrollers'] },
  ]);
  const watcherRole = at<Rule[]>(find(objects, 'ClusterRole', 'configstamp-watcher'), 'rules');
  t.ok(
    watcherRole.some((r) => r.apiGroups?.includes('serving.knative.dev') && r.resources?.includes('services') && r.verbs.includes('patch')),
    'the watcher may patch Knative Services',
  );
  const scoped = await helmTemplate(['--set', `policy.extraWorkloadKinds={${kinds[0]}}`, '--set', 'namespaces={team-a}']);
  const role = scoped.find((o) => o.kind === 'Role' && o.metadata.name === 'configstamp-watcher-scoped' && o.metadata.namespace === 'team-a');
  t.ok(role && at<Rule[]>(role, 'rules').some((r) => r.apiGroups?.includes('serving.knative.dev')), 'and so may the scoped Roles');
  const bad = await run(await ensureHelm(), ['template', 'x', CHART, '--set', 'policy.extraWorkloadKinds={not-a-kind}']);
  t.not(bad.code, 0, 'the schema refuses a malformed entry');
});
