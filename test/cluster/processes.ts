/**
 * Finding a control plane's processes from outside it: every component (and its watchdog) has
 * the control plane's work directory on its command line, so /proc/PID/cmdline tells them apart
 * from any other cluster on the machine. Linux only, as are the end-to-end tests.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessInfo {
  readonly pid: number;
  /** argv joined with spaces. */
  readonly command: string;
}

/** Live processes (other than this one) whose command line mentions `text`. */
export function processesMentioning(text: string): ProcessInfo[] {
  if (text.length < 8) throw new TypeError(`refusing to match processes on a short string: ${JSON.stringify(text)}`);
  const found: ProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let command: string;
    try {
      command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    } catch {
      continue; // exited while we looked
    }
    if (command.includes(text) && !isZombie(pid)) found.push({ pid, command });
  }
  return found;
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}
