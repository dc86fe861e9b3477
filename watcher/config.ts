/**
 * The watcher's configuration, parsed once from flags and environment, validated (every problem
 * reported at once) and frozen. The policy flags are shared with the webhook
 * (shared/config/shared-flags.ts), so both processes agree on what is tracked.
 */
import { CONNECTION_FLAGS, POLICY_FLAGS, compatFlag, sharedConfigFrom } from '../shared/config/shared-flags.js';
import type { SharedConfig } from '../shared/config/shared-flags.js';
import { formatHelp, parseBool, parseFlags } from '../shared/config/flags.js';
import type { FlagSpec } from '../shared/config/flags.js';
import { ConfigstampError, ErrorCodes } from '../shared/errors.js';
import { ALERT_FLAGS, alertConfigFrom } from './alerts.js';
import type { AlertConfig } from './alerts.js';

export const WATCHER_FLAGS = [
  ...CONNECTION_FLAGS,
  ...POLICY_FLAGS,
  {
    name: 'debounce',
    type: 'duration',
    default: 500,
    min: 0,
    help: 'A quiet period: a workload rolls once its sources have had no further change for this long, so what one kubectl apply or helm upgrade sends gives one rollout (0: at once).',
  },
  {
    name: 'debounce-max',
    type: 'duration',
    default: 2_000,
    min: 0,
    help: 'However changes keep coming, a workload rolls at most this long after the first (or its own debounce, if longer).',
  },
  {
    name: 'roll-on-delete',
    aliases: ['reload-on-delete'],
    type: 'bool',
    default: false,
    envAliases: ['RELOAD_ON_DELETE'],
    help: 'Roll consumers when a source they recorded is deleted (off: pods could not start anyway).',
  },
  { name: 'patch-qps', type: 'int', default: 20, min: 1, help: 'Patches per second to workloads, across all workloads (token bucket refill rate).' },
  { name: 'patch-burst', type: 'int', default: 40, min: 1, help: 'Patches allowed at once before --patch-qps applies (token bucket size).' },
  {
    name: 'min-rollout-interval',
    type: 'duration',
    default: 10_000,
    min: 0,
    help: 'Churn guard: a workload is rolled at most once per interval; later changes wait and the latest state is applied.',
  },
  {
    name: 'rollout-budget',
    type: 'int',
    default: 0,
    min: 0,
    help: 'At most this many tracked workloads rolling at once, counted by their rollout status; the rest wait their turn (0: no budget).',
  },
  {
    name: 'rollout-budget-timeout',
    type: 'duration',
    default: 600_000,
    min: 0,
    help: 'A rollout holding a slot of the budget longer than this counts as failed and frees it (0: never).',
  },
  {
    name: 'wave-size',
    type: 'int',
    default: 0,
    min: 0,
    help: "A change consumed by more tracked workloads than this rolls them in waves of this many, each wave once the one before completed; a failure halts the rest (0: no waves). A source's or namespace's configstamp.io/wave-size overrides it.",
  },
  {
    name: 'wave-timeout',
    type: 'duration',
    default: 600_000,
    min: 0,
    help: "A rollout of an earlier wave not complete this long after it began counts as failed and halts the waves after it (0: only the workload's own failure, e.g. progressDeadlineSeconds).",
  },
  { name: 'workers', type: 'int', default: 4, min: 1, help: 'Workloads reconciled at once (one reconcile in flight per workload).' },
  { name: 'retry-base', type: 'duration', default: 200, min: 1, help: 'First retry delay after a 409, 429 or 5xx answer; doubles per attempt.' },
  { name: 'retry-max', type: 'duration', default: 30_000, min: 1, help: 'Longest retry delay.' },
  { name: 'fetch-concurrency', type: 'int', default: 16, min: 1, help: 'Source reads in flight at once for one reconcile.' },
  { name: 'fetch-deadline', type: 'duration', default: 10_000, min: 1, help: 'All source reads of one reconcile must finish within this.' },
  {
    name: 'leader-elect',
    aliases: ['enable-ha'],
    type: 'bool',
    default: true,
    envAliases: ['ENABLE_HA'],
    help: 'Elect a leader on a coordination.k8s.io/v1 Lease in --namespace; only the leader writes.',
  },
  {
    name: 'lease-name',
    aliases: ['leader-election-id'],
    type: 'string',
    required: true,
    default: 'configstamp-watcher',
    envAliases: ['LEADER_ELECTION_ID'],
    help: 'Name of the leader election Lease in --namespace.',
  },
  {
    name: 'lease-duration',
    aliases: ['leader-election-lease-duration'],
    type: 'duration',
    default: 15_000,
    min: 1_000,
    envAliases: ['LEADER_ELECTION_LEASE_DURATION'],
    help: 'How long a standby waits after the last renewal it saw before taking over.',
  },
  {
    name: 'renew-deadline',
    aliases: ['leader-election-renew-deadline'],
    type: 'duration',
    default: 10_000,
    min: 500,
    envAliases: ['LEADER_ELECTION_RENEW_DEADLINE'],
    help: 'A leader that cannot renew within this stops writing and exits.',
  },
  {
    name: 'retry-period',
    aliases: ['leader-election-retry-period'],
    type: 'duration',
    default: 2_000,
    min: 100,
    envAliases: ['LEADER_ELECTION_RETRY_PERIOD'],
    help: 'How often the leader renews and standbys try to acquire.',
  },
  {
    name: 'identity',
    type: 'string',
    default: '',
    envAliases: ['POD_NAME'],
    help: "This replica's identity in the Lease; empty uses HOSTNAME plus a random suffix.",
  },
  { name: 'health-host', type: 'string', default: '0.0.0.0', help: 'Address of the plain-HTTP operations server (/metrics, /healthz, /readyz).' },
  { name: 'health-port', type: 'port', default: 8080, help: 'Port of the operations server; 0 picks a free port (logged as "ops serving").' },
  {
    name: 'watch-timeout',
    type: 'duration',
    default: 300_000,
    min: 1_000,
    help: 'Each watch request ends after about this long and is resumed from its resourceVersion.',
  },
  { name: 'shutdown-timeout', type: 'duration', default: 10_000, min: 0, help: 'On the first signal, how long in-flight reconciles may finish.' },
  {
    name: 'webhook-url',
    type: 'string',
    default: '',
    envAliases: ['WEBHOOK_URL'],
    help: "Notify mode, as Reloader's: POST each consumed change to this URL (Reloader v2's JSON body) instead of rolling; what was notified is recorded on the workload, so nothing is sent twice or missed across restarts.",
  },
  ...ALERT_FLAGS,
  {
    name: 'metrics-count-by-namespace',
    type: 'string',
    default: '',
    envAliases: ['METRICS_COUNT_BY_NAMESPACE'],
    help: "enabled: also serve Reloader's reloader_reload_executed_total_by_namespace (a series per namespace).",
  },
  compatFlag({
    name: 'reload-strategy',
    type: 'enum',
    default: 'annotations',
    choices: ['env-vars', 'annotations', ''],
    help: 'Reloader: how a reload is written. configstamp always writes one pod-template annotation (its stamp), as the annotations strategy does.',
    notice: (v) =>
      v === 'annotations'
        ? undefined
        : 'configstamp rolls by writing its stamp annotation on the pod template (as the annotations strategy does), not STAKATER_* env vars; env vars Reloader already added stay and roll nothing',
  }),
  compatFlag({
    name: 'sync-after-restart',
    type: 'bool',
    default: true,
    help: 'Reloader: act on what changed while it was down. configstamp always does so at boot, and never restarts an unchanged workload.',
    notice: (v) =>
      v === false ? 'configstamp always syncs at boot: it rolls each workload whose consumed sources changed while it was down, and nothing else' : undefined,
  }),
  compatFlag({
    name: 'reload-on-create',
    type: 'bool',
    default: true,
    help: 'Reloader: a created source rolls its consumers. configstamp rolls a workload once when a source it was waiting for (absent at its last rollout) appears.',
    notice: (v) =>
      v === false
        ? 'configstamp still rolls a workload once when a source it was waiting for (absent at its last rollout) is created; a created source no workload was waiting for rolls nothing'
        : undefined,
  }),
  compatFlag({
    name: 'enable-restart-windows',
    type: 'bool',
    default: false,
    help: "Reloader (its restart-window proposal): honour restart windows. configstamp always honours a workload's or namespace's window (configstamp.io/restart-window, or Reloader's reloader.stakater.com/restart-window).",
  }),
  compatFlag({
    name: 'leader-election-namespace',
    type: 'string',
    default: '',
    help: 'Reloader v2: where the leader Lease lives. configstamp keeps it in --namespace.',
  }),
  compatFlag({
    name: 'leader-election-release-on-cancel',
    type: 'bool',
    default: true,
    help: 'Reloader v2: hand the Lease back on shutdown. configstamp always does.',
    notice: (v) => (v === false ? 'configstamp always hands the Lease back when it shuts down, so a standby takes over at once' : undefined),
  }),
  compatFlag({
    name: 'enable-pprof',
    type: 'bool',
    default: false,
    help: "Reloader: Go's pprof endpoint.",
    notice: (v) =>
      v === true
        ? 'configstamp runs on Node.js and serves no pprof endpoint; profile it with NODE_OPTIONS=--cpu-prof or --heapsnapshot-signal=SIGUSR2 (docs/watcher.md)'
        : undefined,
  }),
  compatFlag({ name: 'pprof-addr', type: 'string', default: ':6060', help: "Reloader: the pprof endpoint's address (no pprof endpoint here)." }),
  compatFlag({
    name: 'metrics-addr',
    type: 'string',
    default: ':9090',
    help: 'Reloader v2: the metrics address. configstamp serves /metrics with the probes on --health-port.',
    notice: () => 'configstamp serves /metrics, /healthz and /readyz on one port, --health-host:--health-port (default 0.0.0.0:8080)',
  }),
  compatFlag({
    name: 'health-addr',
    type: 'string',
    default: ':8080',
    help: 'Reloader v2: the probes address. configstamp serves them on --health-port.',
    notice: () => 'configstamp serves /metrics, /healthz and /readyz on one port, --health-host:--health-port (default 0.0.0.0:8080)',
  }),
] as const satisfies readonly FlagSpec[];

