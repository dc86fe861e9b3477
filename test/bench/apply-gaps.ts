/**
 * Measurement (issue #16 point 3): how far apart the watch events of one `kubectl apply` of a
 * ConfigMap and a Secret, and of one `helm upgrade` of a chart holding both, arrive at a watcher.
 * That gap is what a debounce must cover to turn such an apply into one rollout. Measured idle
 * and with the machine loaded (two busy processes, one per core here), in one run.
 *
 * For each apply: both objects get new data; a watch on ConfigMaps and one on Secrets in the
 * namespace record when each MODIFIED event arrives; the gap is the time between the first and
 * the last of the two.
 *
 * Meanwhile configstamp's watcher runs with its default debounce (the churn guard off, so a
 * split apply would show as two rollouts rather than one held back) over a Deployment consuming
 * both: each apply must give exactly one rollout, and the time from the apply's start to the
 * rollout patch is what that default costs.
 *
 *   node --import tsx test/bench/apply-gaps.ts
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { KubeClient } from '../../shared/kube/client.js';
import { benchCluster, percentile } from './watcher-harness.js';
import type { BenchCluster } from './watcher-harness.js';
import { startBenchWatcher } from './watcher-harness.js';
import type { ConfigstampProcess } from '../support/process.js';

const NS = 'gaps';

function exec(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv, input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${err.slice(0, 500)}`))));
    child.stdin.end(input ?? '');
  });
}

/** Watches ConfigMaps and Secrets of the namespace; resolves each pair of MODIFIED events with its gap. */
function pairWatch(client: KubeClient, signal: AbortSignal): { next(): Promise<number> } {
  let times: number[] = [];
  let done: ((gap: number) => void) | undefined;
  const on = (e: { type: string; object: unknown }): void => {
    const name = (e.object as { metadata?: { name?: string } }).metadata?.name;
    if (e.type !== 'MODIFIED' || name !== 'settings') return;
    times.push(performance.now());
    if (times.length === 2 && done !== undefined) {
      const gap = Math.abs(times[1]! - times[0]!);
      times = [];
      const d = done;
      done = undefined;
      d(gap);
    }
  };
  void client.watch(`/api/v1/namespaces/${NS}/configmaps`, { signal }, on).catch(() => undefined);
  void client.watch(`/api/v1/namespaces/${NS}/secrets`, { signal }, on).catch(() => undefined);
  return {
    next: () =>
      new Promise<number>((resolve, reject) => {
        times = [];
        const timer = setTimeout(() => reject(new Error('no pair of events within 30 s')), 30_000);
        done = (gap) => {
          clearTimeout(timer);
          resolve(gap);
        };
      }),
  };
}

const manifest = (i: number): string =>
  [
    `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings, namespace: ${NS} }\ndata: { level: "v${i}" }`,
    `apiVersion: v1\nkind: Secret\nmetadata: { name: settings, namespace: ${NS} }\nstringData: { password: "p${i}" }`,
  ].join('\n---\n');

function chart(dir: string): string {
  const root = join(dir, 'chart');
  mkdirSync(join(root, 'templates'), { recursive: true });
  writeFileSync(join(root, 'Chart.yaml'), 'apiVersion: v2\nname: gaps\nversion: 0.1.0\n');
  writeFileSync(join(root, 'values.yaml'), 'value: "0"\n');
  writeFileSync(
    join(root, 'templates', 'both.yaml'),
    'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings }\ndata: { level: "v{{ .Values.value }}" }\n---\napiVersion: v1\nkind: Secret\nmetadata: { name: settings }\nstringData: { password: "p{{ .Values.value }}" }\n',
  );
  return root;
}

/** Busy loops, one per core, for the loaded runs. */
function burn(cores: number): ChildProcess[] {
  return Array.from({ length: cores }, () => spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }));
}

interface Gaps {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}
const gapsOf = (v: readonly number[]): Gaps => ({ p50: percentile(v, 50), p90: percentile(v, 90), p99: percentile(v, 99), max: percentile(v, 100) });

interface Measured {
  readonly gaps: Gaps;
  /** How many rollouts each apply gave, as a histogram: {"1": rounds} is the goal. */
  readonly rolloutsPerApply: Record<string, number>;
  /** From the apply's start to configstamp's rollout patch, default debounce included. */
  readonly applyToPatchMs: Gaps;
}

/** The watcher's rollout lines for the tracked Deployment so far. */
const rolloutRecords = (watcher: ConfigstampProcess): Record<string, unknown>[] =>
  watcher.records().filter((r) => r.msg === 'rollout: stamp patched' && String(r.workload).endsWith(`/${NS}/app`));
