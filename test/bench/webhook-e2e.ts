/**
 * Benchmark (a): wall time of creating N Deployments through the real API server with the
 * webhook registered (each one tracked, consuming 2 sources, so each is stamped) and without it,
 * in the same run against the same control plane. Sequential POSTs with one keep-alive client,
 * so the API server's own latency is the baseline. The target is a ratio of at most 1.10.
 *
 * The floor, in the same rounds: untracked Deployments with the webhook registered without its
 * matchConditions (the shipped ones keep untracked workloads away from it: test/bench/webhook-match.ts
 * measures that). The API server calls the webhook for each (same rules, same TLS connection),
 * and the webhook answers "allowed, no patch" without reading anything (well under a millisecond
 * inside the process), so `floorRatio` is what calling any mutating webhook costs a create on
 * this machine, whatever the webhook does.
 *
 *   node --import tsx test/bench/webhook-e2e.ts
 */
import { pathToFileURL } from 'node:url';
import { KubeClient } from '../../shared/kube/client.js';
import { ensureHashKey } from '../../shared/kube/hashkey.js';
import { startControlPlane } from '../cluster/controlplane.js';
import { eventually } from '../support/poll.js';
import { probeWebhook, registerWebhook, startWebhookProcess } from '../support/webhook-registration.js';

/** A Deployment consuming the bench's ConfigMap and Secret; tracked or not (also webhook-match.ts). */
export function deployment(name: string, tracked: boolean): unknown {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, annotations: tracked ? { 'configstamp.io/track': 'true' } : {} },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: 'web',
              image: 'app:1',
              envFrom: [{ configMapRef: { name: 'app-config' } }, { secretRef: { name: 'app-secret' } }],
            },
          ],
        },
      },
    },
  };
}

async function createMany(client: KubeClient, namespace: string, prefix: string, n: number, tracked = true): Promise<{ ms: number; stamped: number }> {
  let stamped = 0;
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const created = await client.request<{ spec: { template: { metadata: { annotations?: Record<string, string> } } } }>(
      'POST',
      `/apis/apps/v1/namespaces/${namespace}/deployments`,
      { body: deployment(`${prefix}-${i}`, tracked) },
    );
    if (created.spec.template.metadata.annotations?.['configstamp.io/stamp']) stamped++;
  }
  return { ms: Math.round(performance.now() - started), stamped };
}

export async function run(options: { n?: number; rounds?: number } = {}): Promise<Record<string, unknown>> {
  const n = options.n ?? 40;
  const rounds = options.rounds ?? 2;
  const cluster = await startControlPlane();
  const client = await KubeClient.create(cluster.access, 'configstamp-bench');
  const webhook = await (async () => {
    await cluster.kubectl(['create', 'namespace', 'configstamp']);
    await ensureHashKey(client, { namespace: 'configstamp', name: 'configstamp-hash-key' });
    return startWebhookProcess(cluster);
  })();
  try {
    for (const ns of ['with', 'without', 'floor', 'warm']) {
      await cluster.kubectl(['create', 'namespace', ns]);
      await cluster.kubectl(['create', 'configmap', 'app-config', '-n', ns, '--from-literal=k=v']);
      await cluster.kubectl(['create', 'secret', 'generic', 'app-secret', '-n', ns, '--from-literal=p=s']);
    }
    await createMany(client, 'warm', 'plain', 20);
    const withHook: number[] = [];
    const withoutHook: number[] = [];
    const floorHook: number[] = [];
    let stamped = 0;
    // Alternate registered / unregistered rounds so drift in the machine's load hits both.
    for (let round = 0; round < rounds; round++) {
      const unregister = await registerWebhook(cluster, webhook.port, webhook.caPem, 30_000, { matchConditions: false });
      if (round === 0) await createMany(client, 'warm', 'hooked', 10);
      const a = await createMany(client, 'with', `r${round}`, n);
      withHook.push(a.ms);
      stamped += a.stamped;
      const f = await createMany(client, 'floor', `r${round}`, n, false);
      floorHook.push(f.ms);
      if (f.stamped !== 0) throw new Error('an untracked Deployment was stamped');
      await unregister();
      await eventually('the API server to stop calling the webhook', async () => ((await probeWebhook(cluster)) ? undefined : true), 30_000, 100);
      const b = await createMany(client, 'without', `r${round}`, n);
      withoutHook.push(b.ms);
      if (b.stamped !== 0) throw new Error('a Deployment was stamped with the webhook unregistered');
    }
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    return {
      n,
      rounds,
      withWebhookMs: withHook,
      withoutWebhookMs: withoutHook,
      untrackedWithWebhookMs: floorHook,
      perCreateWithMs: Math.round((sum(withHook) / (n * rounds)) * 100) / 100,
      perCreateWithoutMs: Math.round((sum(withoutHook) / (n * rounds)) * 100) / 100,
      perCreateUntrackedWithMs: Math.round((sum(floorHook) / (n * rounds)) * 100) / 100,
      ratio: Math.round((sum(withHook) / sum(withoutHook)) * 100) / 100,
      floorRatio: Math.round((sum(floorHook) / sum(withoutHook)) * 100) / 100,
      stamped,
      expectedStamped: n * rounds,
    };
  } finally {
    await webhook.process.stop();
    client.close();
    await cluster.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await run(), null, 2));
}
