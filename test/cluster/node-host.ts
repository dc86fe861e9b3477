/**
 * What a test node holds on the machine itself, outside its work directory, and how all of it is
 * given back: a network namespace, a persisted mount namespace, cgroups in every hierarchy and
 * three global sysctls the kubelet rewrites.
 *
 * Every node records itself in STATE_DIR (tmpfs, like the namespaces and cgroups it describes)
 * before it creates any of it. One node runs on the machine at a time (a lock in STATE_DIR), so
 * whoever holds the lock knows that every record it finds is a node whose owner died (SIGKILL,
 * OOM, a tap timeout) and tears it down before starting its own: a killed run is cleaned up by
 * the next one. Teardown is the same code either way, so the crash path is exercised every run.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processesMentioning } from './processes.js';

export const STATE_DIR = '/run/configstamp-node';
const CGROUP_FS = '/sys/fs/cgroup';
/** The global (not per-namespace) sysctls the kubelet sets: saved before it starts, restored after. */
export const KUBELET_SYSCTLS = ['vm/overcommit_memory', 'kernel/panic', 'kernel/panic_on_oops'] as const;

export interface NodeRecord {
  readonly id: string;
  readonly ownerPid: number;
  /** ip netns name; /run/netns/NAME */
  readonly netns: string;
  /** file holding the persisted mount namespace the runtime and kubelet share */
  readonly mountNs: string;
  /** cgroup name under each hierarchy, e.g. configstamp-node-ab12cd */
  readonly cgroup: string;
  /** the node's work directory (containerd root, kubelet root, logs) */
  readonly dir: string;
  /** CNI network name */
  readonly cniNetwork: string;
}

const log = (line: string) => process.stderr.write(`[node] ${line}\n`);

// ---- the one-node-at-a-time lock ----------------------------------------------------------------

export interface NodeLock {
  release(): void;
}

/**
 * Takes the machine-wide node lock with flock(1), held by a child whose stdin is a pipe from this
 * process: however this process dies, the pipe closes, `cat` exits and the lock is free.
 */
