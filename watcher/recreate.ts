/**
 * Re-creating a workload that rolls by re-creation (a Job), so that a watcher killed half-way
 * never loses it. The replacement is first written down as an intent (a Secret in configstamp's
 * namespace: a Job's spec may carry plain env values, so not a ConfigMap); then the old object is
 * deleted, guarded by its UID, so only the object that was decided on goes; then the replacement
 * is created under the same name; then the intent is dropped. Intents left behind (a crash, an
 * API server away, an old Job slow to go) are replayed when the watcher leads and every
 * `REPLAY_EVERY_MS` while it does: the replacement is created if nothing of that name exists, and
 * the intent is dropped either way.
 */
import { createHash } from 'node:crypto';
import { asRecord, asString, getPath } from '../shared/core/json.js';
import type { JsonRecord } from '../shared/core/json.js';
import { errorMessage } from '../shared/errors.js';
import { KubeApiError } from '../shared/kube/client.js';
import type { KubeApi } from '../shared/kube/client.js';
import { sourcePath, workloadPath } from '../shared/kube/paths.js';
import type { Logger } from '../shared/log.js';
import type { WorkloadEntry } from './cache.js';

export const INTENT_TYPE = 'configstamp.io/recreate-intent';
export const INTENT_LABEL = 'configstamp.io/intent';
const WORKLOAD_ANNOTATION = 'configstamp.io/workload';
export const REPLAY_EVERY_MS = 30_000;
/** How long a create waits for the old object to be gone (it may carry finalizers). */
const GONE_WITHIN_MS = 10_000;

/** What happened to the old object. */
export type RecreateOutcome = 'recreated' | 'superseded';

