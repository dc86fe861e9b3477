/**
 * Health-gated waves, the pure rules (shared/core/waves.ts): settings by source, namespace and
 * flag; the order (canaries first); which wave may go, which waits and which is halted; resume
 * tokens; what is said.
 */
import t from 'tap';
import { Ours } from '../../shared/core/annotations.js';
import { describeWaves, resumeTokens, waveOrder, waveSettings, waveSort, waveVerdict } from '../../shared/core/waves.js';
import type { WaveMember } from '../../shared/core/waves.js';

const FLAGS = { size: 0, timeoutMs: 600_000 };
const member = (key: string, over: Partial<WaveMember> = {}): WaveMember => ({
  key,
  order: undefined,
  upToDate: false,
  progress: 'complete',
  timedOut: false,
  token: `Deployment/${key}@00000000`,
  ...over,
});

t.test('settings: the source wins over its namespace, which wins over the flags; bad values are said and skipped', async (t) => {
  t.match(waveSettings({}, {}, FLAGS), { size: 0, timeoutMs: 600_000, problems: [] }, 'the flags');
  t.match(waveSettings({}, { [Ours.waveSize]: '3' }, FLAGS), { size: 3 }, "the namespace's");
  t.match(waveSettings({ [Ours.waveSize]: '2', [Ours.waveTimeout]: '90s' }, { [Ours.waveSize]: '3' }, FLAGS), { size: 2, timeoutMs: 90_000 }, "the source's");
  t.match(waveSettings({ [Ours.waveSize]: '0' }, { [Ours.waveSize]: '3' }, { size: 5, timeoutMs: 0 }), { size: 0 }, 'a source can turn waves off');
  const bad = waveSettings({ [Ours.waveSize]: 'two', [Ours.waveTimeout]: '25h' }, { [Ours.waveSize]: '4' }, FLAGS);
  t.equal(bad.size, 4, "an unusable source value falls back to the namespace's");
  t.equal(bad.timeoutMs, 600_000, '...or the flag');
  t.match(bad.problems, [/source annotation configstamp\.io\/wave-size="two" is not a whole number/, /wave-timeout="25h" is not a duration from 0 to 24h/]);
  t.match(waveSettings({ [Ours.waveSize]: '-1' }, {}, FLAGS), { size: 0, problems: [/not a whole number/] }, 'negative: refused');
  t.match(waveSettings({ [Ours.waveSize]: '10001' }, {}, FLAGS), { size: 0, problems: [/from 0 to 10000/] }, 'too large: refused');
});

t.test('the order: lower wave-order first, unset after all set, then by key', async (t) => {
  t.equal(waveOrder({ [Ours.waveOrder]: '1' }), 1);
  t.equal(waveOrder({ [Ours.waveOrder]: ' -5 ' }), -5);
  for (const bad of ['', 'first', '1.5', '12345678', undefined]) t.equal(waveOrder({ [Ours.waveOrder]: bad }), undefined, `"${bad}" is no order`);
  t.equal(waveOrder(undefined), undefined);
  const sorted = waveSort([member('c'), member('b', { order: 2 }), member('a'), member('z', { order: -1 }), member('y', { order: 2 })]);
  t.same(
    sorted.map((m) => m.key),
    ['z', 'b', 'y', 'a', 'c'],
  );
});

t.test('the first wave goes; the next waits until every workload before it has the change and completed', async (t) => {
  const pending = ['a', 'b', 'c', 'd', 'e'].map((k) => member(k));
  t.same(waveVerdict(pending, 'a', 2), { go: true, wave: 1, waves: 3 }, 'a: wave 1 of 3');
  t.same(waveVerdict(pending, 'b', 2), { go: true, wave: 1, waves: 3 });
  const c = waveVerdict(pending, 'c', 2);
  t.match(c, { go: false, halted: false, wave: 2, waves: 3 }, 'c: wave 2 waits...');
  t.same(!c.go && !c.halted ? c.waitingOn.map((m) => m.key) : [], ['a', 'b'], '...for a and b, which lack the change');
  const rolling = [member('a', { upToDate: true, progress: 'progressing' }), member('b', { upToDate: true, progress: 'complete' }), ...pending.slice(2)];
  const waiting = waveVerdict(rolling, 'd', 2);
  t.same(!waiting.go && !waiting.halted ? waiting.waitingOn.map((m) => m.key) : [], ['a'], 'a still rolling: wave 2 waits for it');
  t.match(
    waveVerdict([member('a', { upToDate: true, progress: 'unavailable' }), ...rolling.slice(1)], 'c', 2),
    { go: false, halted: false },
    'updated but not available: still waits',
  );
  const done = [member('a', { upToDate: true }), member('b', { upToDate: true }), ...pending.slice(2)];
  t.same(waveVerdict(done, 'c', 2), { go: true, wave: 2, waves: 3 }, 'both complete: wave 2 goes');
  t.match(waveVerdict(done, 'e', 2), { go: false, wave: 3, waitingOn: [{ key: 'c' }, { key: 'd' }] }, 'wave 3 waits for wave 2');
  t.same(waveVerdict(done, 'e', 0), { go: true, wave: 1, waves: 1 }, 'size 0: no waves');
  t.same(waveVerdict(done, 'nobody', 2), { go: true, wave: 1, waves: 3 }, 'not a member: not held');
  t.same(
    waveVerdict([member('a', { upToDate: true, progress: undefined }), member('b')], 'b', 1),
    { go: true, wave: 2, waves: 2 },
    'a kind with nothing to wait for (a CronJob) counts as complete',
  );
});

