import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { createCertificateAuthority, generatePrivateKey, issueServingCertificate } from '../../certs/pki.js';
import { nextBundle, planRotation, splitPemBundle, subjectAltNames } from '../../certs/rotation.js';
import type { RotationPolicy, TlsMaterial } from '../../certs/rotation.js';

const DAY = 24 * 3600 * 1000;
const key = generatePrivateKey();
const T0 = new Date('2026-01-01T00:00:00Z');
const policy: RotationPolicy = {
  dnsNames: ['configstamp-webhook', 'configstamp-webhook.configstamp.svc'],
  ipAddresses: ['127.0.0.1'],
  certRenewBeforeMs: 30 * DAY,
  caRenewBeforeMs: 365 * DAY,
};

function material(opts: { caDays?: number; certDays?: number; dns?: string[]; now?: Date; caKey?: string } = {}): TlsMaterial {
  const now = opts.now ?? T0;
  const ca = createCertificateAuthority({ commonName: 'test-ca', validDays: opts.caDays ?? 3650, keyPem: opts.caKey ?? key, now });
  const leaf = issueServingCertificate(ca, {
    dnsNames: opts.dns ?? [...policy.dnsNames],
    ipAddresses: [...policy.ipAddresses],
    validDays: opts.certDays ?? 365,
    keyPem: key,
    now,
  });
  return { caCertPem: ca.certPem, caKeyPem: ca.keyPem, certPem: leaf.certPem, keyPem: leaf.keyPem, bundlePem: [ca.certPem] };
}

t.test('fresh material: the chain verifies, SANs and windows are as asked, nothing is due', async (t) => {
  const m = material();
  const ca = new X509Certificate(m.caCertPem);
  const leaf = new X509Certificate(m.certPem);
  t.ok(ca.ca, 'CA certificate is a CA');
  t.ok(leaf.verify(ca.publicKey), 'leaf is signed by the CA');
  t.ok(leaf.checkIssued(ca), 'leaf names the CA as issuer');
  t.same(subjectAltNames(leaf), { dns: [...policy.dnsNames], ips: ['127.0.0.1'] });
  t.equal(Date.parse(leaf.validTo) - T0.getTime(), 365 * DAY, 'leaf valid for 365 days');
  t.ok(Date.parse(leaf.validFrom) < T0.getTime(), 'notBefore allows for clock skew');
  t.same(planRotation(m, policy, T0), { newCa: false, newCert: false, reasons: [] }, 'idempotent: nothing to do');
});

t.test('nothing stored: a new CA and certificate', async (t) => {
  t.same(planRotation(null, policy, T0), { newCa: true, newCert: true, reasons: ['no certificates yet'] });
});

t.test('serving certificate near expiry is reissued; the CA is kept', async (t) => {
  const m = material({ certDays: 40 });
  t.equal(planRotation(m, policy, new Date(T0.getTime() + 5 * DAY)).newCert, false, '35 days left: not yet');
  const plan = planRotation(m, policy, new Date(T0.getTime() + 15 * DAY));
  t.equal(plan.newCert, true, '25 days left: reissue');
  t.equal(plan.newCa, false);
  t.match(plan.reasons.join(), /serving certificate expires/);
});

t.test('CA near expiry is replaced, which reissues the leaf', async (t) => {
  const m = material({ caDays: 400 });
  const plan = planRotation(m, policy, new Date(T0.getTime() + 100 * DAY));
  t.same([plan.newCa, plan.newCert], [true, true]);
  t.match(plan.reasons.join(), /CA expires/);
});

t.test('changed host names or a foreign issuer reissue the leaf', async (t) => {
  t.equal(planRotation(material({ dns: ['other'] }), policy, T0).newCert, true);
  const a = material();
  const b = material({ caKey: generatePrivateKey() });
  t.equal(planRotation({ ...a, certPem: b.certPem }, policy, T0).newCert, true, 'leaf from another CA');
  t.equal(planRotation({ ...a, certPem: 'garbage' }, policy, T0).newCert, true, 'unreadable leaf');
  t.same(planRotation({ ...a, caCertPem: 'garbage' }, policy, T0).newCa, true, 'unreadable CA');
});

t.test('the bundle keeps the old CA during the overlap, and drops expired ones', async (t) => {
  const old = material({ caDays: 30 });
  const fresh = material();
  const bundle = nextBundle(fresh.caCertPem, [old.caCertPem], T0);
  t.same(bundle, [fresh.caCertPem.trim(), old.caCertPem.trim()], 'new first, old kept');
  t.same(nextBundle(fresh.caCertPem, [old.caCertPem], new Date(T0.getTime() + 31 * DAY)), [fresh.caCertPem.trim()], 'expired old CA dropped');
  t.same(nextBundle(fresh.caCertPem, [fresh.caCertPem], T0), [fresh.caCertPem.trim()], 'no duplicate');
  t.same(splitPemBundle(bundle.join('\n')).length, 2, 'bundle splits back into two certificates');
  const leafFromOld = new X509Certificate(old.certPem);
  t.ok(
    splitPemBundle(bundle.join('\n')).some((pem) => leafFromOld.verify(new X509Certificate(pem).publicKey)),
    'a leaf from the old CA still verifies against the bundle',
  );
});
