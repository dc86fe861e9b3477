/**
 * Benchmark: what the webhook's matchConditions save a create. CREATE latency of Deployments
 * through the real API server, in one run against one control plane, with
 *   (a) no webhook registered,
 *   (b) the shipped configuration (deploy/base: matchConditions, two entries),
 *   (c) the same entries without matchConditions (every workload is sent, as before them),
 * for untracked Deployments (no key: under (b) the API server does not call the webhook) and for
 * tracked ones (configstamp.io/track, consuming a ConfigMap and a Secret: stamped under (b) and
 * (c), each create reading both fresh). Each round runs the three settings, their order rotated
 * every round so drift in the machine's load falls on all of them; in each, n untracked creates
 * and then n tracked ones. Sequential POSTs from one keep-alive client. Reports p50/p90 per setting and the
 * ratios to (a) untracked; untracked under (c) is the floor, what calling any webhook costs.
 * The webhook's own admission counter checks what reached it in each setting.
 *
 *   node --import tsx test/bench/webhook-match.ts        (npm run bench -- webhook-match)
 */
import { pathToFileURL } from 'node:url';
import { KubeClient } from '../../shared/kube/client.js';
import { ensureHashKey } from '../../shared/kube/hashkey.js';
import { startControlPlane } from '../cluster/controlplane.js';
import { eventually } from '../support/poll.js';
import { probeWebhook, registerWebhook, startWebhookProcess } from '../support/webhook-registration.js';
import type { RegistrationOptions } from '../support/webhook-registration.js';
import { deployment } from './webhook-e2e.js';

const NS = 'bench';
type Setting = 'none' | 'conditions' | 'unconditional';
const SETTINGS: readonly Setting[] = ['none', 'conditions', 'unconditional'];
const REGISTRATION: Readonly<Record<Exclude<Setting, 'none'>, RegistrationOptions>> = { conditions: {}, unconditional: { matchConditions: false } };

/** One create: its latency in ms, and whether it came back stamped. */
async function create(client: KubeClient, name: string, tracked: boolean): Promise<{ ms: number; stamped: boolean }> {
  const started = performance.now();
  const created = await client.request<{ spec: { template: { metadata: { annotations?: Record<string, string> } } } }>(
    'POST',
    `/apis/apps/v1/namespaces/${NS}/deployments`,
    { body: deployment(name, tracked) },
  );
  return { ms: performance.now() - started, stamped: created.spec.template.metadata.annotations?.['configstamp.io/stamp'] !== undefined };
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
}

/** Every admission the webhook process has answered, from its /metrics. */
async function admissionsAnswered(metrics: () => Promise<string>): Promise<number> {
  let total = 0;
  for (const m of (await metrics()).matchAll(/^configstamp_webhook_admissions_total\{[^}]*\} (\d+)$/gm)) total += Number(m[1]);
  return total;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

export async function run(options: { n?: number; rounds?: number } = {}): Promise<Record<string, unknown>> {
  const n = options.n ?? 80;
  const rounds = options.rounds ?? 6;
  const cluster = await startControlPlane();
  const client = await KubeClient.create(cluster.access, 'configstamp-bench');
  await cluster.kubectl(['create', 'namespace', 'configstamp']);
  await ensureHashKey(client, { namespace: 'configstamp', name: 'configstamp-hash-key' });
  const webhook = await startWebhookProcess(cluster, ['--namespace=configstamp']);
  let unregister: (() => Promise<void>) | undefined;
  /** From no configuration to `setting`: a probe that comes back stamped then proves the new one is loaded. */
  const switchTo = async (setting: Setting): Promise<void> => {
    if (unregister !== undefined) {
      await unregister();
      unregister = undefined;
      await eventually('the API server to stop calling the webhook', async () => ((await probeWebhook(cluster)) ? undefined : true), 30_000, 100);
    }
    if (setting !== 'none') unregister = await registerWebhook(cluster, webhook.port, webhook.caPem, 30_000, REGISTRATION[setting]);
  };
  try {
    await webhook.process.waitFor((r) => r.msg === 'hash key loaded', 30_000);
    await cluster.kubectl(['create', 'namespace', NS]);
    await cluster.kubectl(['create', 'configmap', 'app-config', '-n', NS, '--from-literal=k=v']);
    await cluster.kubectl(['create', 'secret', 'generic', 'app-secret', '-n', NS, '--from-literal=p=s']);
    const ms: Record<Setting, { untracked: number[]; tracked: number[] }> = {
      none: { untracked: [], tracked: [] },
      conditions: { untracked: [], tracked: [] },
      unconditional: { untracked: [], tracked: [] },
    };
    const reached: Record<Setting, number> = { none: 0, conditions: 0, unconditional: 0 };
    // The untracked p50 of each setting per round: the spread across rounds is the run's noise.
    const perRound: Record<Setting, number[]> = { none: [], conditions: [], unconditional: [] };
    const stamped: Record<Setting, number> = { none: 0, conditions: 0, unconditional: 0 };
    // Warm-up, not counted: each setting once, the API server's caches and the TLS connection.
    for (const setting of SETTINGS) {
      await switchTo(setting);
      for (let i = 0; i < 15; i++) {
        await create(client, `warm-${setting}-u${i}`, false);
        await create(client, `warm-${setting}-t${i}`, true);
      }
    }
    for (let round = 0; round < rounds; round++) {
      const order = SETTINGS.map((_, i) => SETTINGS[(i + round) % SETTINGS.length]!);
      for (const setting of order) {
        await switchTo(setting);
        const before = await admissionsAnswered(webhook.metrics);
        const from = ms[setting].untracked.length;
        // Untracked first, then tracked: a tracked create leaves work behind (the webhook's reads
        // and logging, the API server's), which would otherwise land on the next untracked one.
        for (let i = 0; i < n; i++) {
          const u = await create(client, `${setting}-r${round}-u${i}`, false);
          ms[setting].untracked.push(u.ms);
          if (u.stamped) throw new Error('an untracked Deployment came back stamped');
        }
        for (let i = 0; i < n; i++) {
          const tr = await create(client, `${setting}-r${round}-t${i}`, true);
          ms[setting].tracked.push(tr.ms);
          if (tr.stamped) stamped[setting]++;
        }
        reached[setting] += (await admissionsAnswered(webhook.metrics)) - before;
        perRound[setting].push(round2(percentile(ms[setting].untracked.slice(from), 50)));
      }
    }
    const floor = { p50: percentile(ms.none.untracked, 50), p90: percentile(ms.none.untracked, 90) };
    const row = (values: number[]) => {
      const p50 = percentile(values, 50);
      const p90 = percentile(values, 90);
      return { p50Ms: round2(p50), p90Ms: round2(p90), p50Ratio: round2(p50 / floor.p50), p90Ratio: round2(p90 / floor.p90) };
    };
    return {
      n,
      rounds,
      samplesPerRow: n * rounds,
      untracked: { noWebhook: row(ms.none.untracked), matchConditions: row(ms.conditions.untracked), noMatchConditions: row(ms.unconditional.untracked) },
      tracked: { noWebhook: row(ms.none.tracked), matchConditions: row(ms.conditions.tracked), noMatchConditions: row(ms.unconditional.tracked) },
      untrackedP50PerRoundMs: perRound,
      // What reached the webhook in each setting (2n per round under (c), n under (b), none under (a)).
      admissionsReached: reached,
      trackedStamped: stamped,
      expectedPerSetting: n * rounds,
    };
  } finally {
    if (unregister !== undefined) await unregister();
    await webhook.process.stop();
    client.close();
    await cluster.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await run(), null, 2));
}
