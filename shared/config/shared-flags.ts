/**
 * Flags every process shares: how to reach the cluster, where configstamp's own objects live,
 * logging, the namespaces in scope, and the tracking policy. Flag names follow Reloader's where a
 * Reloader user would look for them: its flags are accepted as they are, under their own names and
 * environment variables (Reloader v2 reads every flag from its upper-cased name), and either work
 * with the same meaning or give one startup warning that says what configstamp does instead
 * (docs/migrating-from-reloader.md has the whole table).
 */
import { Reloader } from '../core/annotations.js';
import type { ReloaderKeys } from '../core/annotations.js';
import { DEFAULT_POLICY, reloaderKeyTable } from '../core/policy.js';
import type { PolicyOptions } from '../core/policy.js';
import type { SourceKind } from '../core/kinds.js';
import { WORKLOAD_KINDS, parseExtraWorkloadKind, sourceKindByName } from '../core/kinds.js';
import type { WorkloadKind } from '../core/kinds.js';
import { isLabelKey } from '../core/selector.js';
import { LOG_LEVELS } from '../log.js';
import type { LogFormat } from '../log.js';
import { ConfigstampError, ErrorCodes } from '../errors.js';
import type { FlagSpec, FlagValues } from './flags.js';

/** Reloader v2's environment variable for a flag: its name upper-cased, dashes as underscores. */
export function reloaderEnv(flag: string): string {
  return flag.toUpperCase().replace(/-/g, '_');
}

export const CONNECTION_FLAGS = [
  { name: 'kubeconfig', type: 'string', default: '', env: 'KUBECONFIG', help: 'Path to a kubeconfig; empty uses the in-cluster ServiceAccount.' },
  {
    name: 'namespace',
    type: 'string',
    required: true,
    default: 'configstamp',
    envAliases: ['POD_NAMESPACE', 'RELOADER_NAMESPACE'],
    help: "configstamp's own namespace (hash key, leases, certificates).",
  },
  { name: 'hash-key-secret', type: 'string', required: true, default: 'configstamp-hash-key', help: 'Secret in --namespace holding the per-cluster HMAC key.' },
  {
    name: 'log-level',
    type: 'enum',
    default: 'info',
    choices: LOG_LEVELS,
    envAliases: ['LOG_LEVEL'],
    help: "Log level; Reloader's (logrus) names work too: warning is warn, panic is fatal.",
  },
  {
    name: 'log-format',
    type: 'enum',
    default: 'json',
    choices: ['json', 'text', ''],
    envAliases: ['LOG_FORMAT'],
    help: 'json (JSON lines), or text: logfmt lines, as Reloader writes with --log-format="" (empty means text here too).',
  },
] as const satisfies readonly FlagSpec[];

