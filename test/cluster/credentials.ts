/**
 * The certificates and keys one test control plane needs, written into its work directory:
 * a CA that both signs the API server's serving certificate and is its --client-ca-file, the
 * serving certificate (IP SAN 127.0.0.1, DNS localhost and the in-cluster names), an admin
 * client certificate in group system:masters, and the key pair that signs ServiceAccount tokens.
 * A fresh CA per control plane means nothing from one test run is trusted by another.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createCertificateAuthority,
  generatePrivateKeyAsync,
  issueClientCertificate,
  issueServingCertificate,
  publicKeyFromPrivateKey,
  type CertifiedKey,
} from '../../certs/pki.js';
import type { WorkDir } from './workdir.js';

export interface ControlPlaneCredentials {
  readonly ca: CertifiedKey;
  readonly admin: CertifiedKey;
  /** The key the serving and admin certificates share, for more client certificates. */
  readonly leafKey: string;
}

/**
 * Key generation is most of the cost, so there are two keys, made in parallel: the CA's, and one
 * that the serving certificate, the admin certificate and ServiceAccount token signing share.
 * A real cluster would keep them apart; a throw-away test cluster need not.
 */
export async function writeCredentials(dir: WorkDir, extra: { readonly ipAddresses?: readonly string[] } = {}): Promise<ControlPlaneCredentials> {
  const [caKey, leafKey] = await Promise.all([generatePrivateKeyAsync(), generatePrivateKeyAsync()]);
  const serviceAccountKey = leafKey;
  const ca = createCertificateAuthority({ commonName: 'configstamp-test-ca', validDays: 30, keyPem: caKey });
  const serving = issueServingCertificate(ca, {
    keyPem: leafKey,
    commonName: 'kube-apiserver',
    dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
    // A node's pods dial the kubernetes Service's ClusterIP, its kubelet the node IP: extra SANs.
    ipAddresses: ['127.0.0.1', ...(extra.ipAddresses ?? [])],
    validDays: 30,
  });
  const admin = issueClientCertificate(ca, { commonName: 'configstamp-admin', organizations: ['system:masters'], validDays: 30, keyPem: leafKey });

  writeFileSync(dir.caCert, ca.certPem);
  writeFileSync(join(dir.pki, 'apiserver.crt'), serving.certPem);
  writeFileSync(join(dir.pki, 'apiserver.key'), serving.keyPem, { mode: 0o600 });
  writeFileSync(dir.serviceAccountKey, serviceAccountKey, { mode: 0o600 });
  writeFileSync(dir.serviceAccountPub, publicKeyFromPrivateKey(serviceAccountKey));
  return { ca, admin, leafKey };
}
