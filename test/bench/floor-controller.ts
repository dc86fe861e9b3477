/**
 * The physical floor of "a ConfigMap change → its Deployment rolls": a minimal controller that
 * watches one ConfigMap and, on each change, patches its Deployment's pod template at once (no
 * policy, no digests, no confirming reads). watcher-floor.ts runs it twice: inside the benchmark's
 * own process, and as a process of its own, as configstamp's watcher runs, so the comparison can
 * be made like for like.
 *
 *   node --import tsx test/bench/floor-controller.ts <kubeconfig> <namespace> <configmap> <deployment>
 *
 * As a process it prints one JSON line when its watch is open (`{"watching":true}`) and one per
 * patch (`{"rv":"…","patchMs":…}`, the PATCH's round trip as it saw it).
 */
import { pathToFileURL } from 'node:url';
import { connect } from '../../shared/kube/connect.js';
import type { KubeApi } from '../../shared/kube/client.js';

const MERGE = 'application/merge-patch+json';

export interface FloorPair {
  readonly ns: string;
  readonly configMap: string;
  readonly deployment: string;
}

export interface FloorEvents {
  /** The watch is open (its first event, the ConfigMap as it is, arrived). */
  onWatching?(): void;
  /** A change was patched through; `patchMs` is the PATCH's round trip. */
  onPatched?(rv: string, patchMs: number): void;
}

/** Runs the floor until `signal` aborts. */
export function startFloor(client: KubeApi, pair: FloorPair, signal: AbortSignal, events: FloorEvents = {}): void {
  let last = '';
  let watching = false;
  void client
    .watch(`/api/v1/namespaces/${pair.ns}/configmaps`, { query: { fieldSelector: `metadata.name=${pair.configMap}` }, signal }, (e) => {
      if (!watching) {
        watching = true;
        events.onWatching?.();
      }
      const rv = (e.object as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion ?? '';
      if (e.type !== 'MODIFIED' || rv === last) return;
      last = rv;
      const t0 = performance.now();
      void client
        .request('PATCH', `/apis/apps/v1/namespaces/${pair.ns}/deployments/${pair.deployment}`, {
          body: { spec: { template: { metadata: { annotations: { 'floor.bench/version': rv } } } } },
          contentType: MERGE,
        })
        .then(() => events.onPatched?.(rv, performance.now() - t0))
        .catch(() => undefined);
    })
    .catch(() => undefined);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [kubeconfig, ns, configMap, deployment] = process.argv.slice(2);
  if (kubeconfig === undefined || ns === undefined || configMap === undefined || deployment === undefined) {
    console.error('usage: floor-controller.ts <kubeconfig> <namespace> <configmap> <deployment>');
    process.exit(2);
  }
  const client = await connect(kubeconfig, 'configstamp-bench-floor', process.env);
  const abort = new AbortController();
  process.on('SIGTERM', () => {
    abort.abort();
    client.close();
  });
  startFloor(client, { ns, configMap, deployment }, abort.signal, {
    onWatching: () => console.log(JSON.stringify({ watching: true })),
    onPatched: (rv, patchMs) => console.log(JSON.stringify({ rv, patchMs })),
  });
}
