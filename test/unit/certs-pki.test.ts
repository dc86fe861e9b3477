// certs/pki.ts checked with Node's own X.509 parser (OpenSSL), not with node-forge: what matters
// is that other TLS stacks accept the certificates. Go's stack is exercised by the e2e tests.
import t from 'tap';
import fc from 'fast-check';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import {
  PkiError,
  createCertificateAuthority,
  generatePrivateKey,
  issueClientCertificate,
  issueServingCertificate,
  publicKeyFromPrivateKey,
} from '../../certs/pki.js';

// One key for everything: generation is the slow part, and certifying one key twice is allowed.
const keyPem = generatePrivateKey();
const now = new Date('2030-01-02T03:04:05Z');
const ca = createCertificateAuthority({ commonName: 'test-ca', keyPem, now });

t.test('generated keys are RSA 2048 and the public key matches', async (t) => {
  const key = createPrivateKey(keyPem);
  t.equal(key.asymmetricKeyType, 'rsa');
  t.equal(key.asymmetricKeyDetails?.modulusLength, 2048);
  const fromPki = createPublicKey(publicKeyFromPrivateKey(keyPem)).export({ format: 'der', type: 'spki' });
  const fromNode = createPublicKey(key).export({ format: 'der', type: 'spki' });
  t.ok(fromPki.equals(fromNode));
});

t.test('the CA is self-signed, a CA, and dated from the given clock', async (t) => {
  const cert = new X509Certificate(ca.certPem);
  t.equal(cert.ca, true);
  t.equal(cert.subject, 'CN=test-ca');
  t.equal(cert.issuer, 'CN=test-ca');
  t.ok(cert.verify(cert.publicKey));
  t.equal(new Date(cert.validFrom).getTime(), now.getTime() - 5 * 60 * 1000);
  t.equal(new Date(cert.validTo).getTime(), now.getTime() + 365 * 24 * 3600 * 1000);
  t.equal(ca.keyPem, keyPem, 'the given key is certified, not a new one');
});

t.test('a serving certificate carries DNS and IP SANs and is signed by the CA', async (t) => {
  const served = issueServingCertificate(ca, { dnsNames: ['localhost', 'webhook.ns.svc'], ipAddresses: ['127.0.0.1', '::1'], keyPem, now });
  const cert = new X509Certificate(served.certPem);
  const caCert = new X509Certificate(ca.certPem);
  t.equal(cert.ca, false);
  t.ok(cert.checkIssued(caCert));
  t.ok(cert.verify(caCert.publicKey));
  t.equal(cert.subject, 'CN=localhost');
  t.equal(cert.checkHost('webhook.ns.svc'), 'webhook.ns.svc');
  t.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
  t.equal(cert.checkHost('example.com'), undefined);
  t.match(cert.subjectAltName ?? '', /IP Address:0:0:0:0:0:0:0:1/);
  t.same(cert.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'serverAuth only');
  t.notSame(cert.serialNumber, new X509Certificate(issueServingCertificate(ca, { ipAddresses: ['127.0.0.1'], keyPem }).certPem).serialNumber);
});

t.test('a client certificate names the user in CN and the groups in O', async (t) => {
  const client = issueClientCertificate(ca, { commonName: 'admin', organizations: ['system:masters', 'devs'], keyPem, now });
  const cert = new X509Certificate(client.certPem);
  t.equal(cert.subject, 'CN=admin\nO=system:masters\nO=devs');
  t.ok(cert.checkIssued(new X509Certificate(ca.certPem)));
  t.same(cert.keyUsage, ['1.3.6.1.5.5.7.3.2'], 'clientAuth only');
});

t.test('without a key, each certificate gets a fresh one', async (t) => {
  const a = issueClientCertificate(ca, { commonName: 'a' });
  t.not(a.keyPem, keyPem);
  t.ok(new X509Certificate(a.certPem).checkPrivateKey(createPrivateKey(a.keyPem)));
});

t.test('any IPv4 address round-trips into the SAN', async () => {
  fc.assert(
    fc.property(fc.ipV4(), (ip) => new X509Certificate(issueServingCertificate(ca, { ipAddresses: [ip], keyPem }).certPem).checkIP(ip) === ip),
    { numRuns: 10 },
  );
});

const invalid: Array<[string, () => unknown, RegExp]> = [
  ['empty CA name', () => createCertificateAuthority({ commonName: '' }), /commonName/],
  ['no SANs', () => issueServingCertificate(ca, { keyPem }), /at least one/],
  ['bad DNS name', () => issueServingCertificate(ca, { dnsNames: ['Bad_Name'], keyPem }), /dnsNames\[0\]/],
  ['bad IP', () => issueServingCertificate(ca, { ipAddresses: ['300.1.1.1'], keyPem }), /ipAddresses\[0\]/],
  ['bad key', () => issueClientCertificate(ca, { commonName: 'x', keyPem: 'nope' }), /keyPem/],
  ['bad CA cert', () => issueClientCertificate({ certPem: 'x', keyPem }, { commonName: 'x', keyPem }), /ca.certPem/],
  ['zero days', () => issueClientCertificate(ca, { commonName: 'x', keyPem, validDays: 0 }), /validDays/],
  ['invalid clock', () => issueClientCertificate(ca, { commonName: 'x', keyPem, now: new Date(NaN) }), /now/],
  ['empty group', () => issueClientCertificate(ca, { commonName: 'x', organizations: [''], keyPem }), /organizations\[0\]/],
];

for (const [name, call, message] of invalid) {
  t.test(`rejects ${name} with a PkiError`, async (t) => {
    t.throws(call, { name: 'PkiError', code: 'CS_ERR_PKI', message });
    t.throws(call, PkiError);
  });
}
