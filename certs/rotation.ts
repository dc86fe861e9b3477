/**
 * When to make a new CA or serving certificate, and what the caBundle holds. Pure: the current
 * material and the clock come in, a plan comes out. The serving certificate is reissued when it
 * is near expiry, names the wrong hosts, or was signed by another CA; the CA is replaced well
 * before its own expiry. During a CA rotation the bundle keeps the old CA beside the new one, so
 * an API server that still sees the old serving certificate (kubelet syncs Secret volumes
 * lazily) keeps trusting it, and no admission fails mid-rotation.
 */
import { X509Certificate } from 'node:crypto';

export interface TlsMaterial {
  readonly caCertPem: string;
  readonly caKeyPem: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** Every CA the caBundle trusts, newest first. */
  readonly bundlePem: readonly string[];
}

export interface RotationPolicy {
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  /** Reissue the serving certificate this long before it expires. */
  readonly certRenewBeforeMs: number;
  /** Replace the CA this long before it expires (keep it well above certRenewBeforeMs). */
  readonly caRenewBeforeMs: number;
}

export interface RotationPlan {
  readonly newCa: boolean;
  readonly newCert: boolean;
  /** Human-readable reasons, for the log. */
  readonly reasons: readonly string[];
}

function parse(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

/** The DNS names and IP addresses a certificate's SAN extension lists. */
export function subjectAltNames(cert: X509Certificate): { dns: string[]; ips: string[] } {
  const dns: string[] = [];
  const ips: string[] = [];
  for (const part of (cert.subjectAltName ?? '').split(',').map((s) => s.trim())) {
    if (part.startsWith('DNS:')) dns.push(part.slice(4));
    if (part.startsWith('IP Address:')) ips.push(part.slice(11));
  }
  return { dns, ips };
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  return sa.size === new Set(b).size && b.every((x) => sa.has(x));
}

export function planRotation(current: TlsMaterial | null, policy: RotationPolicy, now: Date): RotationPlan {
  if (current === null) return { newCa: true, newCert: true, reasons: ['no certificates yet'] };
  const reasons: string[] = [];
  const ca = parse(current.caCertPem);
  const cert = parse(current.certPem);
  const nowMs = now.getTime();
  let newCa = false;
  if (ca === undefined || !ca.ca) {
    newCa = true;
    reasons.push('stored CA certificate is unreadable');
  } else if (Date.parse(ca.validTo) - nowMs < policy.caRenewBeforeMs) {
    newCa = true;
    reasons.push(`CA expires ${ca.validTo}`);
  }
  let newCert = newCa;
  if (cert === undefined) {
    newCert = true;
    reasons.push('stored serving certificate is unreadable');
  } else {
    if (Date.parse(cert.validTo) - nowMs < policy.certRenewBeforeMs) {
      newCert = true;
      reasons.push(`serving certificate expires ${cert.validTo}`);
    }
    const sans = subjectAltNames(cert);
    if (!sameSet(sans.dns, policy.dnsNames) || !sameSet(sans.ips, policy.ipAddresses)) {
      newCert = true;
      reasons.push('serving certificate names other hosts');
    }
    if (ca !== undefined && !cert.verify(ca.publicKey)) {
      newCert = true;
      reasons.push('serving certificate was not signed by the stored CA');
    }
  }
  return { newCa, newCert, reasons };
}

/**
 * The bundle after a rotation: the current CA first, then earlier CAs that are still valid
 * (at most `keep` of them), so trust overlaps the switch.
 */
export function nextBundle(currentCaPem: string, previous: readonly string[], now: Date, keep = 1): string[] {
  const current = currentCaPem.trim();
  const older = previous
    .map((pem) => pem.trim())
    .filter((pem) => pem !== current)
    .filter((pem) => {
      const cert = parse(pem);
      return cert !== undefined && Date.parse(cert.validTo) > now.getTime();
    })
    .slice(0, keep);
  return [current, ...older];
}

/** Splits a PEM bundle into its certificates. */
export function splitPemBundle(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}
