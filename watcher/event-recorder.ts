/**
 * Kubernetes Events on workloads: why configstamp rolled one (source names and short old→new
 * digests, never values), why it held one back, and errors it could not fix by retrying. Posting
 * an Event is best effort: it never fails the reconcile. A failure is logged as a warning the first
 * time each kind of failure is seen (a missing RBAC rule shows at the default log level), then at debug.
 */
import { createHash } from 'node:crypto';
import { apiVersionOf } from '../shared/core/kinds.js';
import { asString, getPath } from '../shared/core/json.js';
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
  windowHeld: 'ConfigstampRolloutPendingWindow',
  windowInvalid: 'ConfigstampRestartWindowInvalid',
  waveWaiting: 'ConfigstampWaveWaiting',
  wavesHalted: 'ConfigstampWavesHalted',
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

export interface PostOptions {
  /**
   * Said once per workload (its UID) and this value, whoever says it: the Event gets a name
   * derived from them, so a restarted watcher or a new leader saying the same again is refused
   * (409) instead of posting a second Event. For as long as the API server keeps Events (an hour).
   */
  readonly once?: string;
}

/** An object other than a workload an Event is about (a source whose waves are halted). */
export interface EventTarget {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string | undefined;
}

export interface EventRecorder {
  post(workload: WorkloadEntry, type: 'Normal' | 'Warning', reason: string, message: string, options?: PostOptions): Promise<void>;
  /** The same, about another object; absent where a test's recorder does not need it. */
  postOn?(target: EventTarget, type: 'Normal' | 'Warning', reason: string, message: string, options?: PostOptions): Promise<void>;
}

/** The name of a said-once Event: the workload's name (cut short), a hash of UID, reason and what is said. */
export function onceEventName(workloadName: string, uid: string, reason: string, once: string): string {
  const hash = createHash('sha256')
    .update(JSON.stringify([uid, reason, once]))
    .digest('hex')
    .slice(0, 16);
  return `${workloadName.slice(0, 200)}.cs${hash}`;
}

export function kubeEventRecorder(client: KubeApi, log: Logger, reportingInstance: string): EventRecorder {
  const seenFailures = new Set<string>();
  const send = async (
    target: EventTarget & { resourceVersion?: string | undefined },
    key: string,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    options: PostOptions,
  ): Promise<void> => {
    const now = new Date().toISOString();
    const name = options.once === undefined ? undefined : onceEventName(target.name, target.uid ?? '', reason, options.once);
    const body = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { ...(name === undefined ? { generateName: `${target.name}.` } : { name }), namespace: target.namespace },
      involvedObject: {
        apiVersion: target.apiVersion,
        kind: target.kind,
        namespace: target.namespace,
        name: target.name,
        uid: target.uid,
        resourceVersion: target.resourceVersion,
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
      await client.request('POST', `/api/v1/namespaces/${encodeURIComponent(target.namespace)}/events`, { body });
    } catch (err) {
      if (name !== undefined && err instanceof KubeApiError && err.status === 409) {
        log.debug({ workload: key, reason }, 'Event already posted (said once)');
        return;
      }
      const kind = err instanceof KubeApiError ? `HTTP ${err.status}` : errorCode(err);
      const level = seenFailures.has(kind) ? 'debug' : 'warn';
      seenFailures.add(kind);
      log[level]({ workload: key, reason, err: errorMessage(err) }, 'could not post Event');
    }
  };
  return {
    async post(workload, type, reason, message, options = {}) {
      const m = metaOf(workload.object);
      // The UID too: kubectl describe finds a workload's Events by it.
      const uid = asString(getPath(workload.object, ['metadata', 'uid']));
      const target = {
        apiVersion: apiVersionOf(workload.kind),
        kind: workload.kind.kind,
        namespace: workload.namespace,
        name: workload.name,
        uid,
        resourceVersion: m.resourceVersion,
      };
      await send(target, workload.key, type, reason, message, options);
    },
    async postOn(target, type, reason, message, options = {}) {
      await send(target, `${target.kind}/${target.namespace}/${target.name}`, type, reason, message, options);
    },
  };
}
