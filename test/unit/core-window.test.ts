/**
 * Restart windows (shared/core/window.ts): the policy format of Reloader's proposal, when a
 * window is open, where a workload's policy comes from, and what is said of a closed one. Times
 * are passed in: no clock.
 */
import t from 'tap';
import { Ours, Reloader } from '../../shared/core/annotations.js';
import { describeWindow, formatInZone, parseRestartWindow, restartWindowVerdict, windowAt } from '../../shared/core/window.js';
import type { RestartWindowPolicy } from '../../shared/core/window.js';

const policyOf = (value: unknown): RestartWindowPolicy => {
  const p = parseRestartWindow(JSON.stringify(value));
  if ('error' in p) throw new Error(p.error);
  return p;
};
const at = (iso: string): number => Date.parse(iso);

t.test("Reloader's format: one JSON object, timezone and 1 to 16 windows of cron and duration", async (t) => {
  const p = policyOf({ timezone: 'Europe/Berlin', windows: [{ cron: '0 2 * * *', duration: '1h' }] });
  t.equal(p.timezone, 'Europe/Berlin');
  t.same(
    p.windows.map((w) => [w.cron, w.durationMs]),
    [['0 2 * * *', 3_600_000]],
  );
  const sixteen = policyOf({ timezone: 'UTC', windows: Array.from({ length: 16 }, (_, i) => ({ cron: `${i} 3 * * *`, duration: '1m' })) });
  t.equal(sixteen.windows.length, 16);
  t.equal(policyOf({ timezone: 'UTC', windows: [{ cron: '  0   2 * *   *  ', duration: '24h' }] }).windows[0]!.cron, '0 2 * * *', 'spacing is normalised');
});

t.test('every malformed policy is refused with a line saying what is wrong', async (t) => {
  const ok = { cron: '0 2 * * *', duration: '1h' };
  const cases: [string, string | unknown, RegExp][] = [
    ['empty', '', /empty: remove the annotation/],
    ['blank', '   ', /empty/],
    ['not JSON', '{timezone: UTC}', /not JSON/],
    ['trailing data', `${JSON.stringify({ timezone: 'UTC', windows: [ok] })} x`, /not JSON/],
    ['an array', [], /not a JSON object/],
    ['unknown field', { timezone: 'UTC', windows: [ok], tz: 'UTC' }, /unknown field "tz"/],
    ['no timezone', { windows: [ok] }, /explicit IANA time zone/],
    ['Local', { timezone: 'Local', windows: [ok] }, /explicit IANA time zone/],
    ['an unknown zone', { timezone: 'Mars/Olympus', windows: [ok] }, /"Mars\/Olympus" is not an IANA time zone/],
    ['no windows', { timezone: 'UTC', windows: [] }, /1 to 16 windows/],
    ['seventeen windows', { timezone: 'UTC', windows: Array(17).fill(ok) }, /1 to 16 windows/],
    ['a window not an object', { timezone: 'UTC', windows: ['0 2 * * *'] }, /windows\[0\]: not an object/],
    ['unknown window field', { timezone: 'UTC', windows: [{ ...ok, zone: 'UTC' }] }, /windows\[0\]: unknown field "zone"/],
    ['no cron', { timezone: 'UTC', windows: [{ duration: '1h' }] }, /cron: a five-field cron expression is required/],
    ['six fields', { timezone: 'UTC', windows: [{ ...ok, cron: '0 0 2 * * *' }] }, /expected five fields/],
    ['four fields', { timezone: 'UTC', windows: [{ ...ok, cron: '0 2 * *' }] }, /expected five fields/],
    ['TZ= in the cron', { timezone: 'UTC', windows: [{ ...ok, cron: 'TZ=UTC 0 2 * * *' }] }, /set the time zone in "timezone"/],
    ['hour 25', { timezone: 'UTC', windows: [{ ...ok, cron: '0 25 * * *' }] }, /windows\[0\]\.cron "0 25 \* \* \*": .*hour/],
    ['never matches', { timezone: 'UTC', windows: [{ ...ok, cron: '0 0 31 2 *' }] }, /never matches a time/],
    ['no duration', { timezone: 'UTC', windows: [{ cron: '0 2 * * *' }] }, /duration: a Go duration from 1m to 24h/],
    ['30s', { timezone: 'UTC', windows: [{ ...ok, duration: '30s' }] }, /from 1m to 24h/],
    ['25h', { timezone: 'UTC', windows: [{ ...ok, duration: '25h' }] }, /from 1m to 24h/],
    ['a number', { timezone: 'UTC', windows: [{ ...ok, duration: 3600 }] }, /from 1m to 24h/],
    ['too long', 'x'.repeat(5_000), /longer than 4096/],
  ];
  for (const [name, value, error] of cases) {
    const parsed = parseRestartWindow(typeof value === 'string' ? value : JSON.stringify(value));
    t.match(parsed, { error }, name);
  }
  t.notMatch(
    parseRestartWindow(JSON.stringify({ timezone: 'UTC', windows: [{ ...ok, cron: 'x'.repeat(500) }] })),
    { error: /x{65}/ },
    'quoted input is cut short',
  );
});

