/**
 * The watcher's informers, built from the kind tables: Namespaces (cluster-wide installs only),
 * each source kind as metadata (Helm release Secrets left out by the kind's field selector), the
 * CSI driver's per-pod status objects when their CRD is served (folded into SecretProviderClass
 * states by the event router), and
 * each workload kind not ignored, pruned as each page arrives. A scoped install (--namespaces)
 * lists and watches each namespace on its own, so it needs Roles only; Namespace objects are
 * cluster-scoped, so their labels are not read then.
 */
import { readPodStatus } from '../shared/core/csi.js';
import { OBJECT_SOURCE_KINDS, POD_STATUS_SOURCE_KINDS, SOURCE_KIND_TABLE } from '../shared/core/kinds.js';
import { pruneWorkload } from '../shared/core/prune.js';
import { METADATA_ACCEPT, METADATA_LIST_ACCEPT } from '../shared/kube/client.js';
import type { KubeApi } from '../shared/kube/client.js';
import { Informer } from '../shared/kube/informer.js';
import { groupPath, namespacePath, sourceFieldSelector, sourcePath, workloadPath } from '../shared/kube/paths.js';
import type { Logger } from '../shared/log.js';
import { compactSource } from './cache.js';
import type { WatcherConfig } from './config.js';
import type { EventRouter } from './event-router.js';

export function buildInformers(client: KubeApi, controller: EventRouter, config: WatcherConfig, log: Logger): Informer[] {
  const options = { watchTimeoutMs: config.watchTimeoutMs };
  const scopes: readonly (string | undefined)[] = config.namespaces.length === 0 ? [undefined] : config.namespaces;
  const namespaces =
    config.namespaces.length === 0
      ? [
          new Informer(
            client,
            { resource: 'namespaces', path: namespacePath(), listAccept: METADATA_LIST_ACCEPT, watchAccept: METADATA_ACCEPT },
            controller.namespaceHandlers(),
            log,
            options,
          ),
        ]
      : [];
  const policy = config.policy;
  const sources = scopes.flatMap((ns) =>
    OBJECT_SOURCE_KINDS.map(
      (kind) =>
        new Informer(
          client,
          {
            resource: SOURCE_KIND_TABLE[kind].plural,
            path: sourcePath(kind, ns),
            listAccept: METADATA_LIST_ACCEPT,
            watchAccept: METADATA_ACCEPT,
            fieldSelector: sourceFieldSelector(kind),
            transform: compactSource,
          },
          controller.sourceHandlers(kind, ns),
          log,
          options,
        ),
    ),
  );
  // A pod-status kind (CSI) is watched through its status objects, whole (the status is the state),
  // when its CRD is served and the kind is not ignored (--enable-csi-integration=false).
  const podStatuses = scopes.flatMap((ns) =>
    POD_STATUS_SOURCE_KINDS.filter((kind) => !policy.ignoredSourceKinds.has(kind)).map((kind) => {
      const api = SOURCE_KIND_TABLE[kind].podStatus!;
      return new Informer(
        client,
        { resource: api.plural, path: groupPath(api.group, api.version, api.plural, ns), optional: true, transform: readPodStatus },
        controller.podStatusHandlers(kind, ns),
        log,
        options,
      );
    }),
  );
  const workloads = scopes.flatMap((ns) =>
    config.policy.workloadKinds
      .filter((k) => !config.policy.ignoredWorkloadKinds.has(k.kind))
      .map(
        (kind) =>
          new Informer(
            client,
            {
              resource: kind.plural,
              path: workloadPath(kind, ns),
              // A CRD may not be installed; Jobs' RBAC may predate them (an older release's Roles).
              optional: kind.crd || kind.recreate === true,
              transform: (o) => pruneWorkload(kind, o),
            },
            controller.workloadHandlers(kind, ns),
            log,
            options,
          ),
      ),
  );
  return [...namespaces, ...sources, ...podStatuses, ...workloads];
}
