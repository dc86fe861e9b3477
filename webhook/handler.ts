/**
 * The admission handler (controller-runtime's webhook.go): one decoded request in, one response
 * out, never a throw. It wraps admit() with a per-admission child logger, the metrics and a last
 * line of defence that turns any unexpected exception into an allowed response with a warning.
 */
import { ErrorCodes, errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { admit, failOpenWarning } from './admit.js';
import type { AdmitDeps, AdmitOutcome } from './admit.js';
import type { AdmissionRequest } from './decode.js';
import type { WebhookMetrics } from './metrics.js';
import { patched } from './response.js';
import type { AdmissionResponse } from './response.js';

export type AdmissionHandler = (request: AdmissionRequest) => Promise<AdmissionResponse>;

function objectName(request: AdmissionRequest): string {
  const metadata = (request.object as { metadata?: { name?: unknown; generateName?: unknown } } | null)?.metadata;
  if (request.name) return request.name;
  if (typeof metadata?.name === 'string') return metadata.name;
  return typeof metadata?.generateName === 'string' ? `${metadata.generateName}*` : '';
}

export function createAdmissionHandler(deps: AdmitDeps, log: Logger, metrics: WebhookMetrics): AdmissionHandler {
  return async (request) => {
    const started = performance.now();
    let result: AdmitOutcome;
    try {
      result = await admit(request, deps);
    } catch (err) {
      // admit() returns failures as outcomes; reaching here is a bug. Still allow, still answer.
      const message = `unexpected error: ${errorMessage(err)}`;
      result = {
        result: 'failed_open',
        reason: 'internal error',
        kind: undefined,
        patch: [],
        warnings: [failOpenWarning(ErrorCodes.INTERNAL, message)],
        error: { code: ErrorCodes.INTERNAL, message },
      };
    }
    const kindLabel = result.kind?.kind ?? 'other';
    const seconds = (performance.now() - started) / 1000;
    metrics.admissions.inc({ kind: kindLabel, operation: request.operation, result: result.result });
    metrics.admissionSeconds.observe({ kind: kindLabel, result: result.result }, seconds);
    if (result.result !== 'skipped' || log.isLevelEnabled('debug')) {
      const admissionLog = log.child({
        uid: request.uid,
        kind: kindLabel,
        namespace: request.namespace,
        name: objectName(request),
        operation: request.operation,
        dryRun: request.dryRun,
      });
      const fields = { result: result.result, reason: result.reason, ms: Math.round(seconds * 1e4) / 10 };
      if (result.error) {
        metrics.failures.inc({ code: result.error.code });
        admissionLog.warn({ ...fields, code: result.error.code, err: result.error.message }, 'admission failed open');
      } else if (result.result === 'skipped') {
        admissionLog.debug(fields, 'admission');
      } else {
        admissionLog.info(fields, 'admission');
      }
    }
    return patched(request.uid, result.patch, result.warnings);
  };
}
