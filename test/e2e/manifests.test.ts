// The install manifests (deploy/): the kustomize base and the Helm chart render with the real
// kubectl and helm built from source, install the same objects configured the same way, hold
// every pod to the restricted security profile, give each ServiceAccount only what its process
// needs, pass flags the processes accept, and apply to a real API server whose RBAC then
// answers for each ServiceAccount as docs/install.md says.
import t from 'tap';
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const BASE = join(ROOT, 'deploy/base');
const CERT_MANAGER_OVERLAY = join(ROOT, 'deploy/overlays/cert-manager');
const CHART = join(ROOT, 'deploy/helm/configstamp');
const NAMESPACE = 'configstamp';
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const IMAGE = `ghcr.io/configstamp/configstamp:${VERSION}`;
const WORKLOADS = [
  ['apps', 'deployments'], ['apps', 'statefulsets'], ['apps', 'daemonsets'], ['batch', 'cronjobs'], ['argoproj.io', 'rollouts'],
] as const;

// ---- running the real tools -------------------------------------------------------------------

interface RunResult { readonly code: number | null; readonly stdout: string; readonly stderr: string }

// helm and kubectl get a home of their own: nothing of the user's is read or written.
const toolHome = mkdtempSync(join(tmpdir(), 'configstamp-manifests-'));
t.teardown(() => rmSync(toolHome, { recursive: true, force: true }));