export interface WatcherConfig extends SharedConfig {
  readonly debounceMs: number;
  readonly debounceMaxMs: number;
  readonly rollOnDelete: boolean;
  readonly patchQps: number;
  readonly patchBurst: number;
  readonly minRolloutIntervalMs: number;
  /** At most this many tracked workloads rolling at once (0: no budget). */
  readonly rolloutBudget: number;
  /** A slot held longer than this is freed as failed (0: never). */
  readonly rolloutBudgetTimeoutMs: number;
  /** Workloads per wave of one change (0: no waves), and when a wave's rollout counts as failed. */
  readonly waveSize: number;
  readonly waveTimeoutMs: number;
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
  /** Notify mode: POST changes here instead of rolling; '' rolls. */
  readonly webhookUrl: string;
  readonly alerts: AlertConfig | null;
  /** Serve reloader_reload_executed_total_by_namespace (Reloader's METRICS_COUNT_BY_NAMESPACE=enabled). */
  readonly metricsByNamespace: boolean;
  /** One line each, logged at startup: Reloader settings honoured differently. */
  readonly warnings: readonly string[];
}

export const WATCHER_SUMMARY = 'Watch ConfigMaps, Secrets, workloads and namespaces; roll each consuming workload once per real change.';

export function watcherHelp(): string {
  return formatHelp('watcher', WATCHER_SUMMARY, WATCHER_FLAGS);
}

