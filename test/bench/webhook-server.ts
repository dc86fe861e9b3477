/**
 * Benchmark (b): the admission server alone, over TLS keep-alive on loopback, with sources read
 * from a real control plane. Three servers in one run, each driven by the same bounded load loop
 * (node's https.Agent, keep-alive, fixed concurrency): a bare fastify TLS server answering a
 * constant review, the webhook with an untracked Deployment, and the webhook with a tracked one
 * consuming 5 sources (3 ConfigMaps, 2 Secrets). Reports admissions/s, p50/p99, the ratios to the
 * bare server and the share of tracked time spent waiting on the API server.
 *
 *   node --import tsx test/bench/webhook-server.ts
 */
import { fastify } from 'fastify';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { createCertificateAuthority, issueServingCertificate } from '../../certs/pki.js';
import { DEFAULT_POLICY } from '../../shared/core/index.js';
import { KubeClient } from '../../shared/kube/client.js';
import { ensureHashKey } from '../../shared/kube/hashkey.js';
import { createLogger } from '../../shared/log.js';
import { startControlPlane } from '../cluster/controlplane.js';
import { buildApp } from '../../webhook/http.js';
import { createWebhookMetrics } from '../../webhook/metrics.js';
import { NamespaceCache } from '../../webhook/namespaces.js';
import { kubeSourceReader } from '../../webhook/reads.js';
import { createAdmissionHandler } from '../../webhook/handler.js';