/** Runs a tool; `isolated` (the default) gives it the private home, build.sh keeps the real one (Go's caches). */
function run(bin: string, args: readonly string[], { timeoutMs = 120_000, isolated = true } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = isolated ? {
      ...process.env, HOME: toolHome, KUBECACHEDIR: join(toolHome, 'kube-cache'),
      HELM_CACHE_HOME: join(toolHome, 'helm-cache'), HELM_CONFIG_HOME: join(toolHome, 'helm-config'), HELM_DATA_HOME: join(toolHome, 'helm-data'),
    } : { ...process.env };
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
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
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

// ---- reading rendered objects -----------------------------------------------------------------

type Json = Record<string, unknown>;
interface K8sObject { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; [key: string]: unknown }
interface Container { name: string; image?: string; args?: string[]; env?: { name: string; value?: string; valueFrom?: unknown }[]; ports?: { name?: string; containerPort: number }[]; securityContext?: Json; resources?: { requests?: Json; limits?: Json }; livenessProbe?: Json; readinessProbe?: Json; volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[] }
interface PodSpec { serviceAccountName?: string; securityContext?: Json; containers: Container[]; initContainers?: Container[]; volumes?: Json[]; affinity?: Json; hostNetwork?: boolean; hostPID?: boolean; hostIPC?: boolean }
interface PodTemplate { metadata?: { labels?: Record<string, string> }; spec: PodSpec }
interface Rule { apiGroups?: string[]; resources?: string[]; verbs: string[]; resourceNames?: string[] }

function parseObjects(text: string): K8sObject[] {
  return parseAllDocuments(text).map((d) => d.toJS() as K8sObject | null).filter((o): o is K8sObject => o !== null);
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

interface Grant { readonly namespace: string | null; readonly rule: Rule }

function grantsOf(objects: readonly K8sObject[], account: string, namespace = NAMESPACE): Grant[] {
  const grants: Grant[] = [];
  for (const b of objects.filter((o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding')) {
    const subjects = at<{ kind: string; name: string; namespace?: string }[]>(b, 'subjects') ?? [];
    if (!subjects.some((s) => s.kind === 'ServiceAccount' && s.name === account && s.namespace === namespace)) continue;
    const ref = at<{ kind: string; name: string }>(b, 'roleRef');
    const role = objects.find((o) => o.kind === ref.kind && o.metadata.name === ref.name
      && (ref.kind === 'ClusterRole' || o.metadata.namespace === b.metadata.namespace));
    if (role === undefined) throw new Error(`${idOf(b)} refers to a missing ${ref.kind} ${ref.name}`);
    const scope = b.kind === 'ClusterRoleBinding' ? null : (b.metadata.namespace ?? null);
    for (const rule of at<Rule[]>(role, 'rules') ?? []) grants.push({ namespace: scope, rule });
  }
  return grants;
}

/** Whether `grants` allow verb on group/resource; namespace undefined asks cluster-wide. */
function can(grants: readonly Grant[], verb: string, group: string, resource: string, where: { namespace?: string; name?: string } = {}): boolean {
  return grants.some(({ namespace, rule }) =>
    (namespace === null || namespace === where.namespace)
    && (rule.apiGroups ?? []).some((g) => g === group || g === '*')
    && (rule.resources ?? []).some((r) => r === resource || r === '*')
    && rule.verbs.some((v) => v === verb || v === '*')
    && (rule.resourceNames === undefined || rule.resourceNames.length === 0 || (where.name !== undefined && rule.resourceNames.includes(where.name))));
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

async function helmTemplate(args: readonly string[] = []): Promise<K8sObject[]> {
  const r = await run(helm, ['template', 'configstamp', CHART, '--namespace', NAMESPACE, ...args]);
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

/** Helm names the certs Job per release revision (its pod template is immutable); the rest match. */
function comparableIds(objects: readonly K8sObject[]): string[] {
  return objects.map((o) => (o.kind === 'Job' ? idOf(o).replace(/-\d+$/, '') : idOf(o))).sort();
}

// ---- helpers that read the manifests as the processes would -----------------------------------

/** The environment a container gets: literal values, and downward-API ones set as the kubelet would. */
function envOf(c: Container): Record<string, string> {
  const downward: Record<string, string> = { 'metadata.namespace': NAMESPACE, 'metadata.name': 'POD_NAME' };
  return Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? downward[at<string>(e.valueFrom, 'fieldRef', 'fieldPath')] ?? '']));
}

const FLAGS: Readonly<Record<string, readonly FlagSpec[]>> = { webhook: WEBHOOK_FLAGS, watcher: WATCHER_FLAGS, certs: CERTS_FLAGS };

/**
 * Each container's flags parsed by the subcommand's own parser (which throws on an unknown flag
 * or a bad value), and every CONFIGSTAMP_* variable checked against the same flag specs.
 */
function configsOf(pod: PodSpec): unknown[] {
  return pod.containers.map((c) => {
    const [command, ...argv] = c.args ?? [];
    const specs = FLAGS[command ?? ''];
    if (specs === undefined) throw new Error(`container ${c.name}: unknown subcommand ${String(command)}`);
    const env = envOf(c);
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

// ---- tests ------------------------------------------------------------------------------------

t.test('the kustomize base renders every object of the install', async (t) => {
  t.same(comparableIds(rendered.kustomize), [
    'ClusterRole//configstamp-certs', 'ClusterRole//configstamp-watcher', 'ClusterRole//configstamp-webhook',
    'ClusterRoleBinding//configstamp-certs', 'ClusterRoleBinding//configstamp-watcher', 'ClusterRoleBinding//configstamp-webhook',
    'CronJob/configstamp/configstamp-certs', 'Deployment/configstamp/configstamp-watcher', 'Deployment/configstamp/configstamp-webhook',
    'Job/configstamp/configstamp-certs', 'MutatingWebhookConfiguration//configstamp', 'Namespace//configstamp',
    'NetworkPolicy/configstamp/configstamp-certs', 'NetworkPolicy/configstamp/configstamp-watcher', 'NetworkPolicy/configstamp/configstamp-webhook',
    'PodDisruptionBudget/configstamp/configstamp-webhook',
    'Role/configstamp/configstamp-certs', 'Role/configstamp/configstamp-watcher',
    'RoleBinding/configstamp/configstamp-certs', 'RoleBinding/configstamp/configstamp-watcher',
    'Service/configstamp/configstamp-webhook',
    'ServiceAccount/configstamp/configstamp-certs', 'ServiceAccount/configstamp/configstamp-watcher', 'ServiceAccount/configstamp/configstamp-webhook',
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
  t.same(at(find(rendered.helm, 'MutatingWebhookConfiguration', 'configstamp'), 'webhooks'),
    at(find(rendered.kustomize, 'MutatingWebhookConfiguration', 'configstamp'), 'webhooks'),
    "the chart's webhook configuration is deploy/base/mutatingwebhookconfiguration.yaml's");
  sameConfiguration(t, 'default', rendered.kustomize, rendered.helm);
  sameConfiguration(t, 'cert-manager', rendered.kustomizeCertManager, rendered.helmCertManager);
});

/** The assertions sameConfiguration() makes, from whichever test calls it. */
type Asserts = Pick<typeof t, 'same' | 'fail'>;

/** Beyond names: the same rules, policies, Service, PDB, certificates, pod specs and parsed flags. */
function sameConfiguration(t: Asserts, label: string, kustomized: readonly K8sObject[], charted: readonly K8sObject[]): void {
  for (const o of kustomized) {
    const key = { ClusterRole: 'rules', Role: 'rules', NetworkPolicy: 'spec', Service: 'spec', PodDisruptionBudget: 'spec', Certificate: 'spec', Issuer: 'spec' }[o.kind];
    if (key !== undefined) t.same(at(find(charted, o.kind, o.metadata.name), key), at(o, key), `${label}: ${o.kind} ${o.metadata.name}: same ${key}`);
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
      t.notOk((pod.volumes ?? []).some((v) => 'hostPath' in v), `${where}: no hostPath volumes`);
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
      pod.spec.affinity, 'podAntiAffinity', 'preferredDuringSchedulingIgnoredDuringExecution');
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
    t.ok(config?.certFile.startsWith(`${mount?.mountPath ?? '?'}/`) && config.keyFile.startsWith(`${mount?.mountPath ?? '?'}/`), `${render}: --cert-file and --key-file are in the mount`);
    t.equal(at(pod.spec.volumes?.find((v) => v.name === 'tls'), 'secret', 'secretName'), 'configstamp-webhook-tls', `${render}: from the Secret configstamp certs writes`);

    const pdb = find(objects, 'PodDisruptionBudget', 'configstamp-webhook');
    t.equal(at(pdb, 'spec', 'minAvailable'), 1, `${render}: PDB minAvailable 1`);
    t.ok(selects(at(pdb, 'spec', 'selector', 'matchLabels'), pod), `${render}: PDB selects webhook pods`);

    const svc = find(objects, 'Service', 'configstamp-webhook');
    const port = at<{ port: number; targetPort: string }[]>(svc, 'spec', 'ports')[0];
    t.equal(port?.port, 443, `${render}: Service port 443`);
    t.equal(portNamed(port?.targetPort ?? '?'), 8443, `${render}: to the webhook's 8443`);
    t.ok(selects(at(svc, 'spec', 'selector'), pod), `${render}: Service selects webhook pods`);
    t.notOk(selects(at(svc, 'spec', 'selector'), at(find(objects, 'Deployment', 'configstamp-watcher'), 'spec', 'template')), `${render}: and not the watcher`);
    t.match(at(find(objects, 'MutatingWebhookConfiguration', 'configstamp'), 'webhooks', 0, 'clientConfig', 'service'),
      { name: 'configstamp-webhook', namespace: NAMESPACE, port: 443 }, `${render}: the webhook configuration calls this Service`);
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
    t.equal(objects.some((o) => o.kind === 'CronJob'), !certManager, `${render}: a rotation CronJob unless cert-manager renews`);
    const mwc = find(objects, 'MutatingWebhookConfiguration', 'configstamp');
    t.equal(mwc.metadata.annotations?.['cert-manager.io/inject-ca-from'], certManager ? `${NAMESPACE}/configstamp-webhook` : undefined,
      `${render}: cert-manager injects the caBundle only when it makes the certificate`);
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
      const egressPorts = at<{ ports: { port: number; protocol: string }[] }[]>(mine[0], 'spec', 'egress').flatMap((r) => r.ports.map((p) => `${p.protocol}/${p.port}`));
      t.same(egressPorts.sort(), ['TCP/443', 'TCP/53', 'TCP/6443', 'UDP/53'], `${render} ${owner}: egress to the API server and DNS only`);
    }
    const ingress = at<{ from?: unknown[]; ports: { port: number }[] }[]>(find(objects, 'NetworkPolicy', 'configstamp-webhook'), 'spec', 'ingress');
    t.ok(ingress.some((r) => r.from === undefined && r.ports.some((p) => p.port === 8443)), `${render}: 8443 open to any source (the API server's address is unknown)`);
    t.ok(ingress.some((r) => r.from !== undefined && r.ports.some((p) => p.port === 8080)), `${render}: 8080 only from in-cluster peers`);
    t.same(at(find(objects, 'NetworkPolicy', 'configstamp-certs'), 'spec', 'ingress'), [], `${render}: nothing may reach the certs Job`);
  }
});

t.test('RBAC: each ServiceAccount gets what its process needs and nothing more', async (t) => {
  for (const [render, objects] of renders) {
    const roles = objects.filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole');
    const rules = roles.flatMap((r) => at<Rule[]>(r, 'rules'));
    t.notOk(rules.some((r) => [...(r.apiGroups ?? []), ...(r.resources ?? []), ...r.verbs].includes('*')), `${render}: no wildcards`);
    t.notOk(rules.some((r) => r.verbs.some((v) => ['escalate', 'bind', 'impersonate', 'delete', 'deletecollection'].includes(v))), `${render}: no escalate/bind/impersonate/delete`);

    const webhook = grantsOf(objects, 'configstamp-webhook');
    for (const kind of ['configmaps', 'secrets']) {
      t.ok(can(webhook, 'get', '', kind, { namespace: 'team-a' }), `${render} webhook: get ${kind} in any namespace`);
      t.ok(can(webhook, 'list', '', kind, { namespace: 'team-a' }), `${render} webhook: list ${kind} (Reloader's name patterns)`);
      t.notOk(can(webhook, 'watch', '', kind), `${render} webhook: does not watch ${kind}`);
    }
    t.ok(can(webhook, 'get', '', 'secrets', { namespace: NAMESPACE, name: 'configstamp-hash-key' }), `${render} webhook: reads its hash key`);
    t.ok(can(webhook, 'watch', '', 'namespaces'), `${render} webhook: watches namespace labels`);
    t.notOk(webhook.some((g) => g.rule.verbs.some((v) => !['get', 'list', 'watch'].includes(v))), `${render} webhook: only reads`);
    for (const [group, resource] of WORKLOADS) {
      for (const verb of ['patch', 'update', 'create']) t.notOk(can(webhook, verb, group, resource, { namespace: 'team-a' }), `${render} webhook: no ${verb} ${resource}`);
    }

    const watcher = grantsOf(objects, 'configstamp-watcher');
    for (const [group, resource] of [['', 'configmaps'], ['', 'secrets'], ['', 'namespaces'], ...WORKLOADS] as const) {
      for (const verb of ['list', 'watch']) t.ok(can(watcher, verb, group, resource), `${render} watcher: ${verb} ${resource} cluster-wide`);
    }
    for (const [group, resource] of WORKLOADS) {
      t.ok(can(watcher, 'patch', group, resource, { namespace: 'team-a' }), `${render} watcher: patch ${resource}`);
      t.notOk(can(watcher, 'update', group, resource, { namespace: 'team-a' }), `${render} watcher: no update of ${resource} (patches only)`);
    }
    for (const group of ['', 'events.k8s.io']) t.ok(can(watcher, 'create', group, 'events', { namespace: 'team-a' }), `${render} watcher: create events (${group || 'core'})`);
    for (const verb of ['get', 'create', 'update']) {
      t.ok(can(watcher, verb, 'coordination.k8s.io', 'leases', { namespace: NAMESPACE }), `${render} watcher: ${verb} its Lease`);
      t.notOk(can(watcher, verb, 'coordination.k8s.io', 'leases', { namespace: 'kube-system' }), `${render} watcher: ${verb} no Lease elsewhere`);
    }
    t.ok(can(watcher, 'create', '', 'secrets', { namespace: NAMESPACE }), `${render} watcher: may create the hash key`);
    t.notOk(can(watcher, 'create', '', 'secrets', { namespace: 'team-a' }), `${render} watcher: creates no Secret elsewhere`);
    t.notOk(['get', 'list', 'watch'].some((v) => can(watcher, v, '', 'pods', { namespace: 'team-a' })), `${render} watcher: no access to Pods`);
    t.notOk(can(watcher, 'patch', '', 'configmaps', { namespace: 'team-a' }), `${render} watcher: never writes a source`);

    const certs = grantsOf(objects, 'configstamp-certs');
    for (const verb of ['get', 'create', 'update']) {
      t.ok(can(certs, verb, '', 'secrets', { namespace: NAMESPACE }), `${render} certs: ${verb} Secrets in configstamp's namespace`);
      t.notOk(can(certs, verb, '', 'secrets', { namespace: 'team-a' }), `${render} certs: not elsewhere`);
    }
    const certManager = render.endsWith('CertManager');
    t.equal(can(certs, 'patch', 'admissionregistration.k8s.io', 'mutatingwebhookconfigurations', { name: 'configstamp' }), !certManager,
      `${render} certs: patches the caBundle of configstamp's webhook configuration${certManager ? ' (not with cert-manager)' : ''}`);
    t.notOk(can(certs, 'patch', 'admissionregistration.k8s.io', 'mutatingwebhookconfigurations', { name: 'someone-else' }), `${render} certs: and no other`);
    t.notOk(can(certs, 'list', 'admissionregistration.k8s.io', 'mutatingwebhookconfigurations'), `${render} certs: lists none`);
    t.notOk(WORKLOADS.some(([g, r]) => can(certs, 'get', g, r, { namespace: 'team-a' })), `${render} certs: no workloads`);
  }
});

t.test('a fully configured chart passes only flags the processes accept', async (t) => {
  const objects = await helmTemplate([
    '--set', 'logLevel=debug', '--set', 'policy.trackAll=true', '--set', 'policy.reloaderCompat=false', '--set', 'policy.waveCompat=false',
    '--set', 'policy.namespacesToIgnore={a,b}', '--set-string', 'policy.namespaceSelector=team=a',
    '--set-string', 'policy.resourceLabelSelector=tier=config', '--set', 'policy.resourcesToIgnore={secrets}',
    '--set', 'policy.ignoredWorkloadTypes={rollouts}', '--set', 'webhook.fetchDeadline=1500ms', '--set', 'webhook.fetchConcurrency=4',
    '--set', 'watcher.debounce=5s', '--set', 'watcher.qps=5', '--set', 'watcher.burst=10', '--set', 'watcher.minRolloutInterval=1m',
    '--set', 'watcher.rollOnDelete=true', '--set', 'watcher.workers=2', '--set', 'certs.extraDnsNames={webhook.example.com}',
    '--set', 'certs.extraIpAddresses={10.0.0.1}', '--set', 'certs.certValidity=2160h', '--set', 'certs.certRenewBefore=360h',
  ]);
  const configs = Object.fromEntries(podTemplates(objects).map(({ owner, template }) => [owner, configsOf(template.spec)[0]]));
  const webhook = configs[`Deployment/${NAMESPACE}/configstamp-webhook`] as ReturnType<typeof parseWebhookConfig>;
  t.match(webhook, { logLevel: 'debug', fetchDeadlineMs: 1500, fetchConcurrency: 4, policy: { trackAll: true, reloaderCompat: false, waveCompat: false } });
  t.same([...webhook!.policy.namespacesToIgnore], ['a', 'b']);
  t.same([...webhook!.policy.ignoredSourceKinds], ['Secret']);
  t.same([...webhook!.policy.ignoredWorkloadKinds], ['Rollout']);
  const watcher = configs[`Deployment/${NAMESPACE}/configstamp-watcher`] as ReturnType<typeof parseWatcherConfig>;
  t.match(watcher, { debounceMs: 5000, patchQps: 5, patchBurst: 10, minRolloutIntervalMs: 60_000, rollOnDelete: true, workers: 2, policy: { trackAll: true } });
  t.same(watcher?.policy, webhook?.policy, 'both processes track the same things');
  t.match(configs[`Job/${NAMESPACE}/configstamp-certs-1`], { 'extra-dns-names': ['webhook.example.com'], 'extra-ip-addresses': ['10.0.0.1'], 'cert-validity': 90 * 24 * 3_600_000 });
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

  const ask = async (account: string, verb: string, resource: string, namespace?: string): Promise<boolean> => {
    const r = await cluster.kubectl(['auth', 'can-i', verb, resource, `--as=system:serviceaccount:${NAMESPACE}:${account}`,
      ...(namespace === undefined ? ['--all-namespaces'] : ['-n', namespace])]);
    if (r.code !== 0 && r.code !== 1) throw new Error(`kubectl auth can-i: ${r.stderr}`);
    return r.code === 0;
  };
  const cases: [account: string, verb: string, resource: string, namespace: string | undefined, allowed: boolean][] = [
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
  const answers = await Promise.all(cases.map(([a, v, r, n]) => ask(a, v, r, n)));
  cases.forEach(([account, verb, resource, namespace, allowed], i) => {
    t.equal(answers[i], allowed, `${account} ${allowed ? 'may' : 'may not'} ${verb} ${resource} in ${namespace ?? 'all namespaces'}`);
  });
});
