/**
 * The webhook's Prometheus metrics, in a registry of their own (served on the plain-HTTP
 * operations port). Labels are kinds, operations, results and error codes: never names or data.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What became of one admission. */
export type AdmissionResult = 'stamped' | 'restored' | 'unchanged' | 'skipped' | 'failed_open' | 'invalid';

export interface WebhookMetrics {
  readonly registry: Registry;
  readonly admissions: Counter<'kind' | 'operation' | 'result'>;
  readonly failures: Counter<'code'>;
  readonly admissionSeconds: Histogram<'kind' | 'result'>;
  readonly sourceReadSeconds: Histogram;
  readonly badRequests: Counter<'status'>;
  readonly certReloads: Counter<'result'>;
  readonly certNotAfter: Gauge;
  readonly hashKeyLoaded: Gauge;
}

export function createWebhookMetrics(registry = new Registry()): WebhookMetrics {
  const registers = [registry];
  return {
    registry,
    admissions: new Counter({
      name: 'configstamp_webhook_admissions_total',
      help: 'Admission reviews answered, by workload kind (or "other"), operation and result.',
      labelNames: ['kind', 'operation', 'result'],
      registers,
    }),
    failures: new Counter({
      name: 'configstamp_webhook_failures_total',
      help: 'Admissions allowed unchanged because of an internal failure (fail open), by error code.',
      labelNames: ['code'],
      registers,
    }),
    admissionSeconds: new Histogram({
      name: 'configstamp_webhook_admission_duration_seconds',
      help: 'Time to answer one admission review, from decoded request to response.',
      labelNames: ['kind', 'result'],
      registers,
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    }),
    sourceReadSeconds: new Histogram({
      name: 'configstamp_webhook_source_read_duration_seconds',
      help: 'Time spent reading the tracked ConfigMaps and Secrets of one admission from the API server.',
      registers,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    }),
    badRequests: new Counter({
      name: 'configstamp_webhook_bad_requests_total',
      help: 'Requests to /mutate answered with a 4xx (not a readable AdmissionReview), by HTTP status.',
      labelNames: ['status'],
      registers,
    }),
    certReloads: new Counter({
      name: 'configstamp_webhook_certificate_loads_total',
      help: 'Loads of the serving certificate from its files, by result (loaded, failed).',
      labelNames: ['result'],
      registers,
    }),
    certNotAfter: new Gauge({
      name: 'configstamp_webhook_certificate_expiry_timestamp_seconds',
      help: 'notAfter of the serving certificate in use (Unix seconds).',
      registers,
    }),
    hashKeyLoaded: new Gauge({
      name: 'configstamp_webhook_hash_key_loaded',
      help: '1 once the per-cluster hash key is loaded; 0 while admissions fail open for want of it.',
      registers,
    }),
  };
}
