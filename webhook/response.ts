/**
 * AdmissionReview responses (controller-runtime's response.go). The webhook only ever allows:
 * with a JSON Patch, or unchanged, optionally with warnings the API server shows to the client.
 */
import type { JsonPatchOp } from '../shared/core/patch.js';
import { ADMISSION_API_VERSION, ADMISSION_KIND } from './decode.js';

export interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: true;
  readonly patchType?: 'JSONPatch';
  /** base64 of the JSON Patch. */
  readonly patch?: string;
  readonly warnings?: readonly string[];
}

export interface AdmissionReviewResponse {
  readonly apiVersion: typeof ADMISSION_API_VERSION;
  readonly kind: typeof ADMISSION_KIND;
  readonly response: AdmissionResponse;
}

/** The API server shows warnings verbatim; keep them one short line each. */
const MAX_WARNING_LENGTH = 240;

function cleanWarnings(warnings: readonly string[]): string[] {
  return warnings.map((w) => {
    const line = w.replace(/[\r\n\t]+/g, ' ');
    return line.length > MAX_WARNING_LENGTH ? `${line.slice(0, MAX_WARNING_LENGTH - 1)}…` : line;
  });
}

export function allowed(uid: string, warnings: readonly string[] = []): AdmissionResponse {
  return warnings.length > 0 ? { uid, allowed: true, warnings: cleanWarnings(warnings) } : { uid, allowed: true };
}

/** Allowed with a patch; an empty patch is the same as allowed(). */
export function patched(uid: string, ops: readonly JsonPatchOp[], warnings: readonly string[] = []): AdmissionResponse {
  if (ops.length === 0) return allowed(uid, warnings);
  const patch = Buffer.from(JSON.stringify(ops), 'utf8').toString('base64');
  return { ...allowed(uid, warnings), patchType: 'JSONPatch', patch };
}

export function reviewResponse(response: AdmissionResponse): AdmissionReviewResponse {
  return { apiVersion: ADMISSION_API_VERSION, kind: ADMISSION_KIND, response };
}
