/**
 * `configstamp certs`: make sure the webhook has a CA, a serving certificate the API server
 * trusts, and the per-cluster hash key. Idempotent: run it as often as you like (the install Job
 * runs it, and a CronJob may for rotation); it writes only what is missing or due.
 */
import { ensureHashKey } from '../shared/kube/hashkey.js';
import { connect } from '../shared/kube/connect.js';
import { CONNECTION_FLAGS, logFormatOf } from '../shared/config/shared-flags.js';
import { formatHelp, parseFlags } from '../shared/config/flags.js';
import type { FlagSpec } from '../shared/config/flags.js';
import { createLogger } from '../shared/log.js';
import { createCertificateAuthority, issueServingCertificate } from './pki.js';
import { nextBundle, planRotation } from './rotation.js';
import type { TlsMaterial } from './rotation.js';
import { injectCaBundle, readMaterial, writeCa, writeFiles, writeServing } from './store.js';

const DAY = 24 * 3600 * 1000;

export const CERTS_FLAGS = [
  ...CONNECTION_FLAGS,
  { name: 'service', type: 'string', default: 'configstamp-webhook', help: "The webhook Service; its DNS names go into the certificate's SANs." },
  {
    name: 'tls-secret',
    type: 'string',
    default: 'configstamp-webhook-tls',
    help: 'kubernetes.io/tls Secret the webhook mounts (tls.crt, tls.key, ca.crt bundle).',
  },
  { name: 'ca-secret', type: 'string', default: 'configstamp-ca', help: 'Secret holding the CA certificate and key (read by this step only).' },
  { name: 'webhook-config', type: 'string', default: 'configstamp', help: 'MutatingWebhookConfiguration whose caBundle is written; "" skips it.' },
  { name: 'extra-dns-names', type: 'list', default: [], help: 'More DNS names for the serving certificate.' },
  { name: 'extra-ip-addresses', type: 'list', default: [], help: 'IP addresses for the serving certificate (e.g. 127.0.0.1 for a local webhook).' },
  { name: 'cert-validity', type: 'duration', default: 365 * DAY, min: 3600_000, help: 'Lifetime of a serving certificate.' },
  { name: 'cert-renew-before', type: 'duration', default: 30 * DAY, help: 'Reissue the serving certificate this long before it expires.' },
  { name: 'ca-validity', type: 'duration', default: 3650 * DAY, min: 86_400_000, help: 'Lifetime of the CA.' },
  { name: 'ca-renew-before', type: 'duration', default: 365 * DAY, help: 'Replace the CA this long before it expires (the old one stays in the bundle).' },
  { name: 'out-dir', type: 'string', default: '', help: 'Also write tls.crt, tls.key and ca.crt here (for a webhook run outside the cluster).' },
  {
    name: 'trust-propagation',
    type: 'duration',
    default: 5000,
    help: 'After publishing a new caBundle, wait this long before switching the serving certificate, so API servers trust the new CA first.',
  },
  { name: 'hash-key-only', type: 'bool', default: false, help: 'Only make sure the hash key exists (certificates left to cert-manager).' },
] as const satisfies readonly FlagSpec[];

const SUMMARY = 'Create or rotate the webhook CA and serving certificate, inject the caBundle, ensure the hash key.';

function days(ms: number): number {
  return Math.max(1, Math.min(3650, Math.ceil(ms / DAY)));
}

export async function main(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<number> {
  const flags = parseFlags(CERTS_FLAGS, argv, env);
  if (flags.help) {
    console.log(formatHelp('certs', SUMMARY, CERTS_FLAGS));
    return 0;
  }
  const v = flags.values;
  const log = createLogger(v['log-level'], 'certs', undefined, logFormatOf(v['log-format']));
  const namespace = v.namespace;
  const client = await connect(v.kubeconfig, 'configstamp-certs', env);
  try {
    const key = await ensureHashKey(client, { namespace, name: v['hash-key-secret'] });
    log.info({ secret: v['hash-key-secret'], created: key.created }, key.created ? 'hash key created' : 'hash key present');
    if (v['hash-key-only'] === true) return 0;

    const service = v.service;
    const dnsNames = [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`, ...v['extra-dns-names']];
    const ipAddresses = v['extra-ip-addresses'];
    const names = { namespace, caSecret: v['ca-secret'], tlsSecret: v['tls-secret'] };
    const now = new Date();
    const current = await readMaterial(client, names);
    const plan = planRotation(
      current,
      {
        dnsNames,
        ipAddresses,
        certRenewBeforeMs: v['cert-renew-before'],
        caRenewBeforeMs: v['ca-renew-before'],
      },
      now,
    );

    let material: TlsMaterial | null = current;
    if (plan.newCert || current === null) {
      const ca =
        plan.newCa || current === null
          ? createCertificateAuthority({ commonName: `configstamp-ca-${now.toISOString().slice(0, 10)}`, validDays: days(v['ca-validity']), now })
          : { certPem: current.caCertPem, keyPem: current.caKeyPem };
      const serving = issueServingCertificate(ca, { dnsNames, ipAddresses, validDays: days(v['cert-validity']), now });
      material = {
        caCertPem: ca.certPem,
        caKeyPem: ca.keyPem,
        certPem: serving.certPem,
        keyPem: serving.keyPem,
        bundlePem: nextBundle(ca.certPem, current?.bundlePem ?? [], now),
      };
      log.info({ newCa: plan.newCa, reasons: plan.reasons }, 'issuing certificates');
      // CA first (a crash after it only means a reissue next run), then trust, then the leaf.
      if (plan.newCa || current === null) await writeCa(client, names, material);
    } else {
      log.info('certificates are current');
    }
    if (material === null) return 1;
    const configName = v['webhook-config'];
    if (configName !== '') {
      const wrote = await injectCaBundle(client, configName, material.bundlePem);
      log.info({ webhookConfig: configName, updated: wrote }, wrote ? 'caBundle written' : 'caBundle already current');
      const delay = v['trust-propagation'];
      if (wrote && plan.newCert && current !== null && delay > 0) {
        log.info({ ms: delay }, 'waiting for API servers to load the new caBundle before switching certificates');
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
    if (plan.newCert) await writeServing(client, names, material);
    const outDir = v['out-dir'];
    if (outDir !== '') {
      await writeFiles(outDir, material);
      log.info({ dir: outDir }, 'certificate files written');
    }
    return 0;
  } finally {
    client.close();
  }
}
