/**
 * Counting rollouts the way a user would see them: the ReplicaSets a Deployment owns, the
 * ControllerRevisions of a StatefulSet or DaemonSet. kube-controller-manager makes these, so
 * the counts are real.
 */
import type { KubeClient } from '../../shared/kube/client.js';

interface Owned {
  metadata?: { name?: string; ownerReferences?: { kind?: string; name?: string }[]; annotations?: Record<string, string> };
  spec?: { template?: { metadata?: { annotations?: Record<string, string> } } };
}

async function ownedBy(client: KubeClient, listPath: string, ownerKind: string, ownerName: string): Promise<Owned[]> {
  const list = await client.request<{ items: Owned[] }>('GET', listPath);
  return list.items.filter((item) => (item.metadata?.ownerReferences ?? []).some((o) => o.kind === ownerKind && o.name === ownerName));
}

export function replicaSetsOf(client: KubeClient, namespace: string, deployment: string): Promise<Owned[]> {
  return ownedBy(client, `/apis/apps/v1/namespaces/${namespace}/replicasets`, 'Deployment', deployment);
}

export function controllerRevisionsOf(client: KubeClient, namespace: string, kind: 'StatefulSet' | 'DaemonSet', name: string): Promise<Owned[]> {
  return ownedBy(client, `/apis/apps/v1/namespaces/${namespace}/controllerrevisions`, kind, name);
}

/** Counts for every Deployment in a namespace: name → number of ReplicaSets. */
export async function replicaSetCounts(client: KubeClient, namespace: string): Promise<Map<string, number>> {
  const list = await client.request<{ items: Owned[] }>('GET', `/apis/apps/v1/namespaces/${namespace}/replicasets`);
  const counts = new Map<string, number>();
  for (const rs of list.items) {
    for (const owner of rs.metadata?.ownerReferences ?? []) {
      if (owner.kind === 'Deployment' && owner.name) counts.set(owner.name, (counts.get(owner.name) ?? 0) + 1);
    }
  }
  return counts;
}
