/**
 * Shared set-up for the watcher benchmarks (not a benchmark itself): a loopback control plane,
 * bulk creation through the API, the watcher
 * as a real process, and its RSS read from /proc.
 */
import { readFileSync } from 'node:fs';
import { KubeClient } from '../../shared/kube/client.js';
import { mapBounded } from '../../shared/kube/sources.js';
import { startControlPlane } from '../cluster/controlplane.js';
import type { ControlPlane } from '../cluster/controlplane.js';
import { buildCompiled, startConfigstamp } from '../support/process.js';
import type { ConfigstampProcess } from '../support/process.js';

let built = false;

export interface BenchCluster {
  readonly cluster: ControlPlane;
  readonly client: KubeClient;
  stop(): Promise<void>;
}

export async function benchCluster(): Promise<BenchCluster> {
  const cluster = await startControlPlane();
  const client = await KubeClient.create(cluster.access, 'configstamp-bench');
  await client.request('POST', '/api/v1/namespaces', { body: { metadata: { name: 'configstamp' } } });
  return {
    cluster,
    client,
    async stop() {
      client.close();
      await cluster.stop();
    },
  };
}

export async function createAll(client: KubeClient, path: string, bodies: readonly unknown[], concurrency = 16): Promise<void> {
  await mapBounded(bodies, concurrency, (body) => client.request('POST', path, { body }));
}

export function trackedDeployment(name: string, configMap: string, replicas = 0): unknown {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, annotations: { 'configstamp.io/track': 'true' } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'c', image: 'app:1', envFrom: [{ configMapRef: { name: configMap } }] }] },
      },
    },
  };
}

export function trackedCronJob(name: string, configMap: string): unknown {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name, annotations: { 'configstamp.io/track': 'true' } },
    spec: {
      schedule: '0 0 1 1 *',
      suspend: true,
      jobTemplate: {
        spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'app:1', envFrom: [{ configMapRef: { name: configMap } }] }] } } },
      },
    },
  };
}

/**
 * The watcher as production runs it: compiled JavaScript on plain node (built once per benchmark
 * process), so memory figures do not include tsx's loader and the TypeScript compiler.
 */
export async function startBenchWatcher(cluster: ControlPlane, extra: readonly string[]): Promise<ConfigstampProcess> {
  if (!built) {
    buildCompiled();
    built = true;
  }
  const proc = startConfigstamp(
    ['watcher', `--kubeconfig=${cluster.kubeconfigPath}`, '--namespace=configstamp', '--health-port=0', '--leader-elect=false', '--log-level=info', ...extra],
    {},
    { compiled: true },
  );
  await proc.waitFor((r) => r.msg === 'synced: listed namespaces, sources and workloads', 120_000);
  return proc;
}

/** Resident set size of a process, from /proc (Linux). */
export function rssMB(pid: number): number {
  return memory(pid).rssMB;
}

export interface Memory {
  rssMB: number;
  hwmMB: number;
}

/** VmRSS and VmHWM (peak resident set) of a process in MB, from /proc (Linux). */
export function memory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mb = (field: string): number => Math.round((Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) / 1024) * 10) / 10;
  return { rssMB: mb('VmRSS'), hwmMB: mb('VmHWM') };
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! * 10) / 10;
}
