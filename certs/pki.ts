/**
 * A small certificate authority: make a CA, sign a serving certificate (DNS and IP SANs) and a
 * client certificate (CN = user, O = groups), all as PEM strings. The webhook needs a serving
 * certificate the API server trusts through a caBundle; the test control plane needs a serving
 * certificate, an admin client certificate and a client CA. Both use this module.
 *
 * Pure apart from randomness: no filesystem, environment or logger. The clock (`now`) and the
 * key (`keyPem`) can be passed in; reusing one pre-generated key across certificates keeps tests
 * fast and reproducible. Keys are RSA 2048 (node-forge has no ECDSA); node-forge generates them
 * with Node's native crypto when it can, so a key takes tens of milliseconds, not seconds.
 */
import forge from 'node-forge';
import { isIP } from 'node:net';
import { ConfigstampError, ErrorCodes } from '../shared/errors.js';

/** A certificate and the private key it certifies, both PEM. */
export interface CertifiedKey {
  readonly certPem: string;
  readonly keyPem: string;
}

interface CommonOptions {
  /** Private key (PEM, PKCS#1 or PKCS#8) to certify instead of generating a new one. */
  readonly keyPem?: string;
  /** Days the certificate stays valid from `now`; default 365. */
  readonly validDays?: number;
  /** Issue time; default the current time. notBefore is set 5 minutes earlier for clock skew. */
  readonly now?: Date;
}

export interface CaOptions extends CommonOptions {
  readonly commonName: string;
}

export interface ServingCertOptions extends CommonOptions {
  /** Defaults to the first DNS name, else the first IP address. */
  readonly commonName?: string;
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
}

export interface ClientCertOptions extends CommonOptions {
  /** The user name Kubernetes sees. */
  readonly commonName: string;
  /** The groups Kubernetes sees, e.g. ["system:masters"]. */
  readonly organizations?: readonly string[];
}

/** Thrown on invalid input (CS_ERR_PKI), so `configstamp certs` prints one line, not a stack. */
export class PkiError extends ConfigstampError {
  constructor(message: string) {
    super(ErrorCodes.PKI, message);
    this.name = 'PkiError';
  }
}

const SKEW_MS = 5 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
const DNS_NAME = /^(\*\.)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;

/** A new RSA 2048 private key as PEM (PKCS#1). */
export function generatePrivateKey(): string {
  return forge.pki.privateKeyToPem(forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 }).privateKey);
}

/**
 * Like generatePrivateKey(), off the event loop: node-forge hands the prime search to Node's
 * thread pool, so several keys are made in parallel while other start-up work goes on.
 */
export function generatePrivateKeyAsync(): Promise<string> {
  return new Promise((resolve, reject) => {
    forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 }, (err, keypair) => {
      if (err) reject(err);
      else resolve(forge.pki.privateKeyToPem(keypair.privateKey));
    });
  });
}

/** The public key (SPKI PEM) of a private key, e.g. for --service-account-key-file. */
export function publicKeyFromPrivateKey(keyPem: string): string {
  const key = parsePrivateKey(keyPem, 'keyPem');
  return forge.pki.publicKeyToPem(forge.pki.setRsaPublicKey(key.n, key.e));
}

/** A self-signed CA that may sign leaf certificates only (path length 0). */
export function createCertificateAuthority(options: CaOptions): CertifiedKey {
  const commonName = requireName(options.commonName, 'commonName');
  const subject = [{ name: 'commonName', value: commonName }];
  return sign(options, subject, undefined, (cert) => [
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: cert.generateSubjectKeyIdentifier().getBytes() },
  ]);
}

/** A TLS server certificate for the given DNS names and IP addresses, signed by `ca`. */
export function issueServingCertificate(ca: CertifiedKey, options: ServingCertOptions): CertifiedKey {
  const dnsNames = (options.dnsNames ?? []).map((name, i) => requireDnsName(name, `dnsNames[${i}]`));
  const ipAddresses = (options.ipAddresses ?? []).map((ip, i) => requireIp(ip, `ipAddresses[${i}]`));
  if (dnsNames.length + ipAddresses.length === 0) {
    throw new PkiError('a serving certificate needs at least one DNS name or IP address');
  }
  const fallback = dnsNames[0] ?? ipAddresses[0] ?? '';
  const commonName = requireName(options.commonName ?? fallback, 'commonName');
  const altNames = [...dnsNames.map((value) => ({ type: 2, value })), ...ipAddresses.map((ip) => ({ type: 7, ip }))];
  return sign(options, [{ name: 'commonName', value: commonName }], ca, () => [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames },
  ]);
}