/** The log format a --log-format value asks for (Reloader's empty value is its text format). */
export function logFormatOf(value: string): LogFormat {
  return value === 'json' ? 'json' : 'text';
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** One of Reloader's renamable annotation keys: which of our ReloaderKeys it sets. */
interface KeyFlag {
  readonly flag: string;
  readonly key: keyof ReloaderKeys;
}

const KEY_FLAGS = [
  { flag: 'auto-annotation', key: 'auto' },
  { flag: 'configmap-auto-annotation', key: 'configMapAuto' },
  { flag: 'secret-auto-annotation', key: 'secretAuto' },
  { flag: 'configmap-annotation', key: 'configMapReload' },
  { flag: 'secret-annotation', key: 'secretReload' },
  { flag: 'configmap-exclude-annotation', key: 'excludeConfigMaps' },
  { flag: 'secret-exclude-annotation', key: 'excludeSecrets' },
  { flag: 'auto-search-annotation', key: 'search' },
  { flag: 'search-match-annotation', key: 'match' },
  { flag: 'ignore-annotation', key: 'ignore' },
  { flag: 'pause-deployment-annotation', key: 'pausePeriod' },
  { flag: 'pause-deployment-time-annotation', key: 'pausedAt' },
  { flag: 'secretproviderclass-annotation', key: 'secretProviderClassReload' },
  { flag: 'secretproviderclass-auto-annotation', key: 'secretProviderClassAuto' },
  { flag: 'secretproviderclass-exclude-annotation', key: 'excludeSecretProviderClasses' },
] as const satisfies readonly KeyFlag[];

/** String flags, one per row, keeping each row's flag name as the spec's literal name (FlagValues). */
function stringFlags<const T extends readonly { readonly flag: string }[]>(
  rows: T,
  spec: (row: T[number]) => Omit<FlagSpec, 'name' | 'type'>,
): { readonly [I in keyof T]: FlagSpec & { readonly name: T[I]['flag']; readonly type: 'string' } } {
  return rows.map((row) => compatFlag({ ...spec(row), name: row.flag, type: 'string' })) as unknown as {
    readonly [I in keyof T]: FlagSpec & { readonly name: T[I]['flag']; readonly type: 'string' };
  };
}

/** Another product's flag (Reloader's): listed apart in --help, and read from its v2 env name. */
export function compatFlag<const S extends Omit<FlagSpec, 'compat' | 'envAliases'> & { readonly envAliases?: readonly string[] }>(
  spec: S,
): S & { readonly compat: true; readonly envAliases: readonly string[] } {
  return { ...spec, compat: true, envAliases: spec.envAliases ?? [reloaderEnv(spec.name)] };
}

export const POLICY_FLAGS = [
  {
    name: 'track-all',
    aliases: ['auto-reload-all'],
    type: 'bool',
    default: false,
    envAliases: ['AUTO_RELOAD_ALL'],
    help: 'Track every workload unless it opts out.',
  },
  { name: 'reloader-compat', type: 'bool', default: true, help: "Honour Stakater Reloader's annotations." },
  {
    name: 'wave-compat',
    type: 'bool',
    default: true,
    help: "Honour Wave's annotations (wave.pusher.com/update-on-config-change, extra-configmaps, extra-secrets).",
  },
  {
    name: 'namespaces',
    type: 'list',
    default: [],
    envAliases: ['NAMESPACES', 'KUBERNETES_NAMESPACE'],
    help: "Watch and stamp only these namespaces (a scoped install: Roles, no ClusterRole); empty means all. Reloader's KUBERNETES_NAMESPACE (one namespace) works too.",
  },
  { name: 'namespaces-to-ignore', type: 'list', default: [], envAliases: ['NAMESPACES_TO_IGNORE'], help: 'Comma list of namespaces never tracked.' },
  {
    name: 'namespace-selector',
    type: 'selector',
    default: null,
    envAliases: ['NAMESPACE_SELECTOR'],
    help: "Only namespaces whose labels match this selector are tracked (Reloader's key:value and key=* forms work; repeated flags must all match).",
  },
  {
    name: 'resource-label-selector',
    type: 'selector',
    default: null,
    envAliases: ['RESOURCE_LABEL_SELECTOR'],
    help: 'Only ConfigMaps/Secrets whose labels match this selector are tracked.',
  },
  {
    name: 'resources-to-ignore',
    type: 'list',
    default: [],
    envAliases: ['RESOURCES_TO_IGNORE'],
    help: 'configMaps, secrets and/or secretProviderClasses: source kinds never tracked.',
  },
  {
    name: 'extra-workload-kinds',
    type: 'list',
    default: [],
    help: 'More pod-template kinds to stamp and roll, each group/version/resource:Kind:template.path, e.g. serving.knative.dev/v1/services:Service:spec.template (the chart renders their RBAC and webhook rules).',
  },
  {
    name: 'recreate-jobs',
    type: 'bool',
    default: false,
    help: 'Re-create tracked Jobs when a source they consume changes (delete, then create under the same name), as Reloader does. Off: only Jobs annotated configstamp.io/recreate-on-change: "true" are. Destroys the old Job, its pods and their logs; a running Job is stopped.',
  },
  {
    name: 'ignored-workload-types',
    type: 'list',
    default: [],
    envAliases: ['IGNORED_WORKLOAD_TYPES'],
    help: 'Workload kinds never tracked: deployments, statefulsets, daemonsets, cronjobs, rollouts, deploymentconfigs (jobs is accepted; configstamp does not roll Jobs anyway).',
  },
  compatFlag({
    name: 'is-Argo-Rollouts',
    type: 'bool',
    default: true,
    help: 'false: Argo Rollouts are never tracked. true, or unset: they are, when the Rollout CRD is served.',
  }),
  compatFlag({
    name: 'is-openshift',
    type: 'string',
    default: '',
    help: 'Reloader v2: "false" (or anything but true, auto, ""): OpenShift DeploymentConfigs are never tracked. Otherwise they are, when apps.openshift.io is served.',
  }),
  compatFlag({
    name: 'enable-csi-integration',
    type: 'bool',
    default: true,
    help: 'false: Secrets Store CSI SecretProviderClasses are never tracked. true, or unset (unlike Reloader, whose default is false): they are, when the SecretProviderClassPodStatus CRD is served.',
  }),
  ...stringFlags(KEY_FLAGS, ({ key }) => ({
    required: true,
    default: Reloader[key],
    help: `Reloader's annotation key ${Reloader[key]}, renamed; read by the webhook and the watcher alike.`,
  })),
] as const satisfies readonly FlagSpec[];

/** What the shared flags parse to. */
export type SharedFlagValues = FlagValues<typeof CONNECTION_FLAGS> & FlagValues<typeof POLICY_FLAGS>;

function configError(problems: readonly string[]): ConfigstampError {
  return new ConfigstampError(ErrorCodes.CONFIG, `invalid configuration:\n  - ${problems.join('\n  - ')}`);
}

/** The namespaces in scope: empty means every namespace. Throws CS_ERR_CONFIG on a bad name. */
export function namespacesFromFlags(values: Pick<SharedFlagValues, 'namespaces'>): readonly string[] {
  const names = [...new Set(values.namespaces)].sort();
  const bad = names.filter((n) => !DNS_LABEL.test(n) || n.length > 63);
  if (bad.length > 0) throw configError(bad.map((n) => `--namespaces: "${n}" is not a namespace name`));
  return Object.freeze(names);
}

/** Turns the policy flags into PolicyOptions; throws CS_ERR_CONFIG naming every bad entry. */
export function policyFromFlags(values: FlagValues<typeof POLICY_FLAGS>): PolicyOptions {
  const problems: string[] = [];
  const ignoredSourceKinds = new Set<SourceKind>();
  for (const entry of values['resources-to-ignore']) {
    const kind = sourceKindByName(entry);
    if (kind === undefined) problems.push(`--resources-to-ignore: "${entry}" is not configMaps, secrets or secretProviderClasses`);
    else ignoredSourceKinds.add(kind);
  }
  const extraKinds: WorkloadKind[] = [];
  for (const entry of values['extra-workload-kinds']) {
    const row = parseExtraWorkloadKind(entry);
    if (row === undefined)
      problems.push(`--extra-workload-kinds: "${entry}" is not group/version/resource:Kind:template.path naming a kind configstamp does not already know`);
    else extraKinds.push(row);
  }
  const workloadKinds = Object.freeze([...WORKLOAD_KINDS, ...extraKinds]);
  const ignoredWorkloadKinds = new Set<string>();
  for (const entry of values['ignored-workload-types']) {
    const name = entry.toLowerCase();
    const kind = workloadKinds.find((k) => k.plural === name || k.kind.toLowerCase() === name)?.kind;
    if (kind === undefined) problems.push(`--ignored-workload-types: "${entry}" is not one of ${workloadKinds.map((k) => k.plural).join(', ')}`);
    else ignoredWorkloadKinds.add(kind);
  }
  if (values['is-Argo-Rollouts'] === false) ignoredWorkloadKinds.add('Rollout');
  if (values['enable-csi-integration'] === false) ignoredSourceKinds.add('SecretProviderClass');
  // Reloader v2: true, auto or "" detect DeploymentConfigs; any other value turns them off.
  if (!/^(true|auto|)$/i.test(values['is-openshift'].trim())) ignoredWorkloadKinds.add('DeploymentConfig');
  const overrides: Partial<Record<keyof ReloaderKeys, string>> = {};
  for (const { flag, key } of KEY_FLAGS) {
    const value = values[flag].trim();
    if (!isLabelKey(value)) problems.push(`--${flag}: "${value}" is not an annotation key (prefix/name)`);
    else overrides[key] = value;
  }
  const scope = namespacesFromFlags(values);
  if (problems.length > 0) throw configError(problems);
  return Object.freeze({
    ...DEFAULT_POLICY,
    namespaceScope: scope.length === 0 ? null : new Set(scope),
    // A scoped install cannot read Namespace labels (scopeWarnings says so at startup).
    namespaceSelector: scope.length === 0 ? values['namespace-selector'] : null,
    trackAll: values['track-all'],
    reloaderCompat: values['reloader-compat'],
    waveCompat: values['wave-compat'],
    namespacesToIgnore: new Set(values['namespaces-to-ignore']),
    sourceSelector: values['resource-label-selector'],
    ignoredSourceKinds,
    ignoredWorkloadKinds,
    reloaderKeys: reloaderKeyTable(overrides),
    workloadKinds,
    recreateJobs: values['recreate-jobs'],
  });
}

/**
 * The warnings a scope brings: with namespaces listed, namespace labels cannot be read (a scoped
 * install has no access to Namespace objects), so the namespace selector and the namespace label
 * are not applied, as Reloader drops its selector in scoped mode.
 */
export function scopeWarnings(values: Pick<SharedFlagValues, 'namespace-selector'>, namespaces: readonly string[]): string[] {
  if (namespaces.length === 0 || values['namespace-selector'] === null) return [];
  return ['--namespace-selector: not applied with --namespaces (a scoped install cannot read Namespace labels); every listed namespace is in scope'];
}

/** What every long-running process takes from CONNECTION_FLAGS and POLICY_FLAGS. */
export interface SharedConfig {
  readonly kubeconfig: string;
  readonly namespace: string;
  readonly hashKeySecret: string;
  readonly logLevel: string;
  readonly logFormat: LogFormat;
  /** Namespaces in scope; empty means all (a cluster-wide install). */
  readonly namespaces: readonly string[];
  readonly policy: PolicyOptions;
}

/** The shared part of a process's config, and the warnings the scope brings. Throws CS_ERR_CONFIG. */
export function sharedConfigFrom(values: SharedFlagValues): { config: SharedConfig; warnings: string[] } {
  const namespaces = namespacesFromFlags(values);
  return {
    config: {
      kubeconfig: values.kubeconfig,
      namespace: values.namespace,
      hashKeySecret: values['hash-key-secret'],
      logLevel: values['log-level'],
      logFormat: logFormatOf(values['log-format']),
      namespaces,
      policy: policyFromFlags(values),
    },
    warnings: scopeWarnings(values, namespaces),
  };
}