function intentName(w: WorkloadEntry): string {
  return `configstamp-recreate-${createHash('sha256').update(`${w.kind.kind}/${w.namespace}/${w.name}`).digest('hex').slice(0, 20)}`;
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const unb64 = (value: unknown): string | undefined => (typeof value === 'string' ? Buffer.from(value, 'base64').toString('utf8') : undefined);

export class Recreator {
  /** Intents this process is finishing right now: the replay leaves them alone. */
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly client: KubeApi,
    /** configstamp's namespace, where intents are kept. */
    private readonly namespace: string,
    private readonly log: Logger,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  private async record(w: WorkloadEntry, uid: string, object: JsonRecord): Promise<void> {
    const name = intentName(w);
    const body = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: INTENT_TYPE,
      metadata: {
        name,
        namespace: this.namespace,
        labels: { 'app.kubernetes.io/managed-by': 'configstamp', [INTENT_LABEL]: 'recreate' },
        annotations: { [WORKLOAD_ANNOTATION]: `${w.kind.kind}/${w.namespace}/${w.name}` },
      },
      data: { collection: b64(workloadPath(w.kind, w.namespace)), name: b64(w.name), uid: b64(uid), object: b64(JSON.stringify(object)) },
    };
    const query = { fieldManager: 'configstamp' };
    try {
      await this.client.request('POST', sourcePath('Secret', this.namespace), { body, query, timeoutMs: 10_000 });
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 409)) throw err;
      await this.client.request('PUT', sourcePath('Secret', this.namespace, name), { body, query, timeoutMs: 10_000 });
    }
  }

  private async clear(name: string): Promise<void> {
    try {
      await this.client.request('DELETE', sourcePath('Secret', this.namespace, name), { timeoutMs: 10_000 });
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 404)) throw err;
    }
  }

  /** Creates `object` at `collection` once nothing of its name is left there. */
  private async createWhenGone(collection: string, name: string, object: JsonRecord): Promise<void> {
    const deadline = Date.now() + GONE_WITHIN_MS;
    for (;;) {
      try {
        await this.client.request('POST', collection, { body: object, query: { fieldManager: 'configstamp' }, timeoutMs: 10_000 });
        return;
      } catch (err) {
        // 409: the old object is still there (finalizers, a slow garbage collector): wait for it.
        if (!(err instanceof KubeApiError && err.status === 409 && err.reason === 'AlreadyExists') || Date.now() >= deadline) throw err;
        this.log.debug({ name }, 're-create: the old object is still going; waiting');
        await this.sleep(200);
      }
    }
  }

  /**
   * Deletes `w` (the object whose UID is `uid`) and creates `object` in its place. `superseded`
   * when the object of that name is no longer the one decided on (someone replaced it): nothing
   * is deleted then. Throws on failure; the intent stays for the replay.
   */
  async recreate(w: WorkloadEntry, uid: string, object: JsonRecord): Promise<RecreateOutcome> {
    const intent = intentName(w);
    this.inFlight.add(intent);
    try {
      return await this.recreateRecorded(w, uid, object);
    } finally {
      this.inFlight.delete(intent);
    }
  }

  private async recreateRecorded(w: WorkloadEntry, uid: string, object: JsonRecord): Promise<RecreateOutcome> {
    await this.record(w, uid, object);
    const path = workloadPath(w.kind, w.namespace, w.name);
    try {
      await this.client.request('DELETE', path, {
        body: { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background', preconditions: { uid } },
        timeoutMs: 10_000,
      });
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 409) {
        await this.clear(intentName(w));
        return 'superseded';
      }
      if (!(err instanceof KubeApiError && err.status === 404)) throw err;
    }
    await this.createWhenGone(workloadPath(w.kind, w.namespace), w.name, object);
    await this.clear(intentName(w));
    return 'recreated';
  }

  /**
   * Finishes every intent left behind; returns how many objects it created. Never throws. An
   * intent is finished when nothing of its name exists (the replacement is created) or an object
   * with another UID does (someone made it already); while the old object is still there (being
   * deleted, or never deleted: the reconcile redoes the whole re-creation then) it is kept, or
   * dropped when the old object is not going away. Only a Job of a re-created kind, at its own
   * path, is ever created from an intent.
   */
  async replay(allowed: (collection: string, object: JsonRecord) => boolean = isJobReplacement): Promise<number> {
    let created = 0;
    let intents: unknown[];
    try {
      const list = await this.client.request<{ items?: unknown[] }>('GET', sourcePath('Secret', this.namespace), {
        query: { labelSelector: `${INTENT_LABEL}=recreate` },
        timeoutMs: 10_000,
      });
      intents = list.items ?? [];
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 're-create intents could not be listed; retrying later');
      return 0;
    }
    for (const intent of intents) {
      const name = asString(getPath(intent, ['metadata', 'name']));
      const workload = asString(getPath(intent, ['metadata', 'annotations', WORKLOAD_ANNOTATION])) ?? name;
      if (name === undefined || this.inFlight.has(name) || asString(getPath(intent, ['type'])) !== INTENT_TYPE) continue;
      const data = asRecord(getPath(intent, ['data']));
      const collection = unb64(data?.collection);
      const objectName = unb64(data?.name);
      const oldUid = unb64(data?.uid);
      let object: JsonRecord | undefined;
      try {
        object = asRecord(JSON.parse(unb64(data?.object) ?? 'null'));
      } catch {
        object = undefined;
      }
      try {
        if (
          collection === undefined ||
          objectName === undefined ||
          object === undefined ||
          getPath(object, ['metadata', 'name']) !== objectName ||
          !allowed(collection, object)
        ) {
          this.log.warn({ intent: name }, 're-create intent is malformed or names no Job; dropped');
          await this.clear(name);
          continue;
        }
        const existing = await this.client.getOrNull(`${collection}/${encodeURIComponent(objectName)}`, { timeoutMs: 10_000 });
        if (this.inFlight.has(name)) continue; // a live re-creation started meanwhile: it finishes it
        if (existing === null) {
          await this.createWhenGone(collection, objectName, object);
          created++;
          this.log.info({ workload }, 're-created from the intent an interrupted re-creation left behind');
        } else if (asString(getPath(existing, ['metadata', 'uid'])) === oldUid && getPath(existing, ['metadata', 'deletionTimestamp']) !== undefined) {
          continue; // the old object is still going (finalizers): keep the intent for the next round
        }
        await this.clear(name);
      } catch (err) {
        this.log.warn({ workload, err: errorMessage(err) }, 're-create intent could not be finished; retrying later');
      }
    }
    return created;
  }
}

/** A replacement Job at its own namespace's jobs path, naming itself consistently. */
export function isJobReplacement(collection: string, object: JsonRecord): boolean {
  const m = /^\/apis\/batch\/v1\/namespaces\/([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/jobs$/.exec(collection);
  return (
    m !== null &&
    object.apiVersion === 'batch/v1' &&
    object.kind === 'Job' &&
    asString(getPath(object, ['metadata', 'namespace'])) === m[1] &&
    typeof getPath(object, ['metadata', 'name']) === 'string'
  );
}