export interface LoadResult {
  readonly requests: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

/** POSTs `body` to https://127.0.0.1:port/mutate over `concurrency` kept-alive connections, `count` times or until `maxMs`. */
export async function loadLoop(port: number, caPem: string, body: string, count: number, concurrency: number, maxMs = 20_000): Promise<LoadResult> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: concurrency, ca: caPem });
  const latencies: number[] = [];
  const started = performance.now();
  let issued = 0;
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const t0 = performance.now();
      const req = https.request(
        {
          host: '127.0.0.1',
          port,
          path: '/mutate',
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          res.resume().on('end', () => {
            if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode}`));
            latencies.push(performance.now() - t0);
            resolve();
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const worker = async (): Promise<void> => {
    while (issued < count && performance.now() - started < maxMs) {
      issued++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = performance.now() - started;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const r = (n: number) => Math.round(n * 1000) / 1000;
  return {
    requests: latencies.length,
    perSecond: Math.round(latencies.length / (elapsed / 1000)),
    p50Ms: r(percentile(latencies, 0.5)),
    p99Ms: r(percentile(latencies, 0.99)),
  };
}

function review(namespace: string, object: unknown): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'bench',
      kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      resource: { group: 'apps', version: 'v1', resource: 'deployments' },
      namespace,
      operation: 'CREATE',
      object,
    },
  });
}

function deployment(tracked: boolean): unknown {
  const names = ['cm-a', 'cm-b', 'cm-c'];
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', annotations: tracked ? { 'configstamp.io/track': 'true' } : {} },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            {
              name: 'web',
              image: 'app:1',
              envFrom: [...names.map((name) => ({ configMapRef: { name } })), { secretRef: { name: 'secret-a' } }],
              env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'secret-b', key: 'token' } } }],
            },
          ],
        },
      },
    },
  };
}

export async function run(options: { count?: number; concurrency?: number } = {}): Promise<Record<string, unknown>> {
  const count = options.count ?? 3000;
  const concurrency = options.concurrency ?? 8;
  const cluster = await startControlPlane();
  const client = await KubeClient.create(cluster.access, 'configstamp-bench');
  const ca = createCertificateAuthority({ commonName: 'bench-ca' });
  const serving = issueServingCertificate(ca, { ipAddresses: ['127.0.0.1'] });
  const silent = createLogger('silent', 'bench', new Writable({ write: (_c, _e, done) => done() }));
  try {
    await cluster.kubectl(['create', 'namespace', 'configstamp']);
    await cluster.kubectl(['create', 'namespace', 'bench']);
    const { key } = await ensureHashKey(client, { namespace: 'configstamp', name: 'configstamp-hash-key' });
    for (const name of ['cm-a', 'cm-b', 'cm-c'])
      await cluster.kubectl(['create', 'configmap', name, '-n', 'bench', `--from-literal=k=${name}-${'v'.repeat(200)}`]);
    for (const name of ['secret-a', 'secret-b']) await cluster.kubectl(['create', 'secret', 'generic', name, '-n', 'bench', `--from-literal=token=${name}`]);

    const bare = fastify({ https: { cert: serving.certPem, key: serving.keyPem } });
    const constant = JSON.parse(
      JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'bench', allowed: true } }),
    ) as unknown;
    bare.post('/mutate', async () => constant);
    await bare.listen({ host: '127.0.0.1', port: 0 });

    const metrics = createWebhookMetrics();
    const namespaces = new NamespaceCache(client, silent, 2000);
    namespaces.start();
    const readSources = kubeSourceReader(client, { concurrency: 8, deadlineMs: 2000 }, (s) => metrics.sourceReadSeconds.observe(s));
    const handler = createAdmissionHandler({ policy: DEFAULT_POLICY, namespaces, hashKey: () => key, readSources }, silent, metrics);
    const app = buildApp({
      handler,
      log: silent,
      metrics,
      maxRequestBytes: 7 << 20,
      isReady: () => true,
      https: { cert: serving.certPem, key: serving.keyPem },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const port = (server: { server: { address(): unknown } }) => (server.server.address() as AddressInfo).port;

    const untrackedBody = review('bench', deployment(false));
    const trackedBody = review('bench', deployment(true));
    // Warm up every path (TLS sessions, JIT, the namespace cache, the API connection pool).
    for (const [p, body] of [
      [port(bare), untrackedBody],
      [port(app), untrackedBody],
      [port(app), trackedBody],
    ] as const)
      await loadLoop(p, ca.certPem, body, 300, concurrency);
    const readsBefore = await metrics.sourceReadSeconds.get();
    // Two alternating rounds, the second reported: the fresh control plane is still busy at first.
    let bareResult = await loadLoop(port(bare), ca.certPem, untrackedBody, count, concurrency);
    let untracked = await loadLoop(port(app), ca.certPem, untrackedBody, count, concurrency);
    bareResult = await loadLoop(port(bare), ca.certPem, untrackedBody, count, concurrency);
    untracked = await loadLoop(port(app), ca.certPem, untrackedBody, count, concurrency);
    const sumBefore = readsBefore.values.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0;
    const trackedStart = performance.now();
    const tracked = await loadLoop(port(app), ca.certPem, trackedBody, Math.round(count / 2), concurrency);
    const trackedWallS = (performance.now() - trackedStart) / 1000;
    const readsAfter = await metrics.sourceReadSeconds.get();
    const sumAfter = readsAfter.values.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0;
    const stamped = (await metrics.admissions.get()).values.find((v) => v.labels.result === 'stamped')?.value ?? 0;
    namespaces.stop();
    await app.close();
    await bare.close();
    const readSecondsPerAdmission = (sumAfter - sumBefore) / tracked.requests;
    const trackedMeanS = (trackedWallS * concurrency) / tracked.requests;
    return {
      count,
      concurrency,
      bare: bareResult,
      untracked,
      tracked,
      untrackedThroughputRatio: Math.round((untracked.perSecond / bareResult.perSecond) * 100) / 100,
      trackedThroughputRatio: Math.round((tracked.perSecond / bareResult.perSecond) * 100) / 100,
      trackedMeanSourceReadMs: Math.round(readSecondsPerAdmission * 100_000) / 100,
      trackedShareWaitingOnApiServer: Math.round((readSecondsPerAdmission / trackedMeanS) * 100) / 100,
      stampedAdmissions: stamped,
    };
  } finally {
    client.close();
    await cluster.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await run(), null, 2));
}
