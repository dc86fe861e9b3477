/**
 * Runs the real kubectl built from the pinned release. Tests drive the cluster the way users do,
 * so `kubectl apply` semantics (client-side or server-side apply, last-applied annotation) are the
 * real ones. The user's own KUBECONFIG and ~/.kube cache are never touched: every call names its
 * kubeconfig and gets a private discovery cache.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export interface KubectlResult {
  readonly stdout: string;
  readonly stderr: string;
  /** Exit code; null when kubectl was killed (e.g. by the timeout). */
  readonly code: number | null;
}

export interface KubectlOptions {
  /** Written to kubectl's stdin, e.g. a manifest for `apply -f -`. */
  readonly input?: string;
  /** Another identity, e.g. from serviceAccountKubeconfig(); default the admin kubeconfig. */
  readonly kubeconfigPath?: string;
  /** Kill kubectl after this long; default 60 s. */
  readonly timeoutMs?: number;
}

export interface KubectlContext {
  readonly binDir: string;
  readonly adminKubeconfig: string;
  readonly cacheDir: string;
}

/** Runs kubectl; never rejects on a non-zero exit (tests assert on `code`), only on spawn failure. */
export function runKubectl(ctx: KubectlContext, args: readonly string[], options: KubectlOptions = {}): Promise<KubectlResult> {
  if (!Array.isArray(args) || args.some((a) => typeof a !== 'string')) {
    return Promise.reject(new TypeError('kubectl args must be an array of strings'));
  }
  const env: NodeJS.ProcessEnv = { ...process.env, KUBECACHEDIR: ctx.cacheDir };
  delete env.KUBECONFIG;
  const kubeconfig = options.kubeconfigPath ?? ctx.adminKubeconfig;
  return new Promise((resolve, reject) => {
    const child = spawn(join(ctx.binDir, 'kubectl'), [`--kubeconfig=${kubeconfig}`, ...args], {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`could not run kubectl: ${err.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code });
    });
    child.stdin.on('error', () => undefined); // kubectl may exit before reading its input
    child.stdin.end(options.input ?? '');
  });
}

/** Anything that runs the real kubectl: a ControlPlane. */
export interface RunsKubectl {
  kubectl(args: readonly string[], options?: KubectlOptions): Promise<KubectlResult>;
}

/** Runs kubectl and returns its stdout; a non-zero exit throws with the command and its stderr. */
export async function kubectlOk(cluster: RunsKubectl, args: readonly string[], input?: string): Promise<string> {
  const r = await cluster.kubectl(args, { input });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${String(r.code)}): ${r.stderr.trim()}`);
  return r.stdout;
}
