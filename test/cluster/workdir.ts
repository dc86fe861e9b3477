/**
 * The temporary directory of one control plane: etcd data, certificates, kubeconfigs and one log
 * per component. Its path appears on every component's command line, which is how tests (and
 * people) find a control plane's processes.
 *
 * A control plane whose Node process was SIGKILLed has no chance to delete its directory; its
 * processes die (see supervise.ts) but the directory stays. The next control plane started on
 * this machine removes such leftovers: directories whose owner pid is gone and that were not
 * kept on purpose (CONFIGSTAMP_KEEP_CLUSTER=1 writes a `kept` marker), and in which nothing has
 * been written for a while: a pid alone can mislead when the owner runs in another PID namespace
 * (a sandboxed tool on the same machine), whereas a live control plane keeps writing its logs.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PREFIX = 'configstamp-cluster-';

export interface WorkDir {
  readonly root: string;
  readonly pki: string;
  readonly etcdData: string;
  readonly caCert: string;
  readonly serviceAccountKey: string;
  readonly serviceAccountPub: string;
  readonly adminKubeconfig: string;
  readonly kubectlCache: string;
  log(component: string): string;
}

/** Creates a fresh directory owned by this process. */
export function createWorkDir(): WorkDir {
  removeAbandonedWorkDirs();
  const root = mkdtempSync(join(tmpdir(), PREFIX));
  writeFileSync(join(root, 'owner.pid'), String(process.pid));
  const pki = join(root, 'pki');
  mkdirSync(pki, { mode: 0o700 });
  return {
    root,
    pki,
    etcdData: join(root, 'etcd'),
    caCert: join(pki, 'ca.crt'),
    serviceAccountKey: join(pki, 'sa.key'),
    serviceAccountPub: join(pki, 'sa.pub'),
    adminKubeconfig: join(root, 'admin.kubeconfig'),
    kubectlCache: join(root, 'kubectl-cache'),
    log: (component) => join(root, `${component}.log`),
  };
}

/** Deletes the directory, or marks it kept (and leaves it) when asked to keep it. */
export function disposeWorkDir(dir: WorkDir, keep: boolean): void {
  if (keep) writeFileSync(join(dir.root, 'kept'), '');
  else rmSync(dir.root, { recursive: true, force: true });
}

function removeAbandonedWorkDirs(): void {
  let names: string[];
  try {
    names = readdirSync(tmpdir()).filter((name) => name.startsWith(PREFIX));
  } catch {
    return;
  }
  for (const name of names) {
    const root = join(tmpdir(), name);
    try {
      if (existsSync(join(root, 'kept'))) continue;
      const owner = Number(readFileSync(join(root, 'owner.pid'), 'utf8'));
      if (Number.isInteger(owner) && owner > 0 && !isAlive(owner) && quietFor(root, QUIET_MS)) rmSync(root, { recursive: true, force: true });
    } catch {
      // unreadable or half-created: not ours to judge
    }
  }
}

/** How long a directory must have gone unwritten before it counts as abandoned. */
const QUIET_MS = 3 * 60 * 1000;

/** Whether no file directly in `root` (the component logs among them) changed within `ms`. */
function quietFor(root: string, ms: number): boolean {
  const newest = Math.max(statSync(root).mtimeMs, ...readdirSync(root).map((name) => statSync(join(root, name)).mtimeMs));
  return Date.now() - newest > ms;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
