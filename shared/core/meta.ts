/**
 * The one reader of Kubernetes object metadata, for everything that arrives from outside (a list
 * page, a watch event, a GET, an AdmissionReview): a field of the wrong type reads as absent, and
 * labels and annotations as string maps (json.ts's defensive readers).
 */
import { asRecord, asString, asStringMap } from './json.js';
import type { SourceMeta } from './policy.js';

export interface ObjectMeta {
  readonly name: string | undefined;
  readonly namespace: string | undefined;
  readonly resourceVersion: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export function readObjectMeta(object: unknown): ObjectMeta {
  const metadata = asRecord(asRecord(object)?.metadata);
  return {
    name: asString(metadata?.name),
    namespace: asString(metadata?.namespace),
    resourceVersion: asString(metadata?.resourceVersion),
    labels: asStringMap(metadata?.labels),
    annotations: asStringMap(metadata?.annotations),
  };
}

/** A source's metadata as the policy reads it (labels, annotations, type), and its name. */
export function readSourceMeta(object: unknown): SourceMeta & { readonly name: string | undefined } {
  const m = readObjectMeta(object);
  return { name: m.name, annotations: m.annotations, labels: m.labels, type: asString(asRecord(object)?.type) };
}