t.test('a window is open over [start, start + duration), in its zone', async (t) => {
  const p = policyOf({ timezone: 'Europe/Berlin', windows: [{ cron: '0 2 * * *', duration: '1h' }] });
  // 02:00 in Berlin is 01:00Z in winter.
  t.same(windowAt(p, at('2026-12-01T22:00:00Z')), { open: false, opensAt: at('2026-12-02T01:00:00Z') }, 'before: closed, opens at 02:00 local');
  t.same(windowAt(p, at('2026-12-02T01:00:00Z')), { open: true, closesAt: at('2026-12-02T02:00:00Z') }, 'at the start: open');
  t.same(windowAt(p, at('2026-12-02T01:59:59.999Z')), { open: true, closesAt: at('2026-12-02T02:00:00Z') }, 'just before the end: open');
  t.same(windowAt(p, at('2026-12-02T02:00:00Z')), { open: false, opensAt: at('2026-12-03T01:00:00Z') }, 'at the end: closed, opens tomorrow');
  t.same(windowAt(p, at('2026-12-02T00:59:59.999Z')), { open: false, opensAt: at('2026-12-02T01:00:00Z') }, 'just before the start: closed');
  // Summer: 02:00 in Berlin is 00:00Z.
  t.same(windowAt(p, at('2026-07-01T00:30:00Z')), { open: true, closesAt: at('2026-07-01T01:00:00Z') }, 'the zone, not a fixed offset');
});

t.test('the DST change: a window holds real elapsed time; a start in the spring gap moves to the first valid time', async (t) => {
  const p = policyOf({ timezone: 'Europe/Berlin', windows: [{ cron: '0 1 * * *', duration: '3h' }] });
  // 29 March 2026: 02:00 CET jumps to 03:00 CEST. 01:00 CET is 00:00Z; three real hours end at 03:00Z (05:00 CEST).
  t.same(windowAt(p, at('2026-03-29T02:59:00Z')), { open: true, closesAt: at('2026-03-29T03:00:00Z') }, 'three real hours over the jump');
  const gap = policyOf({ timezone: 'Europe/Berlin', windows: [{ cron: '30 2 * * *', duration: '1h' }] });
  const before = windowAt(gap, at('2026-03-28T23:00:00Z'));
  t.match(before, { open: false }, 'closed before');
  t.ok(
    !before.open && before.opensAt !== undefined && before.opensAt >= at('2026-03-29T01:00:00Z'),
    'a 02:30 that does not exist opens once the clock is past the gap',
  );
});

t.test('several windows: open while any is; the next opening is the earliest; day-of-month OR day-of-week', async (t) => {
  const p = policyOf({
    timezone: 'UTC',
    windows: [
      { cron: '0 2 * * *', duration: '1h' },
      { cron: '0 12 * * *', duration: '30m' },
    ],
  });
  t.same(windowAt(p, at('2026-12-01T12:10:00Z')), { open: true, closesAt: at('2026-12-01T12:30:00Z') }, 'the second window');
  t.same(windowAt(p, at('2026-12-01T05:00:00Z')), { open: false, opensAt: at('2026-12-01T12:00:00Z') }, 'the earliest next opening');
  const overlapping = policyOf({
    timezone: 'UTC',
    windows: [
      { cron: '0 2 * * *', duration: '2h' },
      { cron: '0 3 * * *', duration: '2h' },
    ],
  });
  t.same(windowAt(overlapping, at('2026-12-01T03:30:00Z')), { open: true, closesAt: at('2026-12-01T05:00:00Z') }, 'overlapping: open until the last closes');
  // 1 December 2026 is a Tuesday: "the 1st or any Monday".
  const or = policyOf({ timezone: 'UTC', windows: [{ cron: '0 0 1 * MON', duration: '1h' }] });
  t.match(windowAt(or, at('2026-12-01T00:30:00Z')), { open: true }, 'the 1st, a Tuesday: open (day-of-month)');
  t.match(windowAt(or, at('2026-12-07T00:30:00Z')), { open: true }, 'the 7th, a Monday: open (day-of-week)');
  t.match(windowAt(or, at('2026-12-08T00:30:00Z')), { open: false }, 'the 8th, a Tuesday: closed');
  const weekly = policyOf({ timezone: 'America/New_York', windows: [{ cron: '0 22 * * SAT', duration: '4h' }] });
  t.same(windowAt(weekly, at('2026-12-01T12:00:00Z')), { open: false, opensAt: at('2026-12-06T03:00:00Z') }, 'a weekly window, days away');
});

