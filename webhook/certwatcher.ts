/**
 * Serving certificate from files, reloaded when they change (controller-runtime's certwatcher):
 * fs.watch on the files' directories (a Secret volume swaps a `..data` symlink, so the files
 * themselves are replaced, not written) plus a polling fallback for file systems that miss events.
 * A new pair is checked (the key must match the certificate) before it replaces the one in use;
 * a half-written pair keeps the old one. Callers apply it with `server.setSecureContext`, which
 * affects new handshakes only, so no connection is dropped.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createSecureContext } from 'node:tls';
import { ConfigstampError, ErrorCodes, errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import type { WebhookMetrics } from './metrics.js';

export interface KeyPair {
  readonly cert: Buffer;
  readonly key: Buffer;
}

export interface CertWatcherOptions {
  readonly certFile: string;
  readonly keyFile: string;
  readonly pollIntervalMs: number;
  readonly log: Logger;
  readonly metrics: WebhookMetrics;
  /** Called with every new, valid pair (not for the same bytes again). */
  readonly onChange: (pair: KeyPair) => void;
}

/** Coalesces a burst of file events (cert then key written) into one reload. */
const DEBOUNCE_MS = 50;

export async function readKeyPair(certFile: string, keyFile: string): Promise<KeyPair & { notAfter: Date; fingerprint: string }> {
  let cert: Buffer;
  let key: Buffer;
  try {
    [cert, key] = await Promise.all([readFile(certFile), readFile(keyFile)]);
  } catch (err) {
    throw new ConfigstampError(ErrorCodes.TLS, `reading serving certificate: ${errorMessage(err)}`, { cause: err });
  }
  try {
    createSecureContext({ cert, key }); // throws when the key does not match the certificate
    const x509 = new X509Certificate(cert);
    return { cert, key, notAfter: new Date(x509.validTo), fingerprint: x509.fingerprint256 };
  } catch (err) {
    throw new ConfigstampError(ErrorCodes.TLS, `serving certificate ${certFile} / key ${keyFile} unusable: ${errorMessage(err)}`, { cause: err });
  }
}

export class CertWatcher {
  private current: string | undefined;
  private watchers: FSWatcher[] = [];
  private poll: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private lastProblem = '';
  private loading: Promise<boolean> | undefined;
  private again = false;

  constructor(private readonly options: CertWatcherOptions) {}

  /** Whether a valid pair has been loaded. */
  get loaded(): boolean {
    return this.current !== undefined;
  }

  /** Reads the files; true when a new valid pair was loaded. Never throws. */
  load(): Promise<boolean> {
    if (this.loading) {
      this.again = true; // files changed while reading: read once more afterwards
      return this.loading;
    }
    this.loading = this.loadOnce().finally(() => {
      this.loading = undefined;
      if (this.again) {
        this.again = false;
        void this.load();
      }
    });
    return this.loading;
  }

  private async loadOnce(): Promise<boolean> {
    const { log, metrics } = this.options;
    try {
      const pair = await readKeyPair(this.options.certFile, this.options.keyFile);
      const digest = createHash('sha256').update(pair.cert).update('\0').update(pair.key).digest('hex');
      if (digest === this.current) return false;
      this.options.onChange({ cert: pair.cert, key: pair.key });
      const first = this.current === undefined;
      this.current = digest;
      this.lastProblem = '';
      metrics.certReloads.inc({ result: 'loaded' });
      metrics.certNotAfter.set(Math.floor(pair.notAfter.getTime() / 1000));
      log.info(
        { fingerprint: pair.fingerprint, notAfter: pair.notAfter.toISOString(), certFile: this.options.certFile },
        first ? 'serving certificate loaded' : 'serving certificate reloaded',
      );
      return true;
    } catch (err) {
      metrics.certReloads.inc({ result: 'failed' });
      const problem = errorMessage(err);
      if (problem !== this.lastProblem) {
        log.warn({ code: ErrorCodes.TLS, err: problem, serving: this.current ? 'previous certificate' : 'none (not ready)' }, 'serving certificate not loaded');
      }
      this.lastProblem = problem;
      return false;
    }
  }

  /** Starts watching both files' directories and polling. */
  start(): void {
    const dirs = new Set([path.dirname(path.resolve(this.options.certFile)), path.dirname(path.resolve(this.options.keyFile))]);
    for (const dir of dirs) {
      try {
        const watcher = watch(dir, { persistent: false }, () => this.schedule());
        watcher.on('error', (err) => this.options.log.debug({ err: errorMessage(err), dir }, 'file watch failed; polling continues'));
        this.watchers.push(watcher);
      } catch (err) {
        this.options.log.warn({ err: errorMessage(err), dir }, 'cannot watch certificate directory; relying on polling');
      }
    }
    this.poll = setInterval(() => void this.load(), this.options.pollIntervalMs);
    this.poll.unref();
  }

  private schedule(): void {
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.load(), DEBOUNCE_MS);
    this.debounce.unref();
  }

  stop(): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
    if (this.poll) clearInterval(this.poll);
    if (this.debounce) clearTimeout(this.debounce);
  }
}
