/**
 * What a kubeconfig (or the in-cluster ServiceAccount) says, before anything is read from disk or
 * the network: the settings shared by the loader (kubeconfig.ts), the credential and TLS readers
 * (access.ts, plugin-credentials.ts) and the in-cluster reader (in-cluster.ts), and the one form
 * of their errors. Everything in shared/kube/ that loads configuration depends on this file, and
 * it on nothing there, so the loaders form no cycle.
 */
import { ConfigstampError, ErrorCodes } from '../errors.js';

/** Bytes given inline (a `*-data` field, already decoded) or a file to read. */
export type Material = { readonly file: string } | { readonly data: Buffer };

export interface ClusterSettings {
  /** An https:// URL, possibly with a path prefix. */
  readonly server: string;
  readonly ca?: Material;
  readonly insecureSkipTlsVerify: boolean;
  readonly tlsServerName?: string;
}

export interface UserSettings {
  readonly token?: string;
  /** Read again whenever its token is over a minute old; wins over `token`, as in client-go. */
  readonly tokenFile?: string;
  readonly clientCertificate?: Material;
  readonly clientKey?: Material;
  readonly basic?: { readonly username: string; readonly password: string };
  /** A credential plugin only @kubernetes/client-node can run. */
  readonly plugin?: 'exec' | 'auth-provider';
}

/** What the current context selects, file paths made absolute. */
export interface KubeconfigSelection {
  readonly context: string;
  readonly cluster: ClusterSettings;
  readonly user: UserSettings;
}

export type Env = Readonly<Record<string, string | undefined>>;

/** The one form of a loading error: `label` is the kubeconfig's path or "(in-cluster)". */
export function kubeconfigError(label: string, problem: string, cause?: unknown): ConfigstampError {
  return new ConfigstampError(ErrorCodes.KUBECONFIG, `loading kubeconfig ${label}: ${problem}`, cause === undefined ? undefined : { cause });
}
