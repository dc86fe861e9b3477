/**
 * Namespace labels, which decide tracking (`configstamp.io/track`, --namespace-selector), kept
 * in memory by the shared list + watch (shared/kube/informer.ts, the watcher's too) so an
 * untracked workload is answered without a round trip. A namespace not (yet) in the cache is read
 * with one GET; a failed watch relists after a backoff.
 */
import type { NamespaceView } from '../shared/core/policy.js';
import { readObjectMeta } from '../shared/core/meta.js';
import { ConfigstampError, ErrorCodes, errorMessage } from '../shared/errors.js';
import type { KubeApi } from '../shared/kube/client.js';
import { METADATA_LIST_ACCEPT } from '../shared/kube/client.js';
import { Informer } from '../shared/kube/informer.js';
import { namespacePath } from '../shared/kube/paths.js';
import type { Logger } from '../shared/log.js';

export interface NamespaceLookup {
  /** The namespace's labels; a namespace that does not exist reads as unlabelled. */
  get(name: string): Promise<NamespaceView>;
}

/** Every namespace without labels: a scoped install's lookup, which reads no Namespace object. */
export const unlabelledNamespaces: NamespaceLookup = { get: (name) => Promise.resolve({ name, labels: {} }) };

function viewOf(object: unknown): NamespaceView | undefined {
  const m = readObjectMeta(object);
  return m.name === undefined ? undefined : { name: m.name, labels: m.labels };
}

export class NamespaceCache implements NamespaceLookup {
  private readonly views = new Map<string, NamespaceView>();
  private readonly controller = new AbortController();
  private readonly informer: Informer;

  constructor(
    private readonly client: KubeApi,
    log: Logger,
    private readonly getTimeoutMs: number,
  ) {
    this.informer = new Informer(
      client,
      { resource: 'namespaces', path: namespacePath(), listAccept: METADATA_LIST_ACCEPT },
      {
        replace: (items) => {
          this.views.clear();
          for (const item of items) this.apply('ADDED', item);
        },
        event: (type, object) => this.apply(type, object),
        restarted: () => undefined,
      },
      log,
      { watchTimeoutMs: 300_000, backoffMs: { base: 500, max: 30_000 } },
    );
  }

  start(): void {
    void this.informer.run(this.controller.signal);
  }

  stop(): void {
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

  private apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: unknown): void {
    const view = viewOf(object);
    if (view === undefined) return;
    if (type === 'DELETED') this.views.delete(view.name);
    else this.views.set(view.name, view);
  }
}