/** A TLS client certificate: Kubernetes reads CN as the user and each O as a group. */
export function issueClientCertificate(ca: CertifiedKey, options: ClientCertOptions): CertifiedKey {
  const commonName = requireName(options.commonName, 'commonName');
  const organizations = (options.organizations ?? []).map((o, i) => requireName(o, `organizations[${i}]`));
  const subject = [{ name: 'commonName', value: commonName }, ...organizations.map((value) => ({ name: 'organizationName', value }))];
  return sign(options, subject, ca, () => [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', clientAuth: true },
  ]);
}

type Subject = forge.pki.CertificateField[];
/** An X.509 extension as node-forge takes it: a name and that extension's own fields. */
type CertExtension = { name: string; [field: string]: unknown };

/** Builds, extends and signs one certificate; self-signed when `issuer` is undefined. */
function sign(
  options: CommonOptions,
  subject: Subject,
  issuer: CertifiedKey | undefined,
  extensions: (cert: forge.pki.Certificate) => CertExtension[],
): CertifiedKey {
  const validDays = options.validDays ?? 365;
  if (!Number.isInteger(validDays) || validDays < 1 || validDays > 3650) {
    throw new PkiError(`validDays must be an integer from 1 to 3650, got ${String(validDays)}`);
  }
  const now = options.now ?? new Date();
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new PkiError('now must be a valid Date');
  const keyPem = options.keyPem ?? generatePrivateKey();
  const key = parsePrivateKey(keyPem, 'keyPem');
  const issuerCert = issuer ? parseCertificate(issuer.certPem, 'ca.certPem') : undefined;
  const issuerKey = issuer ? parsePrivateKey(issuer.keyPem, 'ca.keyPem') : key;

  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = new Date(now.getTime() - SKEW_MS);
  cert.validity.notAfter = new Date(now.getTime() + validDays * DAY_MS);
  cert.setSubject(subject);
  cert.setIssuer(issuerCert ? issuerCert.subject.attributes : subject);
  const exts = extensions(cert);
  if (issuerCert) {
    // forge's `keyIdentifier: true` would use the leaf's own key; the AKI must name the issuer's.
    exts.push({ name: 'authorityKeyIdentifier', keyIdentifier: issuerCert.generateSubjectKeyIdentifier().getBytes() });
  }
  cert.setExtensions(exts);
  cert.sign(issuerKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}

/** 128 random bits with the top bit clear, so DER reads the serial as positive. */
function randomSerial(): string {
  const hex = forge.util.bytesToHex(forge.random.getBytesSync(16));
  return ((parseInt(hex.slice(0, 1), 16) & 0x7) | 0x1).toString(16) + hex.slice(1);
}

function parsePrivateKey(pem: string, field: string): forge.pki.rsa.PrivateKey {
  if (typeof pem !== 'string' || !pem.includes('PRIVATE KEY')) throw new PkiError(`${field} must be a PEM private key`);
  try {
    return forge.pki.privateKeyFromPem(pem) as forge.pki.rsa.PrivateKey;
  } catch (err) {
    throw new PkiError(`${field} is not an RSA private key: ${(err as Error).message}`);
  }
}

function parseCertificate(pem: string, field: string): forge.pki.Certificate {
  if (typeof pem !== 'string' || !pem.includes('CERTIFICATE')) throw new PkiError(`${field} must be a PEM certificate`);
  try {
    return forge.pki.certificateFromPem(pem);
  } catch (err) {
    throw new PkiError(`${field} is not a certificate: ${(err as Error).message}`);
  }
}

function requireName(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > 64) {
    throw new PkiError(`${field} must be a non-empty string of at most 64 characters`);
  }
  return value;
}

function requireDnsName(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length > 253 || !DNS_NAME.test(value)) {
    throw new PkiError(`${field} must be a lower-case DNS name, got ${JSON.stringify(value)}`);
  }
  return value;
}

function requireIp(value: unknown, field: string): string {
  if (typeof value !== 'string' || isIP(value) === 0) {
    throw new PkiError(`${field} must be an IPv4 or IPv6 address, got ${JSON.stringify(value)}`);
  }
  return value;
}
