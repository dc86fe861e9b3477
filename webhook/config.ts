/**
 * The webhook's configuration, parsed once from flags and environment, validated (every problem
 * reported at once) and frozen. The policy flags are the watcher's own (shared/config/shared-flags.ts),
 * so both processes agree on what is tracked.
 */
import { CONNECTION_FLAGS, POLICY_FLAGS, sharedConfigFrom } from '../shared/config/shared-flags.js';
import type { SharedConfig } from '../shared/config/shared-flags.js';
import { formatHelp, parseFlags } from '../shared/config/flags.js';
import type { FlagSpec } from '../shared/config/flags.js';

/** controller-runtime's cap: an object (up to 1.5 MiB in etcd) twice, plus the envelope. */
export const DEFAULT_MAX_REQUEST_BYTES = 7 * 1024 * 1024;

export const WEBHOOK_FLAGS = [
  ...CONNECTION_FLAGS,
  ...POLICY_FLAGS,
  { name: 'host', type: 'string', default: '0.0.0.0', help: 'Address the HTTPS admission server binds.' },
  { name: 'port', type: 'port', default: 8443, help: 'HTTPS port for POST /mutate, /healthz, /readyz; 0 picks a free port (logged as "serving").' },
  { name: 'metrics-host', type: 'string', default: '0.0.0.0', help: 'Address the plain-HTTP operations server (/metrics, /healthz, /readyz) binds.' },
  { name: 'metrics-port', type: 'port', default: 8080, help: 'Plain-HTTP port for /metrics; 0 picks a free port (logged as "ops serving").' },
  {
    name: 'cert-file',
    type: 'string',
    required: true,
    default: '/etc/configstamp/tls/tls.crt',
    help: 'Serving certificate (PEM, chain allowed); reloaded when it changes.',
  },
  {
    name: 'key-file',
    type: 'string',
    required: true,
    default: '/etc/configstamp/tls/tls.key',
    help: 'Private key of the serving certificate (PEM); reloaded when it changes.',
  },
  {
    name: 'cert-poll-interval',
    type: 'duration',
    default: 10_000,
    min: 100,
    help: 'How often the certificate files are re-read in case a file-system event was missed.',
  },
  {
    name: 'fetch-deadline',
    type: 'duration',
    default: 2_000,
    min: 1,
    help: 'All source reads of one admission must finish within this; keep it well inside the webhook timeoutSeconds.',
  },
  { name: 'fetch-concurrency', type: 'int', default: 8, min: 1, help: 'Source reads in flight at once for one admission.' },
  { name: 'max-request-bytes', type: 'int', default: DEFAULT_MAX_REQUEST_BYTES, min: 1024, help: 'Largest AdmissionReview body accepted (413 above it).' },
  {
    name: 'hash-key-retry',
    type: 'duration',
    default: 5_000,
    min: 10,
    help: 'How often to retry loading the hash key while it is missing (admissions fail open meanwhile).',
  },
  { name: 'shutdown-timeout', type: 'duration', default: 10_000, min: 0, help: 'On the first signal, how long to let in-flight admissions finish.' },
] as const satisfies readonly FlagSpec[];

/** `namespaces`: admissions outside them are allowed unchanged. */
export interface WebhookConfig extends SharedConfig {
  /** One line each, logged at startup: Reloader settings honoured differently. */
  readonly warnings: readonly string[];
  readonly host: string;
  readonly port: number;
  readonly metricsHost: string;
  readonly metricsPort: number;
  readonly certFile: string;
  readonly keyFile: string;
  readonly certPollIntervalMs: number;
  readonly fetchDeadlineMs: number;
  readonly fetchConcurrency: number;
  readonly maxRequestBytes: number;
  readonly hashKeyRetryMs: number;
  readonly shutdownTimeoutMs: number;
}

export const WEBHOOK_SUMMARY = 'Serve the mutating admission webhook: stamp tracked workloads at admission, never deny.';

export function webhookHelp(): string {
  return formatHelp('webhook', WEBHOOK_SUMMARY, WEBHOOK_FLAGS);
}

/** Parses argv and env; `null` means --help was asked for. Throws CS_ERR_CONFIG listing every problem. */
export function parseWebhookConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): WebhookConfig | null {
  const parsed = parseFlags(WEBHOOK_FLAGS, argv, env);
  if (parsed.help) return null;
  const v = parsed.values;
  const shared = sharedConfigFrom(v);
  return Object.freeze({
    ...shared.config,
    warnings: Object.freeze([...parsed.warnings, ...shared.warnings]),
    host: v.host,
    port: v.port,
    metricsHost: v['metrics-host'],
    metricsPort: v['metrics-port'],
    certFile: v['cert-file'],
    keyFile: v['key-file'],
    certPollIntervalMs: v['cert-poll-interval'],
    fetchDeadlineMs: v['fetch-deadline'],
    fetchConcurrency: v['fetch-concurrency'],
    maxRequestBytes: v['max-request-bytes'],
    hashKeyRetryMs: v['hash-key-retry'],
    shutdownTimeoutMs: v['shutdown-timeout'],
  });
}