t.test('a failure in an earlier wave halts the waves after it; a timeout counts as one; a resume token accepts it', async (t) => {
  const members = [member('a', { upToDate: true, progress: 'failed' }), member('b', { upToDate: true }), member('c'), member('d')];
  const halted = waveVerdict(members, 'c', 2);
  t.match(halted, { go: false, halted: true, wave: 2, waves: 2, failed: [{ key: 'a' }] }, 'a failed: c is halted');
  t.match(waveVerdict(members, 'a', 2), { go: true }, 'the first wave itself is never halted (a fix rolls it)');
  const slow = [member('a', { upToDate: true, progress: 'progressing', timedOut: true }), ...members.slice(1)];
  t.match(waveVerdict(slow, 'd', 2), { halted: true, failed: [{ key: 'a' }] }, 'not complete within the timeout: failed');
  t.match(waveVerdict(members, 'c', 2, new Set(['Deployment/a@00000000'])), { go: true }, "a's failure accepted: wave 2 goes");
  t.match(waveVerdict(members, 'c', 2, new Set(['Deployment/a@11111111'])), { halted: true }, 'a token for another digest (an earlier change) accepts nothing');
  const fixed = [member('a', { upToDate: false, progress: 'failed' }), member('b', { upToDate: false }), member('c'), member('d')];
  t.match(waveVerdict(fixed, 'a', 2), { go: true, wave: 1 }, 'a fix (a new change): the failed workload lacks it and rolls in wave 1 again');
  t.match(waveVerdict(fixed, 'c', 2), { go: false, halted: false }, '...and wave 2 waits for it, not halted by the old failure');
  t.match(
    waveVerdict([member('canary', { order: 0, upToDate: true, progress: 'failed' }), member('a'), member('b')], 'a', 1),
    { halted: true, wave: 2, waves: 3, failed: [{ key: 'canary' }] },
    'a canary (wave-order 0) goes first; its failure halts everyone',
  );
});

t.test('resume tokens and what is said', async (t) => {
  t.same([...resumeTokens({ [Ours.wavesResume]: ' Deployment/a@12345678, ,StatefulSet/b@abcdef01 ' })], ['Deployment/a@12345678', 'StatefulSet/b@abcdef01']);
  t.same([...resumeTokens({})], []);
  t.same([...resumeTokens(undefined)], []);
  const waiting = waveVerdict([member('a'), member('b'), member('c')], 'c', 1);
  if (waiting.go) throw new Error('expected a hold');
  t.equal(describeWaves(waiting, 'ConfigMap/cfg'), 'wave 3 of 3 of ConfigMap/cfg: waiting for a, b to complete');
  const many = waveVerdict(
    Array.from({ length: 9 }, (_, i) => member(`w${i}`)),
    'w8',
    8,
  );
  if (many.go) throw new Error('expected a hold');
  t.match(describeWaves(many, 'ConfigMap/cfg'), /waiting for w0, w1, w2, w3, w4 and 3 more to complete$/);
  const halted = waveVerdict(
    [member('a', { upToDate: true, progress: 'failed' }), member('b', { upToDate: true, timedOut: true, progress: 'progressing' }), member('c')],
    'c',
    2,
  );
  if (halted.go) throw new Error('expected a hold');
  t.equal(describeWaves(halted, 'Secret/db'), 'held: wave 2 of 2 of Secret/db; a failed, b did not complete in time');
});