export async function takeNodeLock(timeoutMs: number, waiting?: (line: string) => void): Promise<NodeLock> {
  mkdirSync(STATE_DIR, { recursive: true });
  const child: ChildProcess = spawn(
    'flock',
    ['-w', String(Math.ceil(timeoutMs / 1000)), join(STATE_DIR, 'lock'), 'sh', '-c', 'echo locked; exec cat >/dev/null'],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  child.stdin?.on('error', () => undefined);
  const notice = setTimeout(() => waiting?.('another test node is running on this machine; waiting for it'), 1000);
  try {
    // While waiting, the child and its pipes keep this process alive (a CLI has nothing else).
    await new Promise<void>((resolve, reject) => {
      child.stdout?.once('data', () => resolve());
      child.once('exit', (code) =>
        reject(new Error(`could not take the node lock ${join(STATE_DIR, 'lock')} within ${timeoutMs} ms (flock exited ${String(code)})`)),
      );
      child.once('error', reject);
    });
  } finally {
    clearTimeout(notice);
  }
  // Held: from now on the lock must never keep this process alive, only die with it.
  child.unref();
  for (const stream of [child.stdin, child.stdout]) (stream as unknown as { unref?: () => void } | null)?.unref?.();
  child.stdout?.resume();
  return {
    release() {
      child.stdin?.destroy();
    },
  };
}

// ---- records --------------------------------------------------------------------------------------

export function writeRecord(record: NodeRecord): void {
  mkdirSync(join(STATE_DIR, 'nodes'), { recursive: true });
  writeFileSync(join(STATE_DIR, 'nodes', `${record.id}.json`), JSON.stringify(record, null, 2));
}

function removeRecord(id: string): void {
  rmSync(join(STATE_DIR, 'nodes', `${id}.json`), { force: true });
}

function records(): NodeRecord[] {
  let names: string[];
  try {
    names = readdirSync(join(STATE_DIR, 'nodes')).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  const found: NodeRecord[] = [];
  for (const name of names) {
    try {
      found.push(JSON.parse(readFileSync(join(STATE_DIR, 'nodes', name), 'utf8')) as NodeRecord);
    } catch {
      rmSync(join(STATE_DIR, 'nodes', name), { force: true }); // half-written by a killed run
    }
  }
  return found;
}

/** With the lock held: every record is a node whose owner is gone. Tears each down. */
export async function cleanUpAbandonedNodes(): Promise<void> {
  for (const record of records()) {
    log(`cleaning up test node ${record.id} left by process ${record.ownerPid} (killed?)`);
    await teardownNode(record);
  }
  restoreSysctls();
}

// ---- sysctls --------------------------------------------------------------------------------------

const sysctlFile = () => join(STATE_DIR, 'sysctls.json');

/** Saves the kubelet's global sysctls, unless a saved copy (from a killed run) is already there. */
export function saveSysctls(): void {
  if (existsSync(sysctlFile())) return;
  const saved: Record<string, string> = {};
  for (const key of KUBELET_SYSCTLS) saved[key] = readFileSync(`/proc/sys/${key}`, 'utf8').trim();
  mkdirSync(STATE_DIR, { recursive: true });
  writeFileSync(sysctlFile(), JSON.stringify(saved));
}

export function restoreSysctls(): void {
  let saved: Record<string, string>;
  try {
    saved = JSON.parse(readFileSync(sysctlFile(), 'utf8')) as Record<string, string>;
  } catch {
    return;
  }
  for (const [key, value] of Object.entries(saved)) {
    try {
      if (readFileSync(`/proc/sys/${key}`, 'utf8').trim() !== value) writeFileSync(`/proc/sys/${key}`, value);
    } catch (err) {
      log(`could not restore ${key}=${value}: ${(err as Error).message}`);
    }
  }
  unlinkSync(sysctlFile());
}

export function readSysctls(): Record<string, string> {
  return Object.fromEntries(KUBELET_SYSCTLS.map((key) => [key, readFileSync(`/proc/sys/${key}`, 'utf8').trim()]));
}

// ---- namespaces and cgroups ------------------------------------------------------------------------

function run(command: string, args: readonly string[], options: { allowFail?: boolean } = {}): { code: number; out: string } {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  const code = r.status ?? -1;
  if (code !== 0 && !options.allowFail) throw new Error(`${command} ${args.join(' ')} failed (${code}): ${out}`);
  return { code, out };
}

/**
 * The node's network: a namespace with loopback up and a bridge with no ports that holds the node
 * IP and the default route (this kernel has no dummy links). Nothing connects it to the machine's
 * own network, so no packet can leave, and fixed addresses cannot collide with anything outside.
 */
export function createNetwork(record: NodeRecord, nodeIp: string): void {
  run('ip', ['netns', 'add', record.netns]);
  const ns = ['-n', record.netns];
  run('ip', [...ns, 'link', 'set', 'lo', 'up']);
  run('ip', [...ns, 'link', 'add', 'node0', 'type', 'bridge']);
  run('ip', [...ns, 'addr', 'add', `${nodeIp}/32`, 'dev', 'node0']);
  run('ip', [...ns, 'link', 'set', 'node0', 'up']);
  run('ip', [...ns, 'route', 'add', 'default', 'dev', 'node0']);
}

/**
 * A mount namespace, persisted at record.mountNs, that containerd, its shims and the kubelet share:
 * the kubelet's volume mounts, container root filesystems and pod network namespace files live
 * there, never on the machine, and go away with it. The fixed paths containerd, CNI and the
 * kubelet write to outside their configured directories (/run/netns and /run/containerd,
 * /var/lib/cni, /var/log/containers) get a tmpfs of their own inside it, so nothing of theirs
 * lands on the machine's disk either.
 */
export function createMountNamespace(record: NodeRecord): void {
  mkdirSync(join(STATE_DIR, 'mnt'), { recursive: true });
  writeFileSync(record.mountNs, '');
  run('unshare', [`--mount=${record.mountNs}`, '--propagation', 'private', 'true']);
  const createdCni = !existsSync('/var/lib/cni');
  if (createdCni) writeFileSync(join(STATE_DIR, 'created-var-lib-cni'), '');
  run('nsenter', [
    `--mount=${record.mountNs}`,
    'sh',
    '-c',
    'mkdir -p /var/lib/cni && for d in /run /var/log /var/lib/cni; do mount -t tmpfs -o mode=0755 configstamp-node "$d" || exit 1; done',
  ]);
}

function hierarchies(): string[] {
  try {
    return readdirSync(CGROUP_FS).filter((name) => {
      try {
        return statSync(join(CGROUP_FS, name)).isDirectory() && existsSync(join(CGROUP_FS, name, 'cgroup.procs'));
      } catch {
        return false;
      }
    });
  } catch {
    return [];
  }
}

/**
 * The kubelet's cgroupRoot, made in every hierarchy (cpuset needs its cpus and mems copied from
 * the parent), and under it `runtime`, where containerd and the kubelet themselves run: every
 * process of the node, shims and containers included, is then somewhere under the root.
 */
export function createCgroups(record: NodeRecord): void {
  for (const h of hierarchies()) {
    for (const path of [join(CGROUP_FS, h, record.cgroup), join(CGROUP_FS, h, record.cgroup, 'runtime')]) {
      mkdirSync(path, { recursive: true });
      if (h === 'cpuset') {
        for (const file of ['cpuset.cpus', 'cpuset.mems']) {
          writeFileSync(join(path, file), readFileSync(join(path, '..', file), 'utf8').trim());
        }
      }
    }
  }
}

/** The file to write a pid into to put it in `runtime` (the pids hierarchy, for killing all). */
export function runtimeCgroupProcs(record: NodeRecord): string[] {
  return hierarchies().map((h) => join(CGROUP_FS, h, record.cgroup, 'runtime', 'cgroup.procs'));
}

function cgroupTree(root: string): string[] {
  // deepest first
  const out: string[] = [];
  const walk = (dir: string) => {
    let entries: string[] = [];
    try {
      entries = readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name);
    } catch {
      return;
    }
    for (const e of entries) walk(join(dir, e));
    out.push(dir);
  };
  if (existsSync(root)) walk(root);
  return out;
}

function pidsIn(record: NodeRecord): number[] {
  const pids = new Set<number>();
  for (const h of hierarchies()) {
    for (const dir of cgroupTree(join(CGROUP_FS, h, record.cgroup))) {
      try {
        for (const line of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) {
          const pid = Number(line);
          if (pid > 0 && !isZombie(pid)) pids.add(pid);
        }
      } catch {
        // gone meanwhile
      }
    }
  }
  return [...pids];
}

export function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true; // no such process
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Live processes of the node: in its cgroups, or naming its work directory (shims, watchdogs). */
export function nodeProcesses(record: NodeRecord): number[] {
  const pids = new Set(pidsIn(record));
  for (const p of processesMentioning(record.dir)) pids.add(p.pid);
  pids.delete(process.pid);
  return [...pids];
}

// ---- teardown ---------------------------------------------------------------------------------------

/**
 * Gives back everything the node holds, in an order that cannot wedge: kill every process (in its
 * cgroups or naming its directory) until none is left alive, drop the mount namespace (which takes
 * every container mount with it), delete the network namespace (bridge, veths and nftables tables
 * go with it), remove the cgroups deepest first, then the work directory and the record. Idempotent; throws only if something would not go.
 */
export async function teardownNode(record: NodeRecord, options: { keepDir?: boolean } = {}): Promise<void> {
  const problems: string[] = [];
  const deadline = Date.now() + 30_000;
  for (;;) {
    const pids = nodeProcesses(record);
    if (pids.length === 0) break;
    if (Date.now() > deadline) {
      problems.push(`processes still alive: ${pids.join(', ')}`);
      break;
    }
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await sleep(100);
  }

  if (existsSync(record.mountNs)) {
    run('umount', ['-l', record.mountNs], { allowFail: true });
    rmSync(record.mountNs, { force: true });
  }
  if (existsSync(`/run/netns/${record.netns}`)) {
    const r = run('ip', ['netns', 'delete', record.netns], { allowFail: true });
    if (r.code !== 0) problems.push(`ip netns delete ${record.netns}: ${r.out}`);
  }

  for (const h of hierarchies()) {
    for (const dir of cgroupTree(join(CGROUP_FS, h, record.cgroup))) {
      for (let attempt = 0; ; attempt++) {
        try {
          rmdirSync(dir);
          break;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') break;
          // EBUSY: a task that was just killed is still being reaped
          if (attempt >= 100) {
            problems.push(`cgroup ${dir}: ${code ?? String(err)}`);
            break;
          }
          await sleep(100);
        }
      }
    }
  }

  // The mount point the mount namespace needed (its content was a tmpfs in there).
  if (existsSync(join(STATE_DIR, 'created-var-lib-cni'))) {
    try {
      rmdirSync('/var/lib/cni');
    } catch {
      // not empty: someone else uses it now
    }
    rmSync(join(STATE_DIR, 'created-var-lib-cni'), { force: true });
  }

  if (!options.keepDir) rmSync(record.dir, { recursive: true, force: true });
  if (problems.length > 0) throw new Error(`test node ${record.id} teardown left: ${problems.join('; ')}`);
  removeRecord(record.id);
}
