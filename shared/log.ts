/**
 * The root logger, made once in main and passed down; components take child loggers
 * (admission: uid, kind, namespace, name, operation, dryRun; reconcile: workload, trigger).
 * Nothing logs objects from the API: only names, digests and error messages, so no Secret
 * value can reach a log line.
 */
import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';

export type { Logger } from 'pino';

export function createLogger(level: string, component: string, destination?: DestinationStream): Logger {
  const options = { level, base: { component }, timestamp: pino.stdTimeFunctions.isoTime };
  return destination ? pino(options, destination) : pino(options);
}
