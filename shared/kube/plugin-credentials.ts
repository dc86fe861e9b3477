/**
 * Credentials from a credential plugin (a user's `exec` or `auth-provider`, as cloud kubeconfigs
 * have them) through @kubernetes/client-node. It is imported here, on demand, and nowhere else in
 * production code: it adds about 70 MB to a process, which in-cluster processes never pay.
 */
import type { RequestOptions } from 'node:https';
import type { ConfigstampError } from '../errors.js';
import { errorMessage } from '../errors.js';
import type { Credentials } from './access.js';
import { kubeconfigError } from './settings.js';

function asBuffer(value: unknown): Buffer | undefined {
  if (Buffer.isBuffer(value)) return value;
  return typeof value === 'string' ? Buffer.from(value) : undefined;
}

function authHeadersOf(options: RequestOptions): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.headers ?? {})) if (typeof value === 'string') out[name] = value;
  if (options.auth) out.Authorization = `Basic ${Buffer.from(options.auth).toString('base64')}`;
  return out;
}

/** Runs the plugin once now, so a broken one fails at start-up; then once per request (it caches). */
export async function pluginCredentials(file: string, label: string, plugin: string): Promise<Credentials> {
  const failed = (err: unknown): ConfigstampError =>
    kubeconfigError(label, `credential plugin (${plugin}): ${errorMessage(err).trim() || 'failed without a message'}`, err);
  try {
    const { KubeConfig } = await import('@kubernetes/client-node');
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(file);
    const apply = async (): Promise<RequestOptions> => {
      const options: RequestOptions = { headers: {} };
      await kubeConfig.applyToHTTPSOptions(options);
      return options;
    };
    const probe = await apply();
    const cert = asBuffer(probe.cert);
    const key = asBuffer(probe.key);
    return {
      ...(cert && { cert }),
      ...(key && { key }),
      authHeaders: () => apply().then(authHeadersOf, (err: unknown) => Promise.reject(failed(err))),
    };
  } catch (err) {
    throw failed(err);
  }
}
