/**
 * configstamp's own kubeconfig loader, read the way kubectl reads one but only for the context it
 * selects: clusters, users and contexts by name, `current-context`, file paths relative to the
 * kubeconfig's own directory, `*-data` fields as base64. An empty path means the in-cluster
 * config (shared/kube/in-cluster.ts).
 *
 * @kubernetes/client-node costs about 70 MB of memory, so it is loaded only for a user with a
 * credential plugin (`exec`, `auth-provider`: cloud kubeconfigs on a laptop), never in-cluster.
 * Errors name the field at fault and never carry a token, key or password.
 */
import { readFile } from 'node:fs/promises';
import { delimiter, dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { asRecord } from '../core/json.js';
import type { JsonRecord } from '../core/json.js';
import type { ConfigstampError } from '../errors.js';
import type { ClusterAccess, Credentials } from './access.js';
import { clusterAccess, userCredentials } from './access.js';
import { kubeconfigError } from './settings.js';
import type { ClusterSettings, Env, KubeconfigSelection, Material, UserSettings } from './settings.js';
import { IN_CLUSTER, inClusterSelection } from './in-cluster.js';
import { pluginCredentials } from './plugin-credentials.js';

export type { ClusterSettings, Env, KubeconfigSelection, Material, UserSettings } from './settings.js';

export interface KubeconfigOptions {
  /** For the in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT. */
  readonly env: Env;
  /** Where the ServiceAccount's `token` and `ca.crt` are mounted. */
  readonly serviceAccountDir?: string;
  /** Clock (ms) that ages a token file. */
  readonly now?: () => number;
}

const IMPERSONATION = ['as', 'as-uid', 'as-groups', 'as-user-extra'];
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function invalid(label: string, problems: readonly string[]): ConfigstampError {
  return kubeconfigError(label, problems.join('; '));
}

const isSet = (value: unknown): boolean => value !== undefined && value !== null && value !== '';

/** The YAML as plain data. Errors give the position and the parser's code, never the text. */
function readYaml(text: string, label: string): unknown {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const error = doc.errors[0];
  if (error) {
    const { line, col } = lineCounter.linePos(error.pos[0]);
    throw invalid(label, [`malformed YAML at line ${line}, column ${col} (${error.code})`]);
  }
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch {
    throw invalid(label, ['malformed YAML (an alias cannot be resolved)']);
  }
}

/** One of `clusters`, `users`, `contexts` as a map from name to its body. */
function namedEntries(root: JsonRecord, list: string, body: string, problems: string[]): Map<string, JsonRecord> {
  const entries = new Map<string, JsonRecord>();
  const value = root[list];
  if (!isSet(value)) return entries;
  if (!Array.isArray(value)) {
    problems.push(`${list} must be a list`);
    return entries;
  }
  value.forEach((item: unknown, i) => {
    const entry = asRecord(item);
    const name = entry?.name;
    if (typeof name !== 'string' || name === '') return void problems.push(`${list}[${i}] has no name`);
    if (entries.has(name)) return void problems.push(`${list}: duplicate name "${name}"`);
    const inner = entry?.[body];
    if (isSet(inner) && !asRecord(inner)) return void problems.push(`${list} "${name}": ${body} must be a mapping`);
    entries.set(name, asRecord(inner) ?? {});
  });
  return entries;
}

/** Reads fields of one entry; each problem is recorded with the entry's name, never its value. */
class FieldReader {
  constructor(
    private readonly record: JsonRecord,
    private readonly where: string,
    private readonly directory: string,
    private readonly problems: string[],
  ) {}

  has(key: string): boolean {
    return isSet(this.record[key]);
  }

  problem(text: string): void {
    this.problems.push(`${this.where}: ${text}`);
  }

  string(key: string): string | undefined {
    const value = this.record[key];
    if (!isSet(value)) return undefined;
    if (typeof value !== 'string') return void this.problem(`${key} must be a string`);
    return value;
  }

  boolean(key: string): boolean {
    const value = this.record[key];
    if (!isSet(value)) return false;
    if (typeof value !== 'boolean') this.problem(`${key} must be true or false`);
    return value === true;
  }

  /** A path, relative to the kubeconfig's directory as kubectl resolves it. */
  path(key: string): string | undefined {
    const value = this.string(key);
    return value === undefined ? undefined : resolve(this.directory, value);
  }

  /** `<fileKey>` or `<fileKey>-data` (base64); kubectl refuses both at once. */
  material(fileKey: string): Material | undefined {
    const dataKey = `${fileKey}-data`;
    const file = this.path(fileKey);
    const data = this.string(dataKey);
    if (file !== undefined && data !== undefined) this.problem(`${fileKey} and ${dataKey} are both set; set one`);
    if (data !== undefined) {
      const compact = data.replace(/\s+/g, '');
      if (!BASE64.test(compact) || compact.length % 4 !== 0) return void this.problem(`${dataKey} is not valid base64`);
      return { data: Buffer.from(compact, 'base64') };
    }
    return file === undefined ? undefined : { file };
  }
}

function readCluster(fields: FieldReader): ClusterSettings {
  const server = fields.string('server') ?? '';
  if (server === '') fields.problem('server is not set');
  else if (!URL.canParse(server) || new URL(server).protocol !== 'https:') fields.problem('server must be an https:// URL');
  if (fields.has('proxy-url')) fields.problem('proxy-url is not supported (configstamp connects to the API server directly)');
  const ca = fields.material('certificate-authority');
  const insecureSkipTlsVerify = fields.boolean('insecure-skip-tls-verify');
  if (insecureSkipTlsVerify && ca) fields.problem('insecure-skip-tls-verify cannot be combined with a certificate-authority');
  const tlsServerName = fields.string('tls-server-name');
  return { server, insecureSkipTlsVerify, ...(ca && { ca }), ...(tlsServerName !== undefined && { tlsServerName }) };
}

function readUser(fields: FieldReader): UserSettings {
  if (fields.has('exec')) return { plugin: 'exec' };
  if (fields.has('auth-provider')) return { plugin: 'auth-provider' };
  for (const key of IMPERSONATION) if (fields.has(key)) fields.problem(`impersonation (${key}) is not supported`);
  const token = fields.string('token');
  const tokenFile = fields.path('tokenFile');
  const clientCertificate = fields.material('client-certificate');
  const clientKey = fields.material('client-key');
  const username = fields.string('username');
  const password = fields.string('password');
  if (clientCertificate && !clientKey) fields.problem('client-certificate is set without client-key');
  if (clientKey && !clientCertificate) fields.problem('client-key is set without client-certificate');
  if (password !== undefined && username === undefined) fields.problem('password is set without username');
  if ((token ?? tokenFile) !== undefined && username !== undefined) fields.problem('a token and username/password are both set; set one');
  return {
    ...(token !== undefined && { token }),
    ...(tokenFile !== undefined && { tokenFile }),
    ...(clientCertificate && { clientCertificate }),
    ...(clientKey && { clientKey }),
    ...(username !== undefined && { basic: { username, password: password ?? '' } }),
  };
}

/**
 * The cluster and user the current context names, validated; pure. `file` is the kubeconfig's
 * absolute path (relative paths inside are resolved against its directory); `label` names it in
 * errors. Every problem with the selected entries is reported at once.
 */
export function parseKubeconfig(text: string, file: string, label = file): KubeconfigSelection {
  const parsed = readYaml(text, label);
  const root = asRecord(parsed ?? {});
  if (!root) throw invalid(label, ['not a kubeconfig (expected a mapping at the top)']);
  const problems: string[] = [];
  const clusters = namedEntries(root, 'clusters', 'cluster', problems);
  const users = namedEntries(root, 'users', 'user', problems);
  const contexts = namedEntries(root, 'contexts', 'context', problems);
  if (problems.length > 0) throw invalid(label, problems);

  const current = root['current-context'];
  if (!isSet(current)) throw invalid(label, ['current-context is not set']);
  if (typeof current !== 'string') throw invalid(label, ['current-context must be a string']);
  const context = contexts.get(current);
  if (!context) throw invalid(label, [`current-context "${current}" is not among its contexts`]);
  const directory = dirname(file);
  const contextFields = new FieldReader(context, `context "${current}"`, directory, problems);
  const clusterName = contextFields.string('cluster');
  const userName = contextFields.string('user');
  if (clusterName === undefined) contextFields.problem('cluster is not set');
  const clusterEntry = clusterName === undefined ? undefined : clusters.get(clusterName);
  if (clusterName !== undefined && !clusterEntry) contextFields.problem(`cluster "${clusterName}" is not among its clusters`);
  const userEntry = userName === undefined ? {} : users.get(userName);
  if (!userEntry) contextFields.problem(`user "${userName}" is not among its users`);
  if (problems.length > 0) throw invalid(label, problems);

  const cluster = readCluster(new FieldReader(clusterEntry ?? {}, `cluster "${clusterName}"`, directory, problems));
  const user = readUser(new FieldReader(userEntry ?? {}, `user "${userName}"`, directory, problems));
  if (problems.length > 0) throw invalid(label, problems);
  return { context: current, cluster, user };
}

async function readKubeconfigFile(file: string, path: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    const hint = path.includes(delimiter) ? '; configstamp reads one kubeconfig, not a list' : '';
    throw kubeconfigError(path, `cannot read the file (${code})${hint}`, err);
  }
}

/** Loads the kubeconfig at `path`, or the in-cluster config when `path` is empty. */
export async function loadKubeConfig(path: string, options: KubeconfigOptions): Promise<ClusterAccess> {
  const now = options.now ?? Date.now;
  if (!path) {
    const selection = inClusterSelection(options.env, options.serviceAccountDir);
    return clusterAccess(selection.cluster, await userCredentials(selection.user, IN_CLUSTER, now), IN_CLUSTER);
  }
  const file = resolve(path);
  const selection = parseKubeconfig(await readKubeconfigFile(file, path), file, path);
  const credentials: Credentials = selection.user.plugin
    ? await pluginCredentials(file, path, selection.user.plugin)
    : await userCredentials(selection.user, path, now);
  return clusterAccess(selection.cluster, credentials, path);
}
