/**
 * Delivers alert messages to an HTTP(S) endpoint without ever holding up a rollout: `send` only
 * queues (a bounded queue; what does not fit is dropped, counted and logged), and one background
 * loop posts each message with a timeout, retrying network errors, 429 and 5xx with exponential
 * backoff. An optional HTTP proxy is used through CONNECT for https targets and as a forward proxy
 * for http ones, as Go's http.ProxyURL (Reloader's ALERT_WEBHOOK_PROXY) does.
 */
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import type { Socket } from 'node:net';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';

export interface HttpPost {
  readonly body: string;
  readonly contentType: string;
}

export interface AlertSenderOptions {
  readonly url: string;
  readonly proxy?: string | undefined;
  readonly timeoutMs: number;
  readonly attempts: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  readonly capacity: number;
  readonly log: Logger;
  /** Called once per message with how it ended. */
  readonly onResult: (result: 'sent' | 'failed' | 'dropped') => void;
  /** Trust for the receiver's certificate (tests); the system's otherwise. */
  readonly ca?: string | Buffer | undefined;
  readonly sleep?: (ms: number) => Promise<void>;
}

class HttpStatusError extends Error {
  constructor(readonly status: number) {
    super(`receiver answered ${status}`);
  }
}

function retriable(err: unknown): boolean {
  return !(err instanceof HttpStatusError) || err.status === 429 || err.status >= 500;
}

export class AlertSender {
  private readonly queue: HttpPost[] = [];
  private running = false;
  private closed = false;
  private idle: Promise<void> = Promise.resolve();
  private readonly target: URL;
  private readonly proxy: URL | undefined;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: AlertSenderOptions) {
    this.target = new URL(options.url);
    this.proxy = options.proxy ? new URL(options.proxy) : undefined;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms).unref()));
  }

  /** Queues a message; never waits. */
  send(post: HttpPost): void {
    if (this.closed || this.queue.length >= this.options.capacity) {
      this.options.onResult('dropped');
      this.options.log.warn({ queued: this.queue.length, capacity: this.options.capacity }, 'alert dropped: the send queue is full');
      return;
    }
    this.queue.push(post);
    if (!this.running) {
      this.running = true;
      this.idle = this.drain();
    }
  }

  /** Posts one message now, once; throws when it was not accepted (notify mode retries the reconcile). */
  async postNow(post: HttpPost): Promise<void> {
    await this.post(post);
  }

  /** Resolves when everything queued has been sent or given up (tests, shutdown). */
  async flush(): Promise<void> {
    await this.idle;
  }

  /** Stops taking messages; what is queued is still tried until `flush` or the process ends. */
  close(): void {
    this.closed = true;
  }

  private async drain(): Promise<void> {
    for (let post = this.queue.shift(); post !== undefined; post = this.queue.shift()) {
      await this.deliver(post);
    }
    this.running = false;
  }

  private async deliver(post: HttpPost): Promise<void> {
    const { attempts, retryBaseMs, retryMaxMs, log } = this.options;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.post(post);
        this.options.onResult('sent');
        return;
      } catch (err) {
        if (attempt >= attempts || !retriable(err)) {
          this.options.onResult('failed');
          log.warn({ err: errorMessage(err), attempts: attempt, host: this.target.host }, 'alert not delivered');
          return;
        }
        const delay = Math.min(retryMaxMs, retryBaseMs * 2 ** (attempt - 1));
        log.debug({ err: errorMessage(err), attempt, delayMs: delay }, 'alert delivery failed; retrying');
        await this.sleep(delay);
      }
    }
  }

  private async post(post: HttpPost): Promise<void> {
    const secure = this.target.protocol === 'https:';
    // One connection per message, closed after it (as Reloader's client, with keep-alives off):
    // alerts are rare, and an idle pooled socket through a tunnel would only linger.
    const headers = {
      'content-type': post.contentType,
      'content-length': Buffer.byteLength(post.body).toString(),
      'user-agent': 'configstamp',
      connection: 'close',
    };
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), this.options.timeoutMs);
    try {
      let request: http.ClientRequest;
      if (this.proxy && !secure) {
        // A forward proxy takes the absolute URL as the request target.
        request = http.request({
          host: this.proxy.hostname,
          port: this.proxy.port || 80,
          method: 'POST',
          path: this.target.href,
          headers: { ...headers, host: this.target.host },
          signal: deadline.signal,
          agent: false,
        });
      } else {
        const socket = this.proxy ? await this.tunnel(deadline.signal) : undefined;
        const base = {
          host: this.target.hostname,
          port: this.target.port || (secure ? 443 : 80),
          method: 'POST',
          path: `${this.target.pathname}${this.target.search}`,
          headers,
          signal: deadline.signal,
          agent: false,
        };
        request = secure
          ? https.request({
              ...base,
              ca: this.options.ca,
              servername: this.target.hostname,
              ...(socket ? { createConnection: () => tls.connect({ socket, servername: this.target.hostname, ca: this.options.ca }) } : {}),
            })
          : http.request({ ...base, ...(socket ? { createConnection: () => socket } : {}) });
      }
      await new Promise<void>((resolve, reject) => {
        request.on('response', (res) => {
          res.resume();
          res.on('end', () => ((res.statusCode ?? 0) < 300 ? resolve() : reject(new HttpStatusError(res.statusCode ?? 0))));
          res.on('error', reject);
        });
        request.on('error', (err) => reject(deadline.signal.aborted ? new Error(`no answer within ${this.options.timeoutMs} ms`) : err));
        request.end(post.body);
      });
    } finally {
      clearTimeout(timer);
    }
  }

  /** A CONNECT tunnel through the proxy to the target, for https. */
  private tunnel(signal: AbortSignal): Promise<Socket> {
    const proxy = this.proxy!;
    const port = this.target.port || '443';
    return new Promise((resolve, reject) => {
      const req = http.request({ host: proxy.hostname, port: proxy.port || 80, method: 'CONNECT', path: `${this.target.hostname}:${port}`, signal });
      req.on('connect', (res, socket) => {
        if (res.statusCode === 200) resolve(socket);
        else {
          socket.destroy();
          reject(new Error(`proxy answered ${res.statusCode} to CONNECT`));
        }
      });
      req.on('error', reject);
      req.end();
    });
  }
}
