// The benchmarks run the compiled product with the image's node flags; keep the two the same.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { PRODUCTION_NODE_FLAGS } from '../support/process.js';

t.test("the Dockerfile's ENTRYPOINT runs node with the flags the benchmarks use", async (t) => {
  const line = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8')
    .split('\n')
    .find((l) => l.startsWith('ENTRYPOINT'));
  t.ok(line, 'an ENTRYPOINT line');
  const argv = JSON.parse(line!.slice('ENTRYPOINT'.length)) as string[];
  t.same(argv, ['node', ...PRODUCTION_NODE_FLAGS, 'dist/bin/configstamp.js']);
});
