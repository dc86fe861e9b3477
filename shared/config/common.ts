/**
 * Flags every process shares: how to reach the cluster, where configstamp's own objects live,
 * logging, and the tracking policy. Flag names follow Reloader's where a Reloader user would
 * look for them (aliases keep its spellings working).
 */
import { DEFAULT_POLICY } from '../core/policy.js';
import type { PolicyOptions } from '../core/policy.js';
import type { SourceKind } from '../core/kinds.js';
import { WORKLOAD_KINDS } from '../core/kinds.js';
import type { LabelSelector } from '../core/selector.js';
import { ConfigstampError, ErrorCodes } from '../errors.js';
import type { FlagSpec, FlagValue } from './flags.js';

export const CONNECTION_FLAGS: readonly FlagSpec[] = [
  { name: 'kubeconfig', type: 'string', default: '', env: 'KUBECONFIG', help: 'Path to a kubeconfig; empty uses the in-cluster ServiceAccount.' },
  { name: 'namespace', type: 'string', required: true, default: 'configstamp', help: "configstamp's own namespace (hash key, leases, certificates)." },
  { name: 'hash-key-secret', type: 'string', required: true, default: 'configstamp-hash-key', help: 'Secret in --namespace holding the per-cluster HMAC key.' },
  { name: 'log-level', type: 'enum', default: 'info', choices: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], help: 'Log level (logs are JSON lines).' },
  { name: 'log-format', type: 'enum', default: 'json', choices: ['json'], help: 'Log format; JSON lines, as Reloader\'s --log-format=json.' },
];

export const POLICY_FLAGS: readonly FlagSpec[] = [
  { name: 'track-all', aliases: ['auto-reload-all'], type: 'bool', default: false, help: 'Track every workload unless it opts out.' },
  { name: 'reloader-compat', type: 'bool', default: true, help: "Honour Stakater Reloader's annotations." },
  { name: 'wave-compat', type: 'bool', default: true, help: "Honour Wave's annotations (wave.pusher.com/update-on-config-change, extra-configmaps, extra-secrets)." },
  { name: 'namespaces-to-ignore', type: 'list', default: [], help: 'Comma list of namespaces never tracked.' },
  { name: 'namespace-selector', type: 'selector', default: null, help: 'Only namespaces whose labels match this selector are tracked.' },
  { name: 'resource-label-selector', type: 'selector', default: null, help: 'Only ConfigMaps/Secrets whose labels match this selector are tracked.' },
  { name: 'resources-to-ignore', type: 'list', default: [], help: 'configMaps and/or secrets: source kinds never tracked.' },
  { name: 'ignored-workload-types', type: 'list', default: [], help: 'Workload kinds never tracked: deployments, statefulsets, daemonsets, cronjobs, rollouts.' },
];

const SOURCE_KIND_NAMES: Readonly<Record<string, SourceKind>> = { configmaps: 'ConfigMap', secrets: 'Secret' };

/** Turns the policy flags into PolicyOptions; throws CS_ERR_CONFIG naming every bad entry. */
export function policyFromFlags(values: Readonly<Record<string, FlagValue>>): PolicyOptions {
  const problems: string[] = [];
  const ignoredSourceKinds = new Set<SourceKind>();
  for (const entry of values['resources-to-ignore'] as readonly string[]) {
    const kind = SOURCE_KIND_NAMES[entry.toLowerCase()];
    if (kind === undefined) problems.push(`--resources-to-ignore: "${entry}" is not configMaps or secrets`);
    else ignoredSourceKinds.add(kind);
  }
  const ignoredWorkloadKinds = new Set<string>();
  for (const entry of values['ignored-workload-types'] as readonly string[]) {
    const kind = WORKLOAD_KINDS.find((k) => k.plural === entry.toLowerCase() || k.kind.toLowerCase() === entry.toLowerCase());
    if (kind === undefined) problems.push(`--ignored-workload-types: "${entry}" is not one of ${WORKLOAD_KINDS.map((k) => k.plural).join(', ')}`);
    else ignoredWorkloadKinds.add(kind.kind);
  }
  if (problems.length > 0) throw new ConfigstampError(ErrorCodes.CONFIG, `invalid configuration:\n  - ${problems.join('\n  - ')}`);
  return Object.freeze({
    ...DEFAULT_POLICY,
    trackAll: values['track-all'] as boolean,
    reloaderCompat: values['reloader-compat'] as boolean,
    waveCompat: values['wave-compat'] as boolean,
    namespacesToIgnore: new Set(values['namespaces-to-ignore'] as readonly string[]),
    namespaceSelector: values['namespace-selector'] as LabelSelector | null,
    sourceSelector: values['resource-label-selector'] as LabelSelector | null,
    ignoredSourceKinds,
    ignoredWorkloadKinds,
  });
}
