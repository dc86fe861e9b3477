/**
 * Runs a configstamp subcommand as a real child process (through tsx, no build step, or compiled
 * for benchmarks), keeps
 * every log line it prints so tests can assert on them (a Secret canary must never appear), and
 * stops it with SIGTERM, then SIGKILL. Children are killed if the test process exits.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { CERTS_FLAGS } from '../../certs/main.js';
import type { FlagSpec } from '../../shared/config/flags.js';
import { WATCHER_FLAGS } from '../../watcher/config.js';
import { WEBHOOK_FLAGS } from '../../webhook/config.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ENTRY = path.join(ROOT, 'bin/configstamp.ts');
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** The variables configstamp reads besides CONFIGSTAMP_*: KUBECONFIG and Reloader's names. */
const READ_ENV = new Set(['KUBECONFIG', ...([...WATCHER_FLAGS, ...WEBHOOK_FLAGS, ...CERTS_FLAGS] as readonly FlagSpec[]).flatMap((s) => s.envAliases ?? [])]);

/** The test's environment minus configstamp's own settings, so only what a test passes applies. */
function inheritedEnv(): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CONFIGSTAMP_') && !READ_ENV.has(k)));
}

export interface ConfigstampProcess {
  readonly child: ChildProcess;
  /** Every line written to stdout and stderr so far. */
  readonly lines: string[];
  /** Parsed JSON log records (non-JSON lines are skipped). */
  records(): Record<string, unknown>[];
  /** Resolves with the first record for which `match` is true; rejects after timeoutMs. */
  waitFor(match: (record: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves with the exit code once the process ends. */
  readonly exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const COMPILED_ENTRY = path.join(ROOT, 'dist/bin/configstamp.js');
/** The node flags of the image's ENTRYPOINT (Dockerfile); a unit test keeps the two equal. */
export const PRODUCTION_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2'];

/**
 * Compiles the product (`npm run build`, into dist/) so a benchmark can run what production runs:
 * plain node on compiled JavaScript, without tsx's loader in memory.
 */
export function buildCompiled(): void {
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')], {
    cwd: ROOT,
    stdio: 'inherit',
  });
}

export interface StartOptions {
  /** Run dist/ (see buildCompiled) instead of the TypeScript sources through tsx. */
  readonly compiled?: boolean;
}

export function startConfigstamp(args: readonly string[], env: Readonly<Record<string, string>> = {}, options: StartOptions = {}): ConfigstampProcess {
  const entry = options.compiled ? [...PRODUCTION_NODE_FLAGS, COMPILED_ENTRY] : ['--import', 'tsx', ENTRY];
  const child = spawn(process.execPath, [...entry, ...args], {
    cwd: ROOT,
    env: { ...inheritedEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  const onData =
    (buffer: { rest: string }) =>
    (chunk: Buffer): void => {
      buffer.rest += chunk.toString('utf8');
      const parts = buffer.rest.split('\n');
      buffer.rest = parts.pop() ?? '';
      for (const line of parts) if (line.trim()) lines.push(line);
      for (const w of waiters) w();
    };
  child.stdout!.on('data', onData({ rest: '' }));
  child.stderr!.on('data', onData({ rest: '' }));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      live.delete(child);
      for (const w of waiters) w();
      resolve(code);
    }),
  );
  const records = (): Record<string, unknown>[] =>
    lines.flatMap((line) => {
      try {
        const parsed = JSON.parse(line) as unknown;
        return typeof parsed === 'object' && parsed !== null ? [parsed as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    });
  const waitFor = (match: (record: Record<string, unknown>) => boolean, timeoutMs = 30_000): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const found = records().find(match);
        if (found) {
          cleanup();
          resolve(found);
        } else if (child.exitCode !== null || child.signalCode !== null) {
          cleanup();
          reject(
            new Error(`configstamp ${args[0]} exited (${child.exitCode ?? child.signalCode}) before the awaited log line:\n${lines.slice(-20).join('\n')}`),
          );
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for a log line from configstamp ${args[0]}:\n${lines.slice(-20).join('\n')}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  return { child, lines, records, waitFor, exited, stop };
}