const rolloutsOf = (watcher: ConfigstampProcess): number => rolloutRecords(watcher).length;

/** Runs `apply` `rounds` times; each round waits for the pair of events, then for the rollouts to settle. */
async function rounds(n: number, pairs: { next(): Promise<number> }, watcher: ConfigstampProcess, apply: (i: number) => Promise<void>): Promise<Measured> {
  const gaps: number[] = [];
  const toPatch: number[] = [];
  const perApply: Record<string, number> = {};
  for (let i = 1; i <= n; i++) {
    const before = rolloutsOf(watcher);
    const started = performance.now();
    const gap = pairs.next();
    await apply(i);
    gaps.push(await gap);
    await watcher.waitFor(() => rolloutsOf(watcher) > before, 10_000);
    const first = rolloutRecords(watcher)[before]!;
    toPatch.push(Date.parse(String(first.time)) - (performance.timeOrigin + started));
    // A split apply's second rollout would follow within its gap plus the debounce: wait that out.
    await new Promise((r) => setTimeout(r, 1_500));
    const count = String(rolloutsOf(watcher) - before);
    perApply[count] = (perApply[count] ?? 0) + 1;
  }
  return { gaps: gapsOf(gaps), rolloutsPerApply: perApply, applyToPatchMs: gapsOf(toPatch) };
}

async function measure(
  bench: BenchCluster,
  env: NodeJS.ProcessEnv,
  chartDir: string,
  n: number,
  offset: number,
  watcher: ConfigstampProcess,
): Promise<{ kubectl: Measured; helm: Measured }> {
  const abort = new AbortController();
  const pairs = pairWatch(bench.client, abort.signal);
  await new Promise((r) => setTimeout(r, 500));
  const kubeconfig = bench.cluster.kubeconfigPath;
  try {
    const kubectl = await rounds(n, pairs, watcher, (i) =>
      exec(join(bench.cluster.binDir, 'kubectl'), [`--kubeconfig=${kubeconfig}`, 'apply', '-f', '-'], env, manifest(offset + i)),
    );
    const helm = await rounds(n, pairs, watcher, (i) =>
      exec(
        join(bench.cluster.binDir, 'helm'),
        [`--kubeconfig=${kubeconfig}`, 'upgrade', '--install', 'gaps', chartDir, '-n', NS, '--set', `value=${offset + i}`],
        env,
      ),
    );
    return { kubectl, helm };
  } finally {
    abort.abort();
  }
}

/** A Deployment consuming the ConfigMap and the Secret. */
function consumer(): unknown {
  return {
    metadata: { name: 'app', annotations: { 'configstamp.io/track': 'true' } },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: 'app' } },
      template: {
        metadata: { labels: { app: 'app' } },
        spec: { containers: [{ name: 'c', image: 'app:1', envFrom: [{ configMapRef: { name: 'settings' } }, { secretRef: { name: 'settings' } }] }] },
      },
    },
  };
}

export async function run(options: { rounds?: number } = {}): Promise<Record<string, unknown>> {
  const n = options.rounds ?? 30;
  const bench = await benchCluster();
  const home = mkdtempSync(join(tmpdir(), 'configstamp-gaps-'));
  const env = { ...process.env, HOME: home, HELM_CACHE_HOME: join(home, 'c'), HELM_CONFIG_HOME: join(home, 'g'), HELM_DATA_HOME: join(home, 'd') };
  try {
    await bench.client.request('POST', '/api/v1/namespaces', { body: { metadata: { name: NS } } });
    const chartDir = chart(home);
    // The first helm release installs; later ones upgrade (what is measured).
    await exec(join(bench.cluster.binDir, 'helm'), [`--kubeconfig=${bench.cluster.kubeconfigPath}`, 'upgrade', '--install', 'gaps', chartDir, '-n', NS], env);
    await bench.client.request('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, { body: consumer() });
    const watcher = await startBenchWatcher(bench.cluster, ['--min-rollout-interval=0']);
    try {
      await watcher.waitFor((r) => String(r.msg).startsWith('adopted'), 60_000);
      const idle = await measure(bench, env, chartDir, n, 0, watcher);
      const burners = burn(2);
      let loaded;
      try {
        loaded = await measure(bench, env, chartDir, n, 1_000, watcher);
      } finally {
        for (const b of burners) b.kill('SIGKILL');
      }
      return { rounds: n, watcher: 'default --debounce (500ms quiet, 2s max), --min-rollout-interval=0', idle, loaded };
    } finally {
      await watcher.stop();
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
    await bench.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await run(), null, 2));
}
