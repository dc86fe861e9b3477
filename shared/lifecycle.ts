/**
 * An explicit process lifecycle: on the first SIGINT/SIGTERM stop taking work, drain and close;
 * on the second, exit at once. Used by every long-running subcommand's main.
 */
import type { Logger } from './log.js';

export interface Lifecycle {
  /** Resolves when the first signal arrives (or stop() is called). */
  readonly stopped: Promise<string>;
  stop(reason: string): void;
}

export function installSignalHandlers(log: Logger): Lifecycle {
  let resolve!: (reason: string) => void;
  const stopped = new Promise<string>((r) => (resolve = r));
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) {
      log.info({ signal }, 'stopping: draining work; send the signal again to exit at once');
      resolve(signal);
    } else {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { stopped, stop: (reason) => resolve(reason) };
}
