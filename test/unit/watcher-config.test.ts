// `configstamp watcher` flags: Reloader's spellings work, leader-election timings are checked,
// and Reloader flags whose "off" configstamp cannot honour start it with a warning that says why.
import t from 'tap';
import { parseWatcherConfig } from '../../watcher/config.js';

t.test('defaults and Reloader aliases', async (t) => {
  const d = parseWatcherConfig([], {})!;
  t.same([d.debounceMs, d.debounceMaxMs], [500, 2000], 'a 500 ms quiet period, at most 2 s');
  t.equal(d.rollOnDelete, false);
  t.equal(d.leaderElect, true);
  const c = parseWatcherConfig(['--reload-on-delete', '--enable-ha=false', '--auto-reload-all', '--sync-after-restart=true'], {
    CONFIGSTAMP_DEBOUNCE: '250ms',
  })!;
  t.equal(c.rollOnDelete, true, '--reload-on-delete');
  t.equal(c.leaderElect, false, '--enable-ha');
  t.equal(c.policy.trackAll, true, '--auto-reload-all');
  t.equal(c.debounceMs, 250, 'env var');
  t.ok(Object.isFrozen(c));
  t.equal(parseWatcherConfig(['--help'], {}), null);
});

t.test('restart sync cannot be turned off (a warning says so); inconsistent leader timings are refused', async (t) => {
  t.match(parseWatcherConfig(['--sync-after-restart=false'], {})!.warnings, [/--sync-after-restart: configstamp always syncs at boot/]);
  t.match(parseWatcherConfig(['--reload-on-create=false'], {})!.warnings, [/--reload-on-create: configstamp still rolls/]);
  t.same(parseWatcherConfig([], {})!.warnings, [], 'no warning by default');
  t.throws(() => parseWatcherConfig(['--renew-deadline=20s'], {}), /--retry-period < --renew-deadline < --lease-duration/);
  t.throws(
    () => parseWatcherConfig(['--patch-qps=0', '--debounce=soon'], {}),
    /--debounce: "soon"[\s\S]*--patch-qps: 0 is below the minimum 1/,
    'both problems, in flag order',
  );
});
