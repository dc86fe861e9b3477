/**
 * What the client needs to reach the API server: where it is, how to trust it, who we are. The
 * kubeconfig's files are read once, here, and the TLS material is checked before any request; a
 * token file is read again whenever its token is over a minute old (client-go does the same), so
 * a rotated projected ServiceAccount token is picked up without a restart.
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { errorMessage } from '../errors.js';
import { kubeconfigError } from './settings.js';
import type { ClusterSettings, Material, UserSettings } from './settings.js';

export interface ClusterTls {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly rejectUnauthorized: boolean;
  readonly servername?: string;
}

export interface Credentials {
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** Headers for the next request (Authorization), with a fresh token. */
  authHeaders(): Promise<Readonly<Record<string, string>>>;
}

export interface ClusterAccess {
  /** The API server's https:// URL, possibly with a path prefix. */
  readonly server: string;
  readonly tls: ClusterTls;
  authHeaders(): Promise<Readonly<Record<string, string>>>;
}

/** How old a token read from a file may get before it is read again. */
export const TOKEN_FILE_MAX_AGE_MS = 60_000;

export { kubeconfigError } from './settings.js';

async function readMaterial(material: Material | undefined, what: string, label: string): Promise<Buffer | undefined> {
  if (material === undefined || 'data' in material) return material?.data;
  try {
    return await readFile(material.file);
  } catch (err) {
    throw kubeconfigError(label, `cannot read ${what} ${material.file} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`, err);
  }
}

async function readToken(file: string): Promise<string> {
  const token = (await readFile(file, 'utf8')).trim();
  if (token === '') throw new Error('the file is empty');
  return token;
}

/** A bearer token kept in a file that may be replaced (a projected ServiceAccount token). */
export class TokenFile {
  private refreshing: Promise<void> | undefined;

  private constructor(
    readonly file: string,
    private token: string,
    private readAt: number,
    private readonly now: () => number,
  ) {}

  static async open(file: string, now: () => number, label: string): Promise<TokenFile> {
    try {
      return new TokenFile(file, await readToken(file), now(), now);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw kubeconfigError(label, `cannot read token file ${file} (${code ?? errorMessage(err)})`, err);
    }
  }

  /** The token, read again if it is over a minute old; a failed read keeps the last good one. */
  async current(): Promise<string> {
    if (this.now() - this.readAt >= TOKEN_FILE_MAX_AGE_MS) {
      this.refreshing ??= this.refresh().finally(() => (this.refreshing = undefined));
      await this.refreshing;
    }
    return this.token;
  }

  private async refresh(): Promise<void> {
    try {
      this.token = await readToken(this.file);
    } catch {
      // Mid-rotation or gone: the last token read may still be valid; the API says if not.
    }
    this.readAt = this.now();
  }
}

/** The user's credentials from its own fields; files are read now. */
export async function userCredentials(user: UserSettings, label: string, now: () => number): Promise<Credentials> {
  const cert = await readMaterial(user.clientCertificate, 'client-certificate', label);
  const key = await readMaterial(user.clientKey, 'client-key', label);
  const tokenFile = user.tokenFile === undefined ? undefined : await TokenFile.open(user.tokenFile, now, label);
  const basic = user.basic && `Basic ${Buffer.from(`${user.basic.username}:${user.basic.password}`).toString('base64')}`;
  const staticToken = user.token;
  return {
    ...(cert && { cert }),
    ...(key && { key }),
    async authHeaders(): Promise<Readonly<Record<string, string>>> {
      const token = tokenFile ? await tokenFile.current() : staticToken;
      const authorization = token === undefined ? basic : `Bearer ${token}`;
      return authorization === undefined ? {} : { Authorization: authorization };
    },
  };
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Throws a clear error now for TLS material Node would refuse (or ignore) at the first connection. */
function checkTls(tls: ClusterTls, label: string): void {
  const check = (what: string, test: () => void): void => {
    try {
      test();
    } catch (err) {
      throw kubeconfigError(label, `${what} is not usable (${errorMessage(err)})`, err);
    }
  };
  const ca = tls.ca;
  if (ca) {
    check('the certificate-authority', () => {
      const certificates = ca.toString('latin1').match(PEM_CERTIFICATE) ?? [];
      if (certificates.length === 0) throw new Error('no PEM certificate in it');
      for (const pem of certificates) new X509Certificate(pem);
    });
  }
  const { cert, key } = tls;
  if (cert && key) check('the client certificate and key', () => createSecureContext({ cert, key }));
}

export async function clusterAccess(cluster: ClusterSettings, credentials: Credentials, label: string): Promise<ClusterAccess> {
  const ca = await readMaterial(cluster.ca, 'certificate-authority', label);
  const tls: ClusterTls = {
    rejectUnauthorized: !cluster.insecureSkipTlsVerify,
    ...(ca && { ca }),
    ...(credentials.cert && { cert: credentials.cert }),
    ...(credentials.key && { key: credentials.key }),
    ...(cluster.tlsServerName !== undefined && { servername: cluster.tlsServerName }),
  };
  checkTls(tls, label);
  return Object.freeze({ server: cluster.server, tls: Object.freeze(tls), authHeaders: () => credentials.authHeaders() });
}
