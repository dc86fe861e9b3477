/**
 * Runs a control-plane component so that it cannot outlive the Node process that started it.
 *
 * process.on('exit') does not run on SIGKILL, an OOM kill or a hard crash, so each component is
 * started under a small bash watchdog instead. The watchdog holds the read end of a pipe whose
 * only writer is this Node process; the kernel closes that pipe however Node dies, the watchdog
 * sees end-of-file, and it stops the component (SIGTERM, then SIGKILL after a grace period).
 * stop() uses the same path: it closes the pipe and waits. The watchdog leads its own process
 * group, so Ctrl-C in a terminal reaches only Node, which then stops the components in order,
 * and a last-resort SIGKILL to the group takes the component with it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

/** Seconds the watchdog waits after SIGTERM before it sends SIGKILL. */
const GRACE_SECONDS = 5;

const WATCHDOG = `
exec 3<&0
"$@" </dev/null 3<&- &
child=$!
trap 'kill -TERM "$child" 2>/dev/null' TERM INT HUP
{
  while read -r -u 3 _; do :; done
  kill -TERM "$child" 2>/dev/null
  for ((i = 0; i < ${GRACE_SECONDS * 10}; i++)); do kill -0 "$child" 2>/dev/null || exit 0; sleep 0.1; done
  kill -KILL "$child" 2>/dev/null
} </dev/null &
guard=$!
exec 3<&-
while :; do
  wait "$child"; code=$?
  kill -0 "$child" 2>/dev/null || break
done
kill "$guard" 2>/dev/null
exit "$code"
`;

export interface Supervised {
  readonly name: string;
  /** The watchdog's pid, which is also the component's process group id. */
  readonly pid: number;
  readonly logPath: string;
  /** Settles with the exit code (or signal name) once the component and its watchdog are gone. */
  readonly exited: Promise<number | string>;
  readonly hasExited: () => boolean;
  /** Stops the component and waits for it; SIGKILLs the whole group if it overstays. */
  stop(): Promise<void>;
}

export interface SuperviseOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** stdout and stderr of the component are appended here. */
  readonly logPath: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** Starts `command args` under a watchdog tied to this process's lifetime. */
export function supervise(options: SuperviseOptions): Supervised {
  const logFd = openSync(options.logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn('bash', ['-c', WATCHDOG, options.name, options.command, ...options.args], {
      stdio: ['pipe', logFd, logFd],
      detached: true,
      env: options.env ?? process.env,
    });
  } finally {
    closeSync(logFd);
  }
  if (child.pid === undefined) throw new Error(`could not start ${options.name} (${options.command})`);
  const pid = child.pid;
  // A component must never keep this process alive, nor fail it: its pipe is a lifeline only.
  child.unref();
  child.stdin?.on('error', () => undefined);
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();

  let done = false;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve(code ?? signal ?? 'unknown');
    });
    child.once('error', (err) => {
      done = true;
      resolve(`spawn error: ${err.message}`);
    });
  });

  async function stop(): Promise<void> {
    if (done) return;
    child.ref(); // keep this process alive until the component is really gone
    child.stdin?.destroy();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(resolve, (GRACE_SECONDS + 3) * 1000, 'timeout');
    });
    if ((await Promise.race([exited, timeout])) === 'timeout') {
      killGroup(pid);
      await exited;
    }
    clearTimeout(timer);
  }

  return { name: options.name, pid, logPath: options.logPath, exited, hasExited: () => done, stop };
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * The end of a component's log for error messages: its last error lines first (klog `E`/`F`
 * lines, etcd's error-level JSON), since the fatal one is often followed by routine noise.
 */
export function logTail(logPath: string, lines = 15): string {
  let all: string[];
  try {
    all = readFileSync(logPath, 'utf8').trimEnd().split('\n');
  } catch {
    return '(no log)';
  }
  const errors = all.filter((line) => /^[EF]\d{4} |"level":"(error|fatal|panic)"/.test(line)).slice(-5);
  const tail = all.slice(-lines).join('\n');
  return errors.length > 0 ? `last errors:\n${errors.join('\n')}\nlast lines:\n${tail}` : tail;
}
