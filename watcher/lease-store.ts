/** The LeaseStore of leader.ts on a real coordination.k8s.io/v1 Lease, through the KubeApi. */
import type { KubeApi } from '../shared/kube/client.js';
import type { LeaseRecord, LeaseStore } from './leader.js';

interface LeaseObject {
  metadata?: { resourceVersion?: string };
  spec?: Partial<{ holderIdentity: string; leaseDurationSeconds: number; acquireTime: string; renewTime: string; leaseTransitions: number }>;
}

/** Lease times are MicroTime: exactly six fractional digits. */
function toMicroTime(iso: string): string {
  const m = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d+))?Z$/.exec(iso);
  return m ? `${m[1]}.${(m[2] ?? '').padEnd(6, '0').slice(0, 6)}Z` : iso;
}

export function kubeLeaseStore(client: KubeApi, namespace: string, name: string): LeaseStore {
  const collection = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  const path = `${collection}/${encodeURIComponent(name)}`;
  const body = (record: LeaseRecord, resourceVersion?: string) => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace, ...(resourceVersion ? { resourceVersion } : {}) },
    spec: { ...record, acquireTime: toMicroTime(record.acquireTime), renewTime: toMicroTime(record.renewTime) },
  });
  return {
    async get() {
      const lease = await client.getOrNull<LeaseObject>(path, { timeoutMs: 5_000 });
      if (lease === null) return null;
      const s = lease.spec ?? {};
      return {
        resourceVersion: lease.metadata?.resourceVersion ?? '',
        record: {
          holderIdentity: s.holderIdentity ?? '',
          leaseDurationSeconds: s.leaseDurationSeconds ?? 15,
          acquireTime: s.acquireTime ?? '',
          renewTime: s.renewTime ?? '',
          leaseTransitions: s.leaseTransitions ?? 0,
        },
      };
    },
    async create(record) {
      await client.request('POST', collection, { body: body(record), query: { fieldManager: 'configstamp' }, timeoutMs: 5_000 });
    },
    async update(record, resourceVersion) {
      await client.request('PUT', path, { body: body(record, resourceVersion), query: { fieldManager: 'configstamp' }, timeoutMs: 5_000 });
    },
  };
}
