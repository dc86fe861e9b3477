/**
 * Benchmark: one change of a ConfigMap consumed by 1,000 Deployments, rolled once with no budget
 * and once with `--rollout-budget` (the baseline and the measured run share one control plane and
 * one run). The Deployments have 0 replicas, so a rollout is under way until the Deployment
 * controller has observed the new generation: a short rollout, decided by real status.
 *
 * Reported: the most Deployments rolling at once, by their status as `kubectl rollout status`
 * reads it (sampled by listing them every 100 ms) and by the watcher's own count (its
 * configstamp_watcher_rollout_budget_in_progress gauge, sampled as often); whether either ever
 * exceeded the budget; change → every Deployment observed at its new generation, with and
 * without the budget, and their ratio; the watcher's CPU (user + system, from /proc) and RSS while
 * rollouts wait.
 *
 *   node --import tsx test/bench/watcher-budget.ts
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { rolloutProgress } from '../../shared/core/progress.js';
import { workloadKindByName } from '../../shared/core/kinds.js';
import type { KubeClient } from '../../shared/kube/client.js';
import { waitFor } from '../cluster/readiness.js';
import { benchCluster, createAll, memory, startBenchWatcher, trackedDeployment } from './watcher-harness.js';

const DEPLOYMENT = workloadKindByName('Deployment')!;
const PATH = '/apis/apps/v1/namespaces/budget/deployments';

/** CPU seconds (user + system) a process has used, from /proc/PID/stat. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

interface Phase {
  readonly changeToAllDoneMs: number;
  readonly mostRollingByStatus: number;
  readonly mostRollingByWatcher: number;
  readonly watcherCpuSecondsWhileRolling: number;
  readonly watcherRssMBWhileWaiting: { readonly min: number; readonly max: number };
  readonly rolledOnce: boolean;
}

async function phase(client: KubeClient, n: number, value: string, port: number, pid: number): Promise<Phase> {
  const list = async () =>
    (await client.request<{ items: { metadata: { generation: number }; status?: { observedGeneration?: number } }[] }>('GET', PATH)).items;
  const before = await list();
  const cpu0 = cpuSeconds(pid);
  const t0 = Date.now();
  await client.request('PATCH', '/api/v1/namespaces/budget/configmaps/shared', { body: { data: { k: value } }, contentType: 'application/merge-patch+json' });
  let byStatus = 0;
  let byWatcher = 0;
  const rss: number[] = [];
  let doneAt = 0;
  const target = before.map((d) => d.metadata.generation + 1);
  for (;;) {
    const [items, inProgress] = await Promise.all([list(), metric(port, 'configstamp_watcher_rollout_budget_in_progress')]);
    byWatcher = Math.max(byWatcher, inProgress);
    byStatus = Math.max(byStatus, items.filter((d) => rolloutProgress(DEPLOYMENT, d) === 'progressing').length);
    rss.push(memory(pid).rssMB);
    if (items.length === n && items.every((d, i) => d.metadata.generation >= target[i]! && (d.status?.observedGeneration ?? 0) >= d.metadata.generation)) {
      doneAt = Date.now();
      break;
    }
    if (Date.now() - t0 > 600_000) throw new Error('the rollouts did not finish in 10 minutes');
    await new Promise((r) => setTimeout(r, 100));
  }
  const after = await list();
  return {
    changeToAllDoneMs: doneAt - t0,
    mostRollingByStatus: byStatus,
    mostRollingByWatcher: byWatcher,
    watcherCpuSecondsWhileRolling: Math.round((cpuSeconds(pid) - cpu0) * 100) / 100,
    watcherRssMBWhileWaiting: { min: Math.min(...rss), max: Math.max(...rss) },
    rolledOnce: after.every((d, i) => d.metadata.generation === target[i]),
  };
}

export async function run(options: { deployments?: number; budget?: number } = {}): Promise<Record<string, unknown>> {
  const n = options.deployments ?? 1_000;
  const budget = options.budget ?? 20;
  const bench = await benchCluster();
  try {
    const { client } = bench;
    await client.request('POST', '/api/v1/namespaces', { body: { metadata: { name: 'budget' } } });
    await client.request('POST', '/api/v1/namespaces/budget/configmaps', { body: { metadata: { name: 'shared' }, data: { k: '0' } } });
    await createAll(
      client,
      PATH,
      Array.from({ length: n }, (_, i) => trackedDeployment(`app-${i}`, 'shared')),
    );
    const common = ['--debounce=200ms', '--min-rollout-interval=0', '--patch-qps=200', '--patch-burst=50', '--workers=8'];
    const results: Record<string, Phase> = {};
    for (const [name, extra, value] of [
      ['noBudget', [], '1'],
      ['budget', [`--rollout-budget=${budget}`], '2'],
    ] as const) {
      const watcher = await startBenchWatcher(bench.cluster, [...common, ...extra]);
      try {
        const port = Number((await watcher.waitFor((r) => r.msg === 'ops serving')).port);
        await waitFor('adopted or up to date', async () => watcher.records().some((r) => r.msg === 'restart sync: every workload reconciled once'), {
          timeoutMs: 300_000,
        });
        await new Promise((r) => setTimeout(r, 1_000));
        results[name] = await phase(client, n, value, port, watcher.child.pid!);
      } finally {
        await watcher.stop();
      }
    }
    const withBudget = results.budget!;
    const without = results.noBudget!;
    return {
      deployments: n,
      budget,
      noBudget: without,
      withBudget,
      timeRatioBudgetToNone: Math.round((withBudget.changeToAllDoneMs / without.changeToAllDoneMs) * 100) / 100,
      budgetNeverExceeded: withBudget.mostRollingByStatus <= budget && withBudget.mostRollingByWatcher <= budget,
    };
  } finally {
    await bench.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await run(), null, 2));
}
