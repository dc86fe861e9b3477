/**
 * A workload cut down to what the core reads of it: identity and annotations of the object, the
 * pod template's annotations, the parts of its pod spec that reference ConfigMaps, Secrets and
 * SecretProviderClasses (CSI volumes),
 * and whether it is paused (kinds with a pausePath).
 * The watcher keeps thousands of workloads between reads; a Deployment's images, probes,
 * resources, plain env values and kubectl's last-applied copy of the whole manifest are most of
 * its size and never change a decision. Every core function gives the same answer for the pruned
 * object as for the whole one (a property test holds it to that).
 */
import { asArray, asRecord, getPath } from './json.js';
import { setIn } from './patch.js';
import type { JsonRecord } from './json.js';
import type { WorkloadKind } from './kinds.js';
import { PROGRESS_STATUS_FIELDS } from './progress.js';

/** kubectl's copy of the applied manifest: as large as the workload, never read by the core. */
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

// ownerReferences: a Job a controller owns (a CronJob's run) is never re-created (policy.ts).
const KEPT_METADATA = ['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'labels', 'ownerReferences'] as const;
const CONTAINER_LISTS = ['containers', 'initContainers', 'ephemeralContainers'] as const;

function pick(record: JsonRecord | undefined, keys: readonly string[]): JsonRecord {
  const out: JsonRecord = {};
  if (record === undefined) return out;
  for (const key of keys) if (Object.hasOwn(record, key)) out[key] = record[key];
  return out;
}

function pruneMetadata(value: unknown): JsonRecord {
  const metadata = asRecord(value);
  const out = pick(metadata, KEPT_METADATA);
  const annotations = asRecord(metadata?.annotations);
  if (annotations !== undefined) {
    const { [LAST_APPLIED]: _dropped, ...rest } = annotations;
    out.annotations = rest;
  } else if (metadata !== undefined && Object.hasOwn(metadata, 'annotations')) {
    out.annotations = metadata.annotations;
  }
  return out;
}

/** An env entry is kept only when it reads a ConfigMap or Secret key; its value never is. */
function referencesSource(env: unknown): boolean {
  const from = asRecord(asRecord(env)?.valueFrom);
  return from !== undefined && (Object.hasOwn(from, 'configMapKeyRef') || Object.hasOwn(from, 'secretKeyRef'));
}

function pruneContainer(value: unknown): unknown {
  const container = asRecord(value);
  if (container === undefined) return value;
  const out = pick(container, ['name', 'envFrom']);
  if (Array.isArray(container.env)) out.env = container.env.filter(referencesSource);
  else if (Object.hasOwn(container, 'env')) out.env = container.env;
  return out;
}

function referencingVolume(volume: unknown): boolean {
  const v = asRecord(volume);
  return v === undefined || Object.hasOwn(v, 'configMap') || Object.hasOwn(v, 'secret') || Object.hasOwn(v, 'projected') || Object.hasOwn(v, 'csi');
}

function prunePodSpec(value: unknown): unknown {
  const spec = asRecord(value);
  if (spec === undefined) return value;
  const out: JsonRecord = {};
  if (Array.isArray(spec.volumes)) out.volumes = spec.volumes.filter(referencingVolume);
  else if (Object.hasOwn(spec, 'volumes')) out.volumes = spec.volumes;
  for (const list of CONTAINER_LISTS) {
    if (Array.isArray(spec[list])) out[list] = asArray(spec[list]).map(pruneContainer);
    else if (Object.hasOwn(spec, list)) out[list] = spec[list];
  }
  return out;
}

function pruneTemplate(value: unknown): unknown {
  const template = asRecord(value);
  if (template === undefined) return value;
  const out: JsonRecord = {};
  const metadata = asRecord(template.metadata);
  if (metadata !== undefined) out.metadata = pick(metadata, ['annotations']);
  else if (Object.hasOwn(template, 'metadata')) out.metadata = template.metadata;
  if (Object.hasOwn(template, 'spec')) out.spec = prunePodSpec(template.spec);
  return out;
}

/**
 * The workload as the watcher keeps it. Shares no mutable structure that matters: kept leaves
 * are the input's own (strings, small records), so do not mutate the input afterwards.
 */
export function pruneWorkload(kind: WorkloadKind, object: unknown): unknown {
  const root = asRecord(object);
  if (root === undefined) return object;
  const out: JsonRecord = pick(root, ['apiVersion', 'kind']);
  if (Object.hasOwn(root, 'metadata')) out.metadata = pruneMetadata(root.metadata);
  // Rebuild the path to the pod template, keeping only the records on the way.
  const path = kind.templatePath;
  let from: unknown = root;
  let to = out;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i]!;
    const record = asRecord(from);
    if (record === undefined || !Object.hasOwn(record, segment)) break;
    const next = record[segment];
    if (i === path.length - 1) {
      to[segment] = pruneTemplate(next);
    } else if (asRecord(next) === undefined) {
      to[segment] = next;
      break;
    } else {
      const child: JsonRecord = {};
      to[segment] = child;
      to = child;
    }
    from = next;
  }
  // The rollout budget reads its progress: spec.replicas, the update strategy and some status.
  if (kind.progress !== undefined) {
    for (const path of [
      ['spec', 'replicas'],
      ['spec', 'updateStrategy'],
      ['spec', 'paused'],
      ['spec', 'restartAt'],
    ]) {
      const value = getPath(root, path);
      if (value !== undefined) setIn(out, path, value);
    }
    const status = asRecord(root.status);
    if (status !== undefined) {
      const kept: JsonRecord = {};
      for (const field of PROGRESS_STATUS_FIELDS) if (Object.hasOwn(status, field)) kept[field] = status[field];
      out.status = kept;
    }
  }
  // A workload running another's template names it (an Argo Rollout's workloadRef).
  if (kind.templateRefPath !== undefined) {
    const ref = getPath(root, kind.templateRefPath);
    if (ref !== undefined) setIn(out, kind.templateRefPath, ref);
  }
  // The pause period reads whether the workload is paused (a Deployment's spec.paused).
  if (kind.pausePath !== undefined) {
    const paused = getPath(root, kind.pausePath);
    if (paused !== undefined) setIn(out, kind.pausePath, paused);
  }
  return out;
}
