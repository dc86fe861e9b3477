/**
 * The per-cluster HMAC key, kept in a Secret in configstamp's namespace. Every replica of the
 * webhook and the watcher must digest with the same key, so it is made once (by the install
 * step, `configstamp certs`, or the first process to find it missing) and only read afterwards.
 */
import { randomBytes } from 'node:crypto';
import { ConfigstampError, ErrorCodes, errorMessage } from '../errors.js';
import type { KubeApi } from './client.js';
import { KubeApiError } from './client.js';
import { sourcePath } from './paths.js';

export const HASH_KEY_FIELD = 'key';
/** 256 bits, the HMAC-SHA256 block-size-safe length. */
const KEY_BYTES = 32;

export interface HashKeyRef {
  readonly namespace: string;
  readonly name: string;
}

function decodeKey(secret: unknown, ref: HashKeyRef): Uint8Array {
  const data = (secret as { data?: Record<string, unknown> } | null)?.data;
  const encoded = data?.[HASH_KEY_FIELD];
  if (typeof encoded !== 'string') {
    throw new ConfigstampError(ErrorCodes.HASH_KEY, `Secret ${ref.namespace}/${ref.name} has no data.${HASH_KEY_FIELD}`);
  }
  const key = Buffer.from(encoded, 'base64');
  if (key.length < 16) {
    throw new ConfigstampError(
      ErrorCodes.HASH_KEY,
      `Secret ${ref.namespace}/${ref.name}: data.${HASH_KEY_FIELD} is ${key.length} bytes; at least 16 are needed`,
    );
  }
  return key;
}

/** Reads the key; throws HASH_KEY when the Secret or its field is missing. */
export async function readHashKey(client: KubeApi, ref: HashKeyRef): Promise<Uint8Array> {
  let secret: unknown;
  try {
    secret = await client.getOrNull(sourcePath('Secret', ref.namespace, ref.name));
  } catch (err) {
    throw new ConfigstampError(ErrorCodes.HASH_KEY, `reading hash key Secret ${ref.namespace}/${ref.name}: ${errorMessage(err)}`, { cause: err });
  }
  if (secret === null) {
    throw new ConfigstampError(ErrorCodes.HASH_KEY, `hash key Secret ${ref.namespace}/${ref.name} not found (run \`configstamp certs\` or apply deploy/)`);
  }
  return decodeKey(secret, ref);
}

/**
 * Reads the key, creating the Secret with a random key when it is missing. Two racing creators
 * agree: the loser's create answers 409 and it reads the winner's key.
 */
export async function ensureHashKey(client: KubeApi, ref: HashKeyRef): Promise<{ key: Uint8Array; created: boolean }> {
  const existing = await client.getOrNull(sourcePath('Secret', ref.namespace, ref.name));
  if (existing !== null) return { key: decodeKey(existing, ref), created: false };
  const body = {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name: ref.name, namespace: ref.namespace, labels: { 'app.kubernetes.io/part-of': 'configstamp' } },
    data: { [HASH_KEY_FIELD]: randomBytes(KEY_BYTES).toString('base64') },
  };
  try {
    const created = await client.request('POST', sourcePath('Secret', ref.namespace), { body, query: { fieldManager: 'configstamp' } });
    return { key: decodeKey(created, ref), created: true };
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 409) return { key: await readHashKey(client, ref), created: false };
    throw new ConfigstampError(ErrorCodes.HASH_KEY, `creating hash key Secret ${ref.namespace}/${ref.name}: ${errorMessage(err)}`, { cause: err });
  }
}
