/**
 * A thin client for the Kubernetes API over HTTPS with keep-alive. It takes a ClusterAccess
 * (shared/kube/kubeconfig.ts loads one) and goes through node:https so that configstamp controls
 * what it needs and generated clients hide: metadata-only lists
 * (PartialObjectMetadataList), merge patches guarded by resourceVersion, field managers, and
 * watch streams. Error messages carry the API's Status message, never a request body.
 */
import type { IncomingMessage } from 'node:http';
import https from 'node:https';
import { ConfigstampError, ErrorCodes } from '../errors.js';
import type { ClusterAccess } from './access.js';

export class KubeApiError extends ConfigstampError {
  readonly status: number;
  readonly reason: string;
  constructor(status: number, reason: string, message: string) {
    super(ErrorCodes.API, message);
    this.status = status;
    this.reason = reason;
  }
  /** Worth retrying with backoff: a conflict, throttling, or a server-side failure. */
  get retryable(): boolean {
    return this.status === 409 || this.status === 429 || this.status >= 500;
  }
}

export interface RequestOptions {
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly body?: unknown;
  readonly contentType?: string;
  readonly accept?: string;
  /**
   * Fails the request when its connection carries no byte for this long (socket inactivity, not
   * a total deadline). Unset: DEFAULT_IDLE_TIMEOUT_MS for a request, and no limit for a watch.
   */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal | undefined;
}

/**
 * A request whose connection goes silent this long fails (it is retried as any error is). Without
 * it a keep-alive connection whose peer vanished without a FIN (an API server moved or restarted
 * behind a Service) holds the request until TCP gives up, which is many minutes: seen on a real
 * node as a leader stuck in a Lease read for the whole of an outage and after it.
 */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

/** The error a request fails with when its connection was silent for its whole idle timeout. */
export class IdleTimeoutError extends ConfigstampError {
  constructor(message: string) {
    super(ErrorCodes.DEADLINE, message);
  }
}

export const METADATA_LIST_ACCEPT = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
export const METADATA_ACCEPT = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';
export const MERGE_PATCH = 'application/merge-patch+json';

function buildPath(path: string, query: RequestOptions['query']): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) params.set(k, String(v));
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

/** What every list page carries: the token for the next page, absent or empty on the last. */
export interface ListPage {
  readonly metadata?: { readonly continue?: string; readonly resourceVersion?: string };
}

/** Lists `path` page by page (GET with `limit` in `options.query`), following `continue` to the end. */
export async function* listPages<T extends ListPage>(client: KubeApi, path: string, options: RequestOptions = {}): AsyncGenerator<T> {
  let cont: string | undefined;
  do {
    const page = await client.request<T>('GET', path, { ...options, query: { ...options.query, continue: cont } });
    yield page;
    cont = page.metadata?.continue || undefined;
  } while (cont);
}

function statusError(status: number, text: string, method: string, path: string): KubeApiError {
  let reason = '';
  let message = `${method} ${path}: HTTP ${status}`;
  try {
    const parsed = JSON.parse(text) as { reason?: unknown; message?: unknown };
    if (typeof parsed.reason === 'string') reason = parsed.reason;
    if (typeof parsed.message === 'string') message = `${method} ${path}: ${parsed.message}`;
  } catch {
    // not a Status object: keep the generic message, never echo an unknown body
  }
  return new KubeApiError(status, reason, message);
}

/**
 * What every consumer of the API server needs: KubeClient is the real one, test/support/fake-kube.ts
 * a typed fake for unit tests. Consumers take this, not the class.
 */
export interface KubeApi {
  /** One request; resolves with the parsed body of a 2xx answer, throws KubeApiError otherwise. */
  request<T = unknown>(method: string, path: string, options?: RequestOptions): Promise<T>;
  /** GET that answers null for 404. */
  getOrNull<T = unknown>(path: string, options?: RequestOptions): Promise<T | null>;
  /** A watch stream, one call of onEvent per event, until the server ends it or it breaks. */
  watch(path: string, options: RequestOptions, onEvent: (event: { type: string; object: unknown }) => void): Promise<void>;
  close(): void;
}

