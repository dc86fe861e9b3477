/**
 * Waiting for components to become ready: poll a probe until it passes, but give up at once when
 * the component has already exited (a bad flag fails in milliseconds; nobody should wait the
 * full timeout for it), and say which log to read either way.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { logTail, type Supervised } from './supervise.js';

export interface TlsClient {
  readonly caPem: string;
  readonly certPem?: string;
  readonly keyPem?: string;
}

export interface HttpReply {
  readonly status: number;
  readonly body: string;
}

/** One GET with a short timeout; TLS (with the given CA and client cert) for https URLs. */
export function httpGet(url: string, tls?: TlsClient, timeoutMs = 2000): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const options = { timeout: timeoutMs, ...(tls ? { ca: tls.caPem, cert: tls.certPem, key: tls.keyPem } : {}) };
    const req = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export interface WaitOptions {
  readonly timeoutMs: number;
  readonly intervalMs?: number;
  /** Fail fast, with its log tail, if this component exits while we wait. */
  readonly component?: Supervised;
}

/**
 * Polls `probe` until it returns true. Probe errors count as "not yet"; the last one is
 * reported on timeout.
 */
export async function waitFor(what: string, probe: () => Promise<boolean>, options: WaitOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 100;
  let lastError = '';
  for (;;) {
    const component = options.component;
    if (component?.hasExited()) {
      throw new Error(
        `${component.name} exited (${String(await component.exited)}) while waiting for ${what}; log ${component.logPath}:\n${logTail(component.logPath)}`,
      );
    }
    try {
      if (await probe()) return;
      lastError = '';
    } catch (err) {
      lastError = (err as Error).message;
    }
    if (Date.now() >= deadline) {
      const log = component ? `; log ${component.logPath}:\n${logTail(component.logPath)}` : '';
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError})` : ''}${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}
