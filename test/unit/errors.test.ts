// One error catalogue: every code in shared/errors.ts has its row in docs/errors.md, no code is
// spelt out anywhere else in the product, and codes survive as data (errorCode of anything).
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ConfigstampError, ErrorCodes, errorCode } from '../../shared/errors.js';
import { PkiError } from '../../certs/pki.js';

const ROOT = new URL('../../', import.meta.url);

t.test('docs/errors.md has a row for every code, and no row for a code that is not one', async (t) => {
  const doc = readFileSync(new URL('docs/errors.md', ROOT), 'utf8');
  const rows = [...doc.matchAll(/^\| `(CS_ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]);
  t.same([...rows].sort(), Object.values(ErrorCodes).sort());
});

t.test('no code is spelt out in the product outside the catalogue', async (t) => {
  const files = execFileSync('git', ['ls-files', 'shared', 'webhook', 'watcher', 'certs', 'bin'], { cwd: ROOT, encoding: 'utf8' })
    .split('\n')
    .filter((f) => f.endsWith('.ts'));
  const offenders = files.filter((f) => f !== 'shared/errors.ts' && /'CS_ERR_|CONFIGSTAMP_ERR/.test(readFileSync(new URL(f, ROOT), 'utf8')));
  t.same(offenders, []);
});

t.test('errors carry their code', async (t) => {
  t.equal(errorCode(new PkiError('bad')), 'CS_ERR_PKI', 'certificate errors are catalogue errors');
  t.ok(new PkiError('bad') instanceof ConfigstampError);
  t.equal(errorCode(new Error('x')), 'CS_ERR_INTERNAL');
  t.equal(errorCode('a string'), 'CS_ERR_INTERNAL');
});
