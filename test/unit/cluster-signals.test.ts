// Ctrl-C for `npm run demo` and `npm run cluster` (test/cluster/signals.ts): one press stops in
// order even when it arrives several times; a second press, later, exits at once.
import t from 'tap';
import { REPEATED_SIGNAL_MS, onStopSignals } from '../cluster/signals.js';
import type { SignalHost } from '../cluster/signals.js';

function host() {
  const handlers = new Map<string, (signal: NodeJS.Signals) => void>();
  const state = { now: 1_000, exits: [] as number[], stops: [] as string[], logs: [] as string[] };
  const h: SignalHost = {
    on: (signal, handler) => handlers.set(signal, handler),
    now: () => state.now,
    exit: (code) => void state.exits.push(code),
  };
  onStopSignals(
    (signal) => void state.stops.push(signal),
    (line) => void state.logs.push(line),
    h,
  );
  const send = (signal: NodeJS.Signals) => handlers.get(signal)!(signal);
  return { state, send };
}

t.test('copies of one Ctrl-C (terminal, npm, tsx) stop once and do not exit', async (t) => {
  const { state, send } = host();
  send('SIGINT');
  state.now += 5;
  send('SIGINT');
  state.now += REPEATED_SIGNAL_MS - 10;
  send('SIGINT');
  t.same(state.stops, ['SIGINT']);
  t.same(state.exits, []);
});

t.test('a second press after the first has settled exits at once with 130', async (t) => {
  const { state, send } = host();
  send('SIGTERM');
  state.now += REPEATED_SIGNAL_MS;
  send('SIGINT');
  t.same(state.stops, ['SIGTERM']);
  t.same(state.exits, [130]);
  t.match(state.logs, ['SIGINT again: exiting now']);
});
