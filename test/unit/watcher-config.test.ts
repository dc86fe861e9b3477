// `configstamp watcher` flags: Reloader's spellings work, leader-election timings are checked,
// and Reloader flags whose "off" would break configstamp's guarantees are refused with a reason.
import t from 'tap';
import { parseWatcherConfig } from '../../watcher/config.js';

t.test('defaults and Reloader aliases', async (t) => {
  const d = parseWatcherConfig([], {})!;
  t.equal(d.debounceMs, 2000);
  t.equal(d.rollOnDelete, false);
  t.equal(d.leaderElect, true);
  const c = parseWatcherConfig(['--reload-on-delete', '--enable-ha=false', '--auto-reload-all', '--sync-after-restart=true'], { CONFIGSTAMP_DEBOUNCE: '250ms' })!;
  t.equal(c.rollOnDelete, true, '--reload-on-delete');
  t.equal(c.leaderElect, false, '--enable-ha');
  t.equal(c.policy.trackAll, true, '--auto-reload-all');
  t.equal(c.debounceMs, 250, 'env var');
  t.ok(Object.isFrozen(c));
  t.equal(parseWatcherConfig(['--help'], {}), null);
});

t.test('refused: turning off restart sync, and inconsistent leader timings', async (t) => {
  t.throws(() => parseWatcherConfig(['--sync-after-restart=false'], {}), /--sync-after-restart=false: configstamp always syncs on boot/);
  t.throws(() => parseWatcherConfig(['--reload-on-create=false'], {}), /--reload-on-create=false/);
  t.throws(() => parseWatcherConfig(['--renew-deadline=20s'], {}), /--retry-period < --renew-deadline < --lease-duration/);
  t.throws(() => parseWatcherConfig(['--patch-qps=0', '--debounce=soon'], {}), /--debounce: "soon"[\s\S]*--patch-qps: 0 is below the minimum 1/, 'both problems, in flag order');
});
