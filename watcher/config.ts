/**
 * The watcher's configuration, parsed once from flags and environment, validated (every problem
 * reported at once) and frozen. The policy flags are shared with the webhook
 * (shared/config/common.ts), so both processes agree on what is tracked.
 */
import { CONNECTION_FLAGS, POLICY_FLAGS, policyFromFlags } from '../shared/config/common.js';
import { formatHelp, parseFlags } from '../shared/config/flags.js';
import type { FlagSpec } from '../shared/config/flags.js';
import type { PolicyOptions } from '../shared/core/policy.js';
import { ConfigstampError, ErrorCodes } from '../shared/errors.js';

export const WATCHER_FLAGS: readonly FlagSpec[] = [
  ...CONNECTION_FLAGS,
  ...POLICY_FLAGS,
  { name: 'debounce', type: 'duration', default: 2_000, min: 0, help: 'Changes to a workload\'s sources within this window, counted from the first, give one rollout.' },
  { name: 'roll-on-delete', aliases: ['reload-on-delete'], type: 'bool', default: false, help: 'Roll consumers when a source they recorded is deleted (off: pods could not start anyway).' },
  { name: 'patch-qps', type: 'int', default: 20, min: 1, help: 'Patches per second to workloads, across all workloads (token bucket refill rate).' },
  { name: 'patch-burst', type: 'int', default: 40, min: 1, help: 'Patches allowed at once before --patch-qps applies (token bucket size).' },
  { name: 'min-rollout-interval', type: 'duration', default: 10_000, min: 0, help: 'Churn guard: a workload is rolled at most once per interval; later changes wait and the latest state is applied.' },
  { name: 'workers', type: 'int', default: 4, min: 1, help: 'Workloads reconciled at once (one reconcile in flight per workload).' },
  { name: 'retry-base', type: 'duration', default: 200, min: 1, help: 'First retry delay after a 409, 429 or 5xx answer; doubles per attempt.' },
  { name: 'retry-max', type: 'duration', default: 30_000, min: 1, help: 'Longest retry delay.' },
  { name: 'fetch-concurrency', type: 'int', default: 16, min: 1, help: 'Source reads in flight at once for one reconcile.' },
  { name: 'fetch-deadline', type: 'duration', default: 10_000, min: 1, help: 'All source reads of one reconcile must finish within this.' },
  { name: 'leader-elect', aliases: ['enable-ha'], type: 'bool', default: true, help: 'Elect a leader on a coordination.k8s.io/v1 Lease in --namespace; only the leader writes.' },
  { name: 'lease-name', type: 'string', default: 'configstamp-watcher', help: 'Name of the leader election Lease in --namespace.' },
  { name: 'lease-duration', type: 'duration', default: 15_000, min: 1_000, help: 'How long a standby waits after the last renewal it saw before taking over.' },
  { name: 'renew-deadline', type: 'duration', default: 10_000, min: 500, help: 'A leader that cannot renew within this stops writing and exits.' },
  { name: 'retry-period', type: 'duration', default: 2_000, min: 100, help: 'How often the leader renews and standbys try to acquire.' },
  { name: 'identity', type: 'string', default: '', help: 'This replica\'s identity in the Lease; empty uses HOSTNAME plus a random suffix.' },
  { name: 'health-host', type: 'string', default: '0.0.0.0', help: 'Address of the plain-HTTP operations server (/metrics, /healthz, /readyz).' },
  { name: 'health-port', type: 'port', default: 8080, help: 'Port of the operations server; 0 picks a free port (logged as "ops serving").' },
  { name: 'watch-timeout', type: 'duration', default: 300_000, min: 1_000, help: 'Each watch request ends after about this long and is resumed from its resourceVersion.' },
  { name: 'sync-after-restart', type: 'bool', default: true, help: "Reloader's flag, accepted for familiarity: restart sync is how every boot works and cannot be turned off (it never restarts an unchanged workload)." },
  { name: 'reload-on-create', type: 'bool', default: true, help: "Reloader's flag, accepted for familiarity: a source created while a workload waited for it always rolls that workload once." },
  { name: 'shutdown-timeout', type: 'duration', default: 10_000, min: 0, help: 'On the first signal, how long in-flight reconciles may finish.' },
];

export interface WatcherConfig {
  readonly kubeconfig: string;
  readonly namespace: string;
  readonly hashKeySecret: string;
  readonly logLevel: string;
  readonly policy: PolicyOptions;
  readonly debounceMs: number;
  readonly rollOnDelete: boolean;
  readonly patchQps: number;
  readonly patchBurst: number;
  readonly minRolloutIntervalMs: number;
  readonly workers: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  readonly fetchConcurrency: number;
  readonly fetchDeadlineMs: number;
  readonly leaderElect: boolean;
  readonly leaseName: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly identity: string;
  readonly healthHost: string;
  readonly healthPort: number;
  readonly watchTimeoutMs: number;
  readonly shutdownTimeoutMs: number;
}

export const WATCHER_SUMMARY = 'Watch ConfigMaps, Secrets, workloads and namespaces; roll each consuming workload once per real change.';

export function watcherHelp(): string {
  return formatHelp('watcher', WATCHER_SUMMARY, WATCHER_FLAGS);
}

/** Parses argv and env; null means --help. Throws CS_ERR_CONFIG listing every problem. */
export function parseWatcherConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): WatcherConfig | null {
  const { values: v, help } = parseFlags(WATCHER_FLAGS, argv, env);
  if (help) return null;
  const policy = policyFromFlags(v);
  if ((v['renew-deadline'] as number) >= (v['lease-duration'] as number) || (v['retry-period'] as number) >= (v['renew-deadline'] as number)) {
    throw new ConfigstampError(ErrorCodes.CONFIG, 'invalid configuration:\n  - leader election needs --retry-period < --renew-deadline < --lease-duration');
  }
  for (const flag of ['sync-after-restart', 'reload-on-create']) {
    if (v[flag] === false) {
      throw new ConfigstampError(ErrorCodes.CONFIG, `invalid configuration:\n  - --${flag}=false: configstamp always syncs on boot and rolls a workload once when a source it waited for appears, and never restarts an unchanged workload; drop the flag (see docs/migrating-from-reloader.md)`);
    }
  }
  const identity = (v.identity as string) || `${env.HOSTNAME ?? 'configstamp'}-${Math.random().toString(36).slice(2, 8)}`;
  return Object.freeze({
    kubeconfig: v.kubeconfig as string,
    namespace: v.namespace as string,
    hashKeySecret: v['hash-key-secret'] as string,
    logLevel: v['log-level'] as string,
    policy,
    debounceMs: v.debounce as number,
    rollOnDelete: v['roll-on-delete'] as boolean,
    patchQps: v['patch-qps'] as number,
    patchBurst: v['patch-burst'] as number,
    minRolloutIntervalMs: v['min-rollout-interval'] as number,
    workers: v.workers as number,
    retryBaseMs: v['retry-base'] as number,
    retryMaxMs: v['retry-max'] as number,
    fetchConcurrency: v['fetch-concurrency'] as number,
    fetchDeadlineMs: v['fetch-deadline'] as number,
    leaderElect: v['leader-elect'] as boolean,
    leaseName: v['lease-name'] as string,
    leaseDurationMs: v['lease-duration'] as number,
    renewDeadlineMs: v['renew-deadline'] as number,
    retryPeriodMs: v['retry-period'] as number,
    identity,
    healthHost: v['health-host'] as string,
    healthPort: v['health-port'] as number,
    watchTimeoutMs: v['watch-timeout'] as number,
    shutdownTimeoutMs: v['shutdown-timeout'] as number,
  });
}
