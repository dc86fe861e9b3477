// CertWatcher on real files: a new valid pair is picked up from a file event, a mismatched or
// missing pair keeps the one in use (and says so once), identical bytes are not "reloaded".
import t from 'tap';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createCertificateAuthority, generatePrivateKey, issueServingCertificate } from '../../certs/pki.js';
import { createLogger } from '../../shared/log.js';
import { CertWatcher } from '../../webhook/certwatcher.js';
import type { KeyPair } from '../../webhook/certwatcher.js';
import { createWebhookMetrics } from '../../webhook/metrics.js';
import { eventually } from '../support/poll.js';

const keyPem = generatePrivateKey();
const ca = createCertificateAuthority({ commonName: 'ca', keyPem });
const first = issueServingCertificate(ca, { ipAddresses: ['127.0.0.1'], keyPem });
const second = issueServingCertificate(ca, { ipAddresses: ['127.0.0.1'] });

t.test('loads, reloads on change, keeps the old pair when the new one is broken', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'certwatcher-'));
  const certFile = path.join(dir, 'tls.crt');
  const keyFile = path.join(dir, 'tls.key');
  const lines: string[] = [];
  const log = createLogger(
    'info',
    'webhook',
    new Writable({
      write(c, _e, done) {
        lines.push(String(c));
        done();
      },
    }),
  );
  const applied: KeyPair[] = [];
  const watcher = new CertWatcher({ certFile, keyFile, pollIntervalMs: 60_000, log, metrics: createWebhookMetrics(), onChange: (p) => applied.push(p) });
  t.teardown(() => watcher.stop());

  t.equal(await watcher.load(), false, 'no files yet');
  t.notOk(watcher.loaded, 'not ready');
  writeFileSync(certFile, first.certPem);
  writeFileSync(keyFile, first.keyPem);
  t.equal(await watcher.load(), true);
  t.ok(watcher.loaded);
  t.equal(await watcher.load(), false, 'same bytes: nothing to do');

  watcher.start();
  writeFileSync(certFile, second.certPem); // the key still belongs to the first certificate
  await new Promise((r) => setTimeout(r, 300));
  t.equal(applied.length, 1, 'a mismatched pair is not applied');
  // Written the way a Secret volume does it: a new file renamed over the old one.
  writeFileSync(`${keyFile}.tmp`, second.keyPem);
  renameSync(`${keyFile}.tmp`, keyFile);
  await eventually('the new pair', async () => (applied.length === 2 ? true : undefined), 5_000, 20);
  t.equal(applied[1]!.cert.toString(), second.certPem);
  const warnings = lines.filter((l) => l.includes('serving certificate not loaded'));
  t.ok(warnings.length >= 1 && warnings.length <= 3, 'the problem is logged, not once per poll');
  t.match(lines.join(''), /serving certificate reloaded/);
});
