/**
 * Whether a workload's rollout is still under way, from the status its controller writes (as
 * `kubectl rollout status` reads it). Which rule applies is the kind's row (`progress`): kinds
 * with nothing to wait for (a CronJob, a Job) have none. Read from untrusted status: a field that
 * is missing or malformed reads as "not known", never as a crash.
 */
import { asArray, asNumber, asRecord, asString, getPath } from './json.js';
import type { WorkloadKind } from './kinds.js';

/**
 * `progressing`: a rollout is under way (a spec not seen yet, pods not yet updated, old ones still
 * there, revisions that differ). `unavailable`: every pod is updated but not all are available
 * (a rollout finishing, or a workload that lost a pod later: not by itself a rollout).
 */
export type Progress = 'progressing' | 'unavailable' | 'complete' | 'failed';

const num = (object: unknown, path: readonly string[]): number | undefined => asNumber(getPath(object, path));

/**
 * How strictly "complete" is read. The budget counts what is rolling: a paused Deployment or a
 * canary paused between steps rolls nothing, so it holds no slot. A wave asks whether the change
 * has run and is healthy: neither has yet, so both are still under way.
 */
export interface ProgressReading {
  readonly pausedIsDone: boolean;
}

const BUDGET: ProgressReading = { pausedIsDone: true };
/** The waves' reading (shared/core/waves.ts): paused is not done; an Argo Rollout is done only when Healthy. */
export const WAVES_READING: ProgressReading = { pausedIsDone: false };

/** Deployment and DeploymentConfig: replicas updated and available, the old ones gone. */
function replicasRule(object: unknown, reading: ProgressReading): Progress {
  const progressing = asArray(getPath(object, ['status', 'conditions'])).find((c) => asString(asRecord(c)?.type) === 'Progressing');
  if (asString(asRecord(progressing)?.reason) === 'ProgressDeadlineExceeded') return 'failed';
  // Paused (by its user, or for its pause period): nothing rolls until it is resumed.
  if (getPath(object, ['spec', 'paused']) === true) return reading.pausedIsDone ? 'complete' : 'progressing';
  const want = num(object, ['spec', 'replicas']) ?? 1;
  const updated = num(object, ['status', 'updatedReplicas']) ?? 0;
  const total = num(object, ['status', 'replicas']) ?? 0;
  const available = num(object, ['status', 'availableReplicas']) ?? 0;
  if (updated < want || total > updated) return 'progressing';
  return available < updated ? 'unavailable' : 'complete';
}

function statefulSetRule(object: unknown): Progress {
  if (asString(getPath(object, ['spec', 'updateStrategy', 'type'])) === 'OnDelete') return 'complete';
  const want = num(object, ['spec', 'replicas']) ?? 1;
  const ready = num(object, ['status', 'readyReplicas']) ?? 0;
  const updated = num(object, ['status', 'updatedReplicas']) ?? 0;
  const partition = num(object, ['spec', 'updateStrategy', 'rollingUpdate', 'partition']) ?? 0;
  const current = asString(getPath(object, ['status', 'currentRevision']));
  const update = asString(getPath(object, ['status', 'updateRevision']));
  if (updated < want - partition || (partition === 0 && current !== undefined && update !== undefined && current !== update)) return 'progressing';
  return ready < want ? 'unavailable' : 'complete';
}

function daemonSetRule(object: unknown): Progress {
  // OnDelete: pods are replaced only when someone deletes them; there is nothing to wait for.
  if (asString(getPath(object, ['spec', 'updateStrategy', 'type'])) === 'OnDelete') return 'complete';
  const desired = num(object, ['status', 'desiredNumberScheduled']) ?? 0;
  const updated = num(object, ['status', 'updatedNumberScheduled']) ?? 0;
  const available = num(object, ['status', 'numberAvailable']) ?? 0;
  if (updated < desired) return 'progressing';
  return available < desired ? 'unavailable' : 'complete';
}

/**
 * Argo Rollouts: its status.phase, and a restart (spec.restartAt) it has not finished
 * (status.restartedAt). Paused (a canary between steps) counts as done only when paused is.
 */
function phaseRule(object: unknown, reading: ProgressReading): Progress {
  const restartAt = Date.parse(asString(getPath(object, ['spec', 'restartAt'])) ?? '');
  const restartedAt = Date.parse(asString(getPath(object, ['status', 'restartedAt'])) ?? '');
  if (!Number.isNaN(restartAt) && (Number.isNaN(restartedAt) || restartedAt < restartAt)) return 'progressing';
  const phase = asString(getPath(object, ['status', 'phase']));
  if (phase === 'Degraded') return 'failed';
  if (phase === 'Progressing') return 'progressing';
  return phase === undefined || phase === 'Healthy' || reading.pausedIsDone ? 'complete' : 'progressing';
}

const RULES = { replicas: replicasRule, statefulSet: statefulSetRule, daemonSet: daemonSetRule, phase: phaseRule } as const;
export type ProgressRule = keyof typeof RULES;

/**
 * The workload's rollout state, or undefined when its kind has nothing to wait for. A spec its
 * controller has not seen yet (observedGeneration behind generation) is progressing; a status
 * without a usable observedGeneration is judged by its kind's rule alone.
 */
export function rolloutProgress(kind: WorkloadKind, object: unknown, reading: ProgressReading = BUDGET): Progress | undefined {
  if (kind.progress === undefined) return undefined;
  const generation = num(object, ['metadata', 'generation']);
  // Argo Rollouts writes it as a string; anything not a number is not known (the rule decides).
  const rawObserved = getPath(object, ['status', 'observedGeneration']);
  const observed = asNumber(typeof rawObserved === 'string' && /^\d+$/.test(rawObserved) ? Number(rawObserved) : rawObserved);
  if (generation !== undefined && observed !== undefined && observed < generation) return 'progressing';
  // A pause configstamp does not write (a DeploymentConfig's: no pausePath) reads as the budget's.
  return RULES[kind.progress](object, kind.progress === 'replicas' && kind.pausePath === undefined ? BUDGET : reading);
}

/** The status fields the rules read: what the watcher keeps of a workload's status. */
export const PROGRESS_STATUS_FIELDS = [
  'observedGeneration',
  'replicas',
  'updatedReplicas',
  'availableReplicas',
  'readyReplicas',
  'currentRevision',
  'updateRevision',
  'desiredNumberScheduled',
  'updatedNumberScheduled',
  'numberAvailable',
  'phase',
  'conditions',
  'restartedAt',
] as const;
