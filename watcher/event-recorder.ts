/**
 * Kubernetes Events on workloads: why configstamp rolled one (source names and short old→new
 * digests, never values), why it held one back, and errors it could not fix by retrying. Posting
 * an Event is best effort: it never fails the reconcile. A failure is logged as a warning the first
 * time each kind of failure is seen (a missing RBAC rule shows at the default log level), then at debug.
 */
import { apiVersionOf } from '../shared/core/kinds.js';
import type { SourceChange } from '../shared/core/decide.js';
import { errorCode, errorMessage } from '../shared/errors.js';
import type { KubeApi } from '../shared/kube/client.js';
import { KubeApiError } from '../shared/kube/client.js';
import type { Logger } from '../shared/log.js';
import type { WorkloadEntry } from './cache.js';
import { metaOf } from './cache.js';

export const EventReasons = {
  rollout: 'ConfigstampRollout',
  heldBack: 'ConfigstampRolloutHeldBack',
  budgetHeld: 'ConfigstampRolloutWaiting',
  notified: 'ConfigstampNotified',
  resumed: 'ConfigstampResumed',
  error: 'ConfigstampError',
} as const;

const SHORT = 8;

function short(digest: string): string {
  return digest.slice(0, SHORT);
}

/** "ConfigMap/app-config 3f9a0c1d→8b2e11aa, Secret/db absent→c0ffee12" */
export function describeChanges(changes: readonly SourceChange[]): string {
  return changes.map((c) => `${c.kind}/${c.name} ${short(c.from)}→${short(c.to)}`).join(', ');
}

export interface EventRecorder {
  post(workload: WorkloadEntry, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
}

export function kubeEventRecorder(client: KubeApi, log: Logger, reportingInstance: string): EventRecorder {
  const seenFailures = new Set<string>();
  return {
    async post(workload, type, reason, message) {
      const now = new Date().toISOString();
      const m = metaOf(workload.object);
      const body = {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { generateName: `${workload.name}.`, namespace: workload.namespace },
        involvedObject: {
          apiVersion: apiVersionOf(workload.kind),
          kind: workload.kind.kind,
          namespace: workload.namespace,
          name: workload.name,
          uid: (m as { uid?: string }).uid,
          resourceVersion: m.resourceVersion,
        },
        type,
        reason,
        message: message.slice(0, 1000),
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        source: { component: 'configstamp-watcher' },
        reportingComponent: 'configstamp.io/watcher',
        reportingInstance,
      };
      try {
        await client.request('POST', `/api/v1/namespaces/${encodeURIComponent(workload.namespace)}/events`, { body });
      } catch (err) {
        const kind = err instanceof KubeApiError ? `HTTP ${err.status}` : errorCode(err);
        const level = seenFailures.has(kind) ? 'debug' : 'warn';
        seenFailures.add(kind);
        log[level]({ workload: workload.key, reason, err: errorMessage(err) }, 'could not post Event');
      }
    },
  };
}
