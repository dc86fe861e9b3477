/**
 * configstamp's error catalogue: every error a user may see has a stable code, so logs, metrics
 * and docs can name it; docs/errors.md lists each (a unit test keeps the two in step). Catch at
 * the boundary, log once, never log and rethrow.
 */

export const ErrorCodes = {
  CONFIG: 'CS_ERR_CONFIG',
  KUBECONFIG: 'CS_ERR_KUBECONFIG',
  HASH_KEY: 'CS_ERR_HASH_KEY',
  SOURCE_READ: 'CS_ERR_SOURCE_READ',
  DEADLINE: 'CS_ERR_DEADLINE',
  API: 'CS_ERR_API',
  TLS: 'CS_ERR_TLS',
  ADMISSION_INPUT: 'CS_ERR_ADMISSION_INPUT',
  NOT_FOUND: 'CS_ERR_NOT_FOUND',
  PKI: 'CS_ERR_PKI',
  INTERNAL: 'CS_ERR_INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class ConfigstampError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigstampError';
    this.code = code;
  }
}

/** The code of any thrown value, for metrics labels and log fields. */
export function errorCode(err: unknown): ErrorCode {
  return err instanceof ConfigstampError ? err.code : ErrorCodes.INTERNAL;
}

/** A message safe to log: our own errors' messages never carry source data. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