export class KubeClient implements KubeApi {
  private readonly server: URL;
  private readonly agent: https.Agent;

  private constructor(
    private readonly access: ClusterAccess,
    agent: https.Agent,
    private readonly userAgent: string,
  ) {
    this.server = new URL(access.server);
    this.agent = agent;
  }

  static async create(access: ClusterAccess, userAgent = 'configstamp'): Promise<KubeClient> {
    const { ca, cert, key, rejectUnauthorized, servername } = access.tls;
    const agent = new https.Agent({ keepAlive: true, maxSockets: 32, ca, cert, key, rejectUnauthorized, servername });
    return new KubeClient(access, agent, userAgent);
  }

  /**
   * Sends the request; resolves at the response's head. `silent` is the IdleTimeoutError once the
   * connection went quiet for the idle timeout (the request and its response are destroyed then,
   * and a read of the body fails with a generic error: the caller rethrows this one instead).
   */
  private async open(
    method: string,
    path: string,
    options: RequestOptions,
  ): Promise<{ res: IncomingMessage; full: string; silent: () => IdleTimeoutError | undefined }> {
    const full = buildPath(path, options.query);
    const headers: Record<string, string> = {
      ...(await this.access.authHeaders()),
      Accept: options.accept ?? 'application/json',
      'User-Agent': this.userAgent,
    };
    let payload: Buffer | undefined;
    if (options.body !== undefined) {
      payload = Buffer.from(JSON.stringify(options.body));
      headers['Content-Type'] = options.contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    let silent: IdleTimeoutError | undefined;
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          protocol: this.server.protocol,
          hostname: this.server.hostname,
          port: this.server.port,
          path: this.server.pathname.replace(/\/$/, '') + full,
          method,
          headers,
          agent: this.agent,
          signal: options.signal,
        },
        (res) => resolve({ res, full, silent: () => silent }),
      );
      const idleMs = options.timeoutMs;
      if (idleMs !== undefined) {
        req.setTimeout(idleMs, () => {
          silent = new IdleTimeoutError(`${method} ${full}: the connection was silent for ${idleMs} ms`);
          req.destroy(silent);
        });
      }
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** One request; resolves with the parsed body of a 2xx answer, throws KubeApiError otherwise. */
  async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const { res, full, silent } = await this.open(method, path, { ...options, timeoutMs: options.timeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS });
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of res) chunks.push(chunk as Buffer);
    } catch (err) {
      throw silent() ?? err;
    }
    const text = Buffer.concat(chunks).toString('utf8');
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) throw statusError(status, text, method, full);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** GET that answers null for 404. */
  async getOrNull<T = unknown>(path: string, options: RequestOptions = {}): Promise<T | null> {
    try {
      return await this.request<T>('GET', path, options);
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return null;
      throw err;
    }
  }

  /**
   * A watch stream: calls onEvent for each event line until the server closes the stream
   * (resolves) or it breaks (rejects). Abort through `signal` to stop.
   */
  async watch(path: string, options: RequestOptions, onEvent: (event: { type: string; object: unknown }) => void): Promise<void> {
    const { res, full, silent } = await this.open('GET', path, { ...options, query: { ...options.query, watch: 1, allowWatchBookmarks: true } });
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      const chunks: Buffer[] = [];
      for await (const chunk of res) chunks.push(chunk as Buffer);
      throw statusError(status, Buffer.concat(chunks).toString('utf8'), 'WATCH', full);
    }
    let buffered = '';
    try {
      for await (const chunk of res) {
        buffered += (chunk as Buffer).toString('utf8');
        let newline = buffered.indexOf('\n');
        while (newline >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (line) {
            const parsed = JSON.parse(line) as { type?: unknown; object?: unknown };
            if (typeof parsed.type === 'string') onEvent({ type: parsed.type, object: parsed.object });
          }
          newline = buffered.indexOf('\n');
        }
      }
    } catch (err) {
      throw silent() ?? err;
    }
  }

  close(): void {
    this.agent.destroy();
  }
}
