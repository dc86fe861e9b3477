/**
 * List + watch for one resource, as client-go's reflector: a paginated list, then a watch from
 * the list's resourceVersion, resumed from the last seen version when the server ends it. On
 * 410 Gone, a broken stream or any error, it relists (after a backoff for errors) and hands the
 * full list to `replace` again, so the caller can reconcile everything with the same guarantees.
 */
import { asString, getPath } from '../core/json.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { IdleTimeoutError, KubeApiError, listPages } from './client.js';
import type { KubeApi, ListPage } from './client.js';

export interface InformerSpec {
  /** For logs and metrics, e.g. "secrets". */
  readonly resource: string;
  /** Collection path across namespaces. */
  readonly path: string;
  readonly listAccept?: string;
  readonly watchAccept?: string;
  readonly fieldSelector?: string;
  readonly pageSize?: number;
  /** A resource that may not be served (a CRD not installed): 404 counts as an empty list. */
  readonly optional?: boolean;
  /**
   * Applied to every listed item and watched object as soon as its page or line is parsed (as
   * client-go's TransformFunc), so a list of thousands holds only what the caller keeps.
   */
  readonly transform?: (object: unknown) => unknown;
}

export interface InformerHandlers {
  /** The whole collection after a (re)list; `initial` is true for the first one. */
  replace(items: readonly unknown[], initial: boolean): void;
  event(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: unknown): void;
  /** A watch ended badly and the informer will relist. */
  restarted(reason: 'gone' | 'error'): void;
}

class GoneError extends Error {}

/**
 * A watch whose connection carries nothing for this long is resumed on a new one, from its last
 * resourceVersion (no relist). The API server sends a bookmark on an idle watch about once a
 * minute, so a live watch is never this quiet; a dead connection (its peer gone without a FIN) is.
 */
export const WATCH_IDLE_MS = 90_000;

export interface InformerOptions {
  readonly watchTimeoutMs: number;
  /** Default WATCH_IDLE_MS. */
  readonly watchIdleMs?: number;
  readonly backoffMs?: { readonly base: number; readonly max: number };
}

export class Informer {
  private synced = false;
  private markListed!: () => void;
  /** Resolves once the first list has been handed to `replace` (an optional resource's 404 counts). */
  readonly listed: Promise<void> = new Promise((resolve) => (this.markListed = resolve));

  constructor(
    private readonly client: KubeApi,
    private readonly spec: InformerSpec,
    private readonly handlers: InformerHandlers,
    private readonly log: Logger,
    private readonly options: InformerOptions,
  ) {}

  get hasSynced(): boolean {
    return this.synced;
  }

  private async list(signal: AbortSignal): Promise<{ items: unknown[]; resourceVersion: string }> {
    const items: unknown[] = [];
    let resourceVersion = '';
    const transform = this.spec.transform;
    for await (const page of listPages<ListPage & { items?: unknown[] }>(this.client, this.spec.path, {
      accept: this.spec.listAccept,
      signal,
      timeoutMs: 60_000,
      query: { limit: this.spec.pageSize ?? 500, fieldSelector: this.spec.fieldSelector },
    })) {
      for (const item of page.items ?? []) items.push(transform ? transform(item) : item);
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
    }
    return { items, resourceVersion };
  }

  private async watch(resourceVersion: string, signal: AbortSignal): Promise<string> {
    let rv = resourceVersion;
    const idleMs = this.options.watchIdleMs ?? WATCH_IDLE_MS;
    for (;;) {
      try {
        await this.watchOnce(rv, idleMs, signal, (eventRv) => (rv = eventRv));
      } catch (err) {
        if (!(err instanceof IdleTimeoutError) || signal.aborted) throw err;
        this.log.info({ resource: this.spec.resource, idleMs }, 'watch connection went silent: resuming on a new one');
      }
      if (signal.aborted) return rv;
    }
  }

  private watchOnce(rv: string, idleMs: number, signal: AbortSignal, seen: (resourceVersion: string) => void): Promise<void> {
    return this.client.watch(
      this.spec.path,
      {
        accept: this.spec.watchAccept,
        signal,
        timeoutMs: idleMs,
        query: { resourceVersion: rv, fieldSelector: this.spec.fieldSelector, timeoutSeconds: Math.ceil(this.options.watchTimeoutMs / 1000) },
      },
      (event) => {
        if (event.type === 'ERROR') {
          const code = (event.object as { code?: number } | null)?.code;
          throw code === 410 ? new GoneError('410 Gone') : new Error(`watch error ${code ?? ''}`);
        }
        const eventRv = asString(getPath(event.object, ['metadata', 'resourceVersion']));
        if (eventRv) seen(eventRv);
        if (event.type === 'ADDED' || event.type === 'MODIFIED' || event.type === 'DELETED') {
          this.handlers.event(event.type, this.spec.transform ? this.spec.transform(event.object) : event.object);
        }
      },
    );
  }

  /** Runs until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const backoff = this.options.backoffMs ?? { base: 200, max: 10_000 };
    let failures = 0;
    let listed = false;
    while (!signal.aborted) {
      try {
        const { items, resourceVersion } = await this.list(signal);
        this.handlers.replace(items, !this.synced);
        this.synced = true;
        this.markListed();
        listed = true;
        failures = 0;
        await this.watch(resourceVersion, signal);
      } catch (err) {
        if (signal.aborted) return;
        const gone = err instanceof GoneError || (err instanceof KubeApiError && err.status === 410);
        // An optional resource not served (404), or not granted (403: RBAC from an older release).
        const missing = err instanceof KubeApiError && (err.status === 404 || (this.spec.optional === true && err.status === 403));
        if (!missing || failures === 0) {
          this.log.warn(
            { resource: this.spec.resource, err: errorMessage(err) },
            gone ? 'watch expired (410 Gone): relisting' : 'list/watch failed: relisting',
          );
        }
        if (missing && this.spec.optional && !this.synced) {
          this.handlers.replace([], true);
          this.synced = true;
          this.markListed();
        }
        if (listed) this.handlers.restarted(gone ? 'gone' : 'error');
        listed = false;
        if (!gone) {
          failures++;
          const delay = Math.min(backoff.max, backoff.base * 2 ** Math.min(failures - 1, 10));
          await sleepUnlessAborted(delay, signal);
        }
      }
    }
  }
}

/**
 * Waits `ms`, or less if `signal` aborts. The abort listener is removed when the wait ends, so a
 * resource that keeps failing (a CRD not installed) does not pile listeners on the run's signal.
 */
export function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
