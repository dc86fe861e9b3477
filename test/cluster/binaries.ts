/**
 * Where the pinned control-plane binaries live, and building them when they are missing.
 *
 * The cache directory is named after the pinned versions (read from the go.mod files, the same
 * way build.sh reads them), so changing a pin can never run stale binaries. A warm cache costs
 * a few stat calls; a cold one runs build.sh, whose progress goes to stderr because it can take
 * many minutes and a silent test run looks hung.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CONTROL_PLANE_BINARIES = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kubectl'] as const;
/** What a real node adds (build.sh builds them into the same directory). */
export const NODE_BINARIES = ['kubelet', 'kube-proxy', 'kube-scheduler', 'pause'] as const;

const clusterDir = dirname(fileURLToPath(import.meta.url));

/** The pinned versions, e.g. { kubernetes: 'v1.37.2', etcd: 'v3.7.3' }. */
export function pinnedVersions(): { kubernetes: string; etcd: string } {
  return {
    kubernetes: requiredVersion(join(clusterDir, 'go/kubernetes/go.mod'), 'k8s.io/kubernetes'),
    etcd: requiredVersion(join(clusterDir, 'go/etcd/go.mod'), 'go.etcd.io/etcd/server/v3'),
  };
}

/** The directory build.sh fills: $CONFIGSTAMP_CACHE (default ~/.cache/configstamp)/k8s-V-etcd-V. */
export function binaryDir(cacheRoot?: string): string {
  const { kubernetes, etcd } = pinnedVersions();
  return join(cacheRoot ?? defaultCacheRoot(), `k8s-${kubernetes}-etcd-${etcd}`);
}

export function defaultCacheRoot(): string {
  return process.env.CONFIGSTAMP_CACHE || join(homedir(), '.cache', 'configstamp');
}

/** Binaries missing (or not executable) in `dir`. */
export function missingBinaries(dir: string, names: readonly string[] = CONTROL_PLANE_BINARIES): string[] {
  return names.filter((name) => {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
}

/**
 * The directory holding all control-plane binaries, running build.sh first if any is missing.
 * build.sh serialises concurrent builds itself, so parallel test files may both call this.
 */
export async function ensureBinaries(options: { cacheRoot?: string; progress?: NodeJS.WritableStream; names?: readonly string[] } = {}): Promise<string> {
  const dir = binaryDir(options.cacheRoot);
  const names = options.names ?? CONTROL_PLANE_BINARIES;
  const missing = missingBinaries(dir, names);
  if (missing.length === 0) return dir;
  const progress = options.progress ?? process.stderr;
  progress.write(`[cluster] missing ${missing.join(', ')} in ${dir}; running test/cluster/build.sh\n`);
  const built = await runBuildScript(options.cacheRoot, progress);
  const stillMissing = missingBinaries(built, names);
  if (stillMissing.length > 0) throw new Error(`build.sh finished but ${stillMissing.join(', ')} are missing in ${built}`);
  return built;
}

function runBuildScript(cacheRoot: string | undefined, progress: NodeJS.WritableStream): Promise<string> {
  const env = cacheRoot ? { ...process.env, CONFIGSTAMP_CACHE: cacheRoot } : process.env;
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(clusterDir, 'build.sh')], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => progress.write(chunk));
    child.on('error', (err) => reject(new Error(`could not run build.sh: ${err.message}`)));
    child.on('close', (code) => {
      const dir = stdout.trim().split('\n').pop() ?? '';
      if (code === 0 && dir !== '') resolve(dir);
      else reject(new Error(`test/cluster/build.sh failed with exit code ${String(code)} (its output is above)`));
    });
  });
}

/** The version a go.mod pins `module` at: `require M V` alone, or `M V` inside a require block. */
function requiredVersion(goMod: string, module: string): string {
  for (const line of readFileSync(goMod, 'utf8').split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[0] === 'require' && words[1] === module && words[2]) return words[2];
    if (words[0] === module && words[1]?.startsWith('v')) return words[1];
  }
  throw new Error(`${goMod} does not require ${module}`);
}
