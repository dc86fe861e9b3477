/**
 * Namespace labels, which decide tracking (`configstamp.io/track`, --namespace-selector), kept
 * in memory by a list + watch so an untracked workload is answered without a round trip. A
 * namespace not (yet) in the cache is read with one GET; a failed watch relists after a backoff.
 */
import type { NamespaceView } from '../shared/core/policy.js';
import { asRecord, asString, asStringMap } from '../shared/core/json.js';
import { ConfigstampError, ErrorCodes, errorMessage } from '../shared/errors.js';
import type { KubeClient } from '../shared/kube/client.js';
import { METADATA_LIST_ACCEPT } from '../shared/kube/client.js';
import { namespacePath } from '../shared/kube/paths.js';
import type { Logger } from '../shared/log.js';

export interface NamespaceLookup {
  /** The namespace's labels; a namespace that does not exist reads as unlabelled. */
  get(name: string): Promise<NamespaceView>;
}

const MAX_BACKOFF_MS = 30_000;

function viewOf(object: unknown): NamespaceView | undefined {
  const metadata = asRecord(asRecord(object)?.metadata);
  const name = asString(metadata?.name);
  return name === undefined ? undefined : { name, labels: asStringMap(metadata?.labels) };
}

export class NamespaceCache implements NamespaceLookup {
  private readonly views = new Map<string, NamespaceView>();
  private readonly controller = new AbortController();
  private stopped = false;

  constructor(private readonly client: KubeClient, private readonly log: Logger, private readonly getTimeoutMs: number) {}

  start(): void {
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    this.controller.abort();
  }

  async get(name: string): Promise<NamespaceView> {
    const cached = this.views.get(name);
    if (cached !== undefined) return cached;
    try {
      const object = await this.client.getOrNull(namespacePath(name), { timeoutMs: this.getTimeoutMs });
      return viewOf(object) ?? { name, labels: {} };
    } catch (err) {
      throw new ConfigstampError(ErrorCodes.API, `reading namespace ${name}: ${errorMessage(err)}`, { cause: err });
    }
  }

  private async run(): Promise<void> {
    let backoff = 500;
    while (!this.stopped) {
      try {
        const list = await this.client.request<{ items?: unknown[]; metadata?: { resourceVersion?: string } }>(
          'GET', namespacePath(), { accept: METADATA_LIST_ACCEPT, signal: this.controller.signal });
        this.views.clear();
        for (const item of list.items ?? []) {
          const view = viewOf(item);
          if (view) this.views.set(view.name, view);
        }
        backoff = 500;
        await this.client.watch(namespacePath(), {
          query: { resourceVersion: list.metadata?.resourceVersion, timeoutSeconds: 300 },
          signal: this.controller.signal,
        }, (event) => this.apply(event.type, event.object));
      } catch (err) {
        if (this.stopped) return;
        this.log.warn({ err: errorMessage(err), retryMs: backoff }, 'namespace watch failed; relisting after a pause (lookups fall back to GET)');
        await new Promise((resolve) => setTimeout(resolve, backoff).unref());
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
  }

  private apply(type: string, object: unknown): void {
    if (type === 'ERROR') throw new Error(`watch error: ${asString(asRecord(object)?.message) ?? 'unknown'}`);
    const view = viewOf(object);
    if (view === undefined) return;
    if (type === 'DELETED') this.views.delete(view.name);
    else if (type === 'ADDED' || type === 'MODIFIED') this.views.set(view.name, view);
  }
}