t.test("where the policy comes from: the workload's (ours, then Reloader's), else its namespace's", async (t) => {
  const open = JSON.stringify({ timezone: 'UTC', windows: [{ cron: '0 * * * *', duration: '59m' }] });
  const shut = JSON.stringify({ timezone: 'UTC', windows: [{ cron: '0 2 * * *', duration: '1m' }] });
  const now = at('2026-12-01T12:30:00Z');
  const workload = (annotations: Record<string, string>) => ({ metadata: { annotations } });
  t.same(restartWindowVerdict(workload({}), {}, now, true), { state: 'none' }, 'none anywhere: no window');
  t.match(
    restartWindowVerdict(workload({ [Ours.restartWindow]: open, [Reloader.restartWindow]: shut }), {}, now, true),
    { state: 'open', where: `workload annotation ${Ours.restartWindow}` },
    'ours first',
  );
  t.match(
    restartWindowVerdict(workload({ [Reloader.restartWindow]: shut }), {}, now, true),
    { state: 'closed', where: `workload annotation ${Reloader.restartWindow}` },
    "Reloader's key",
  );
  t.same(
    restartWindowVerdict(workload({ [Reloader.restartWindow]: shut }), {}, now, false),
    { state: 'none' },
    "--reloader-compat=false: Reloader's key is not read",
  );
  t.match(
    restartWindowVerdict(workload({}), { [Ours.restartWindow]: shut }, now, true),
    { state: 'closed', where: `namespace annotation ${Ours.restartWindow}` },
    "the namespace's",
  );
  t.match(
    restartWindowVerdict(workload({ [Ours.restartWindow]: open }), { [Ours.restartWindow]: shut }, now, true),
    { state: 'open' },
    'the workload wins over its namespace',
  );
  t.match(
    restartWindowVerdict(workload({ [Ours.restartWindow]: '{"timezone":"UTC"}' }), { [Ours.restartWindow]: open }, now, true),
    { state: 'invalid', where: `workload annotation ${Ours.restartWindow}`, error: /1 to 16 windows/ },
    "an unreadable workload policy is not replaced by the namespace's: it holds (fail closed)",
  );
  t.same(restartWindowVerdict({ metadata: { annotations: { [Ours.restartWindow]: 7 } } }, {}, now, true), { state: 'none' }, 'a non-string value is no policy');
  t.same(restartWindowVerdict(null, {}, now, true), { state: 'none' }, 'no object, no window');
});

t.test('what plan and Events say: until when, in the policy zone', async (t) => {
  t.equal(formatInZone(at('2026-12-02T01:00:00Z'), 'Europe/Berlin'), '2026-12-02 02:00 Europe/Berlin');
  t.equal(formatInZone(at('2026-12-02T00:00:00Z'), 'UTC'), '2026-12-02 00:00 UTC', 'midnight is 00, not 24');
  const shut = JSON.stringify({ timezone: 'Europe/Berlin', windows: [{ cron: '0 2 * * *', duration: '1h' }] });
  const closed = restartWindowVerdict({ metadata: { annotations: { [Ours.restartWindow]: shut } } }, {}, at('2026-12-01T22:00:00Z'), true);
  if (closed.state !== 'closed') throw new Error('expected closed');
  t.equal(describeWindow(closed), `pending until 2026-12-02 02:00 Europe/Berlin (restart window, workload annotation ${Ours.restartWindow})`);
  const invalid = restartWindowVerdict({ metadata: { annotations: { [Ours.restartWindow]: '' } } }, {}, 0, true);
  if (invalid.state !== 'invalid') throw new Error('expected invalid');
  t.match(describeWindow(invalid), /^held: the restart window \(workload annotation configstamp\.io\/restart-window\) cannot be read: empty/);
});
