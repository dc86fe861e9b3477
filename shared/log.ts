/**
 * The root logger, made once in main and passed down; components take child loggers
 * (admission: uid, kind, namespace, name, operation, dryRun; reconcile: workload, trigger).
 * Nothing logs objects from the API: only names, digests and error messages, so no Secret
 * value can reach a log line.
 *
 * Two formats: JSON lines (the default, pino's own), and `text`, logfmt lines as Reloader's
 * logrus writes them with `--log-format=""` (`time=… level=info msg="…" key=value`), which people
 * read and log pipelines still parse.
 */
import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';

export type { Logger } from 'pino';

export type LogFormat = 'json' | 'text';

/** pino's level names, and logrus's (Reloader's) that differ from them. */
export const LOG_LEVELS: readonly string[] = ['trace', 'debug', 'info', 'warn', 'warning', 'error', 'fatal', 'panic', 'silent'];

/** A level as pino names it: logrus's `warning` is `warn`, its `panic` (above fatal) is `fatal`. */
export function pinoLevel(level: string): string {
  const l = level.toLowerCase();
  return l === 'warning' ? 'warn' : l === 'panic' ? 'fatal' : l;
}

/** A logger writing to `destination` (stdout when absent) in `format`. */
export function createLogger(level: string, component: string, destination?: DestinationStream, format: LogFormat = 'json'): Logger {
  const options = { level: pinoLevel(level), base: { component }, timestamp: pino.stdTimeFunctions.isoTime };
  if (format === 'text') return pino(options, logfmtStream(destination ?? { write: (s: string) => void process.stdout.write(s) }));
  return destination ? pino(options, destination) : pino(options);
}

const LEVEL_NAMES: Readonly<Record<number, string>> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warning', 50: 'error', 60: 'fatal' };

/** A value as logfmt writes it: bare when it is a plain word, else a JSON string. */
function logfmtValue(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return /^[\w.:/@+-]+$/.test(text) ? text : JSON.stringify(text);
}

/** Turns pino's JSON lines into logfmt lines: time, level, msg first, then the rest in order. */
export function formatLogfmt(line: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const { time, level, msg, ...rest } = record;
  const parts = [`time=${logfmtValue(time ?? '')}`, `level=${LEVEL_NAMES[level as number] ?? String(level)}`, `msg=${JSON.stringify(String(msg ?? ''))}`];
  for (const [key, value] of Object.entries(rest)) {
    if (key === 'pid' || key === 'hostname' || value === undefined) continue;
    parts.push(`${key}=${logfmtValue(value)}`);
  }
  return `${parts.join(' ')}\n`;
}

function logfmtStream(out: DestinationStream): DestinationStream {
  return { write: (line: string) => out.write(formatLogfmt(line)) };
}
