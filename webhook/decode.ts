/**
 * Decoding an AdmissionReview (controller-runtime's decode.go). The body is untrusted: anything
 * may be missing or of the wrong type. A review that cannot be answered at all (not JSON, not an
 * admission.k8s.io/v1 AdmissionReview, no `request`, no readable uid) is a 400; one whose uid is
 * readable but whose other fields are wrong is answered "allowed" with that uid and a warning, so
 * the API server always gets an answer it can match to its request.
 */
import { asRecord, asString } from '../shared/core/json.js';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';
export const ADMISSION_KIND = 'AdmissionReview';

export interface GroupVersionResource {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
}

/** The fields of AdmissionRequest the webhook reads, type-checked. */
export interface AdmissionRequest {
  readonly uid: string;
  readonly resource: GroupVersionResource;
  readonly subResource: string;
  readonly name: string;
  readonly namespace: string;
  readonly operation: string;
  readonly dryRun: boolean;
  readonly object: unknown;
  readonly oldObject: unknown;
}

export type Decoded =
  | { readonly ok: true; readonly request: AdmissionRequest }
  /** Not answerable as a review: reply with this HTTP status and a JSON error. */
  | { readonly ok: false; readonly uid: undefined; readonly status: number; readonly message: string }
  /** Answerable: reply "allowed" with this uid and the message as a warning. */
  | { readonly ok: false; readonly uid: string; readonly status: 200; readonly message: string };

const OPERATIONS = new Set(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);

function reject(message: string, status = 400): Decoded {
  return { ok: false, uid: undefined, status, message };
}

function optionalString(record: Record<string, unknown>, field: string, problems: string[]): string {
  const value = record[field];
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') problems.push(`request.${field} is not a string`);
  return typeof value === 'string' ? value : '';
}

function decodeResource(value: unknown, problems: string[]): GroupVersionResource {
  const record = asRecord(value);
  const group = asString(record?.group) ?? '';
  const version = asString(record?.version);
  const resource = asString(record?.resource);
  if (record === undefined || version === undefined || resource === undefined || (record.group !== undefined && typeof record.group !== 'string')) {
    problems.push('request.resource is not a {group, version, resource}');
  }
  return { group, version: version ?? '', resource: resource ?? '' };
}

/** An object field: absent (null) is allowed; anything else must be a JSON object. */
function objectField(record: Record<string, unknown>, field: string, problems: string[]): unknown {
  const value = record[field];
  if (value === undefined || value === null) return null;
  if (asRecord(value) === undefined) problems.push(`request.${field} is not an object`);
  return asRecord(value) ?? null;
}

/** Decodes a parsed JSON body. */
export function decodeReview(body: unknown): Decoded {
  const review = asRecord(body);
  if (review === undefined) return reject('body is not a JSON object');
  if (review.apiVersion !== ADMISSION_API_VERSION || review.kind !== ADMISSION_KIND) {
    return reject(`expected apiVersion ${ADMISSION_API_VERSION}, kind ${ADMISSION_KIND}; got ${describe(review.apiVersion)}, ${describe(review.kind)}`);
  }
  const request = asRecord(review.request);
  if (request === undefined) return reject('AdmissionReview has no request object');
  const uid = request.uid;
  if (typeof uid !== 'string' || uid === '' || uid.length > 256) return reject('request.uid is missing or not a non-empty string');

  const problems: string[] = [];
  const resource = decodeResource(request.resource, problems);
  const operation = optionalString(request, 'operation', problems);
  if (!OPERATIONS.has(operation)) problems.push(`request.operation ${describe(request.operation)} is not CREATE, UPDATE, DELETE or CONNECT`);
  const subResource = optionalString(request, 'subResource', problems);
  const name = optionalString(request, 'name', problems);
  const namespace = optionalString(request, 'namespace', problems);
  if (request.dryRun !== undefined && request.dryRun !== null && typeof request.dryRun !== 'boolean') problems.push('request.dryRun is not a boolean');
  const object = objectField(request, 'object', problems);
  const oldObject = objectField(request, 'oldObject', problems);
  if (problems.length > 0) return { ok: false, uid, status: 200, message: `malformed AdmissionReview: ${problems.join('; ')}` };
  return {
    ok: true,
    request: { uid, resource, subResource, name, namespace, operation, dryRun: request.dryRun === true, object, oldObject },
  };
}

/** Parses the raw body text; JSON syntax errors are a 400 (no uid can be read). */
export function decodeReviewText(text: string): Decoded {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return reject('body is not valid JSON');
  }
  return decodeReview(parsed);
}

/** A short, safe rendering of an unexpected value for an error message (never a whole object). */
function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
  if (value === null || value === undefined) return String(value);
  return Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : typeof value;
}
