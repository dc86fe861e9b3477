/**
 * Ctrl-C for the foreground tools (`npm run demo`, `npm run cluster`): the first SIGINT or SIGTERM
 * stops things in order, a deliberate second one exits at once. One Ctrl-C reaches a process that
 * `npm run` started more than once (from the terminal, and relayed by npm and by tsx), so copies
 * that arrive within REPEATED_SIGNAL_MS of the first are the same press and are ignored.
 */

export const REPEATED_SIGNAL_MS = 1_000;

export interface SignalHost {
  on(signal: NodeJS.Signals, handler: (signal: NodeJS.Signals) => void): unknown;
  now(): number;
  exit(code: number): void;
}

const processHost: SignalHost = {
  on: (signal, handler) => process.on(signal, handler),
  now: () => Date.now(),
  exit: (code) => process.exit(code),
};

export function onStopSignals(stop: (signal: NodeJS.Signals) => void, log: (line: string) => void, host: SignalHost = processHost): void {
  let first: number | undefined;
  const handle = (signal: NodeJS.Signals): void => {
    if (first === undefined) {
      first = host.now();
      stop(signal);
      return;
    }
    if (host.now() - first < REPEATED_SIGNAL_MS) return;
    log(`${signal} again: exiting now`);
    host.exit(130);
  };
  host.on('SIGINT', handle);
  host.on('SIGTERM', handle);
}