/** Parses argv and env; null means --help. Throws CS_ERR_CONFIG listing every problem. */
export function parseWatcherConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): WatcherConfig | null {
  const { values: v, help, warnings: flagWarnings, given } = parseFlags(WATCHER_FLAGS, argv, env);
  if (help) return null;
  const shared = sharedConfigFrom(v);
  const problems: string[] = [];
  const warnings = [...flagWarnings, ...shared.warnings];
  if (v['renew-deadline'] >= v['lease-duration'] || v['retry-period'] >= v['renew-deadline']) {
    problems.push('leader election needs --retry-period < --renew-deadline < --lease-duration');
  }
  const leaseNamespace = v['leader-election-namespace'];
  if (leaseNamespace !== '' && leaseNamespace !== v.namespace) {
    warnings.push(
      `--leader-election-namespace: the leader Lease is kept in configstamp's namespace ${String(v.namespace)} (--namespace), not ${leaseNamespace}`,
    );
  }
  const webhookUrl = v['webhook-url'].trim();
  if (webhookUrl !== '') {
    try {
      const url = new URL(webhookUrl);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') problems.push(`--webhook-url: "${url.protocol}" is not http: or https:`);
    } catch {
      problems.push('--webhook-url: not a URL');
    }
  }
  const alerts = alertConfigFrom(v, given, problems, warnings);
  if (webhookUrl !== '' && alerts !== null)
    warnings.push('--alert-webhook-url: no alerts are sent in notify mode (--webhook-url), as in Reloader: nothing rolls');
  if (problems.length > 0) throw new ConfigstampError(ErrorCodes.CONFIG, `invalid configuration:\n  - ${problems.join('\n  - ')}`);
  const identity = v.identity || `${env.HOSTNAME ?? 'configstamp'}-${Math.random().toString(36).slice(2, 8)}`;
  return Object.freeze({
    ...shared.config,
    debounceMs: v.debounce,
    debounceMaxMs: v['debounce-max'],
    rollOnDelete: v['roll-on-delete'],
    patchQps: v['patch-qps'],
    patchBurst: v['patch-burst'],
    minRolloutIntervalMs: v['min-rollout-interval'],
    rolloutBudget: v['rollout-budget'],
    rolloutBudgetTimeoutMs: v['rollout-budget-timeout'],
    waveSize: v['wave-size'],
    waveTimeoutMs: v['wave-timeout'],
    workers: v.workers,
    retryBaseMs: v['retry-base'],
    retryMaxMs: v['retry-max'],
    fetchConcurrency: v['fetch-concurrency'],
    fetchDeadlineMs: v['fetch-deadline'],
    leaderElect: v['leader-elect'],
    leaseName: v['lease-name'],
    leaseDurationMs: v['lease-duration'],
    renewDeadlineMs: v['renew-deadline'],
    retryPeriodMs: v['retry-period'],
    identity,
    healthHost: v['health-host'],
    healthPort: v['health-port'],
    watchTimeoutMs: v['watch-timeout'],
    shutdownTimeoutMs: v['shutdown-timeout'],
    webhookUrl,
    alerts: webhookUrl === '' ? alerts : null,
    metricsByNamespace: /^enabled$/i.test(v['metrics-count-by-namespace'].trim()) || parseBool(v['metrics-count-by-namespace']) === true,
    warnings: Object.freeze(warnings),
  });
}
