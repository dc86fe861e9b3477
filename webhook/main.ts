/**
 * `configstamp webhook`: wires the parts and runs the lifecycle. Config is parsed once; the hash
 * key and the namespace cache load in the background (admissions fail open until they do); the
 * HTTPS server starts even without a certificate and is ready only once one is loaded; metrics and
 * probes are served on a separate plain-HTTP port. First signal: stop watching, let in-flight
 * admissions finish (bounded), close; a second signal exits at once (shared/lifecycle.ts).
 */
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics } from 'prom-client';
import { connect } from '../shared/kube/connect.js';
import { installSignalHandlers } from '../shared/lifecycle.js';
import { createLogger } from '../shared/log.js';
import { startOpsServer } from '../shared/ops-server.js';
import { CertWatcher } from './certwatcher.js';
import { parseWebhookConfig, webhookHelp } from './config.js';
import { HashKeyLoader } from './hash-key-loader.js';
import { buildApp } from './http.js';
import { createWebhookMetrics } from './metrics.js';
import { NamespaceCache, unlabelledNamespaces } from './namespaces.js';
import { kubeSourceReader } from './reads.js';
import { createAdmissionHandler } from './handler.js';

export async function main(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<number> {
  const config = parseWebhookConfig(argv, env);
  if (config === null) {
    console.log(webhookHelp());
    return 0;
  }
  const log = createLogger(config.logLevel, 'webhook', undefined, config.logFormat);
  for (const warning of config.warnings) log.warn({ setting: warning.slice(0, warning.indexOf(':')) }, warning);
  const lifecycle = installSignalHandlers(log);
  const metrics = createWebhookMetrics();
  collectDefaultMetrics({ register: metrics.registry, prefix: 'configstamp_webhook_' });
  const client = await connect(config.kubeconfig, 'configstamp-webhook', env);

  const hashKey = HashKeyLoader.forSecret(
    client,
    { namespace: config.namespace, name: config.hashKeySecret },
    config.hashKeyRetryMs,
    log.child({ part: 'hash-key' }),
    metrics,
  );
  void hashKey.start();
  // A scoped install (--namespaces) may not read Namespace objects: their labels read as none.
  const namespaces =
    config.namespaces.length === 0 ? new NamespaceCache(client, log.child({ part: 'namespaces' }), config.fetchDeadlineMs) : unlabelledNamespaces;
  if (namespaces instanceof NamespaceCache) namespaces.start();
  const fetchOptions = { concurrency: config.fetchConcurrency, deadlineMs: config.fetchDeadlineMs };
  const readSources = kubeSourceReader(client, fetchOptions, (s) => metrics.sourceReadSeconds.observe(s));
  const handler = createAdmissionHandler(
    { policy: config.policy, namespaces, hashKey: () => hashKey.current, readSources },
    log.child({ part: 'admission' }),
    metrics,
  );

  let listening = false;
  let pending: { cert: Buffer; key: Buffer } | undefined;
  let applyPair = (pair: { cert: Buffer; key: Buffer }): void => void (pending = pair);
  const certs = new CertWatcher({
    certFile: config.certFile,
    keyFile: config.keyFile,
    pollIntervalMs: config.certPollIntervalMs,
    log: log.child({ part: 'certificates' }),
    metrics,
    onChange: (pair) => applyPair(pair),
  });
  await certs.load();
  const isReady = (): boolean => listening && certs.loaded;
  const app = buildApp({ handler, log, metrics, maxRequestBytes: config.maxRequestBytes, isReady, https: pending ? { ...pending } : {} });
  applyPair = (pair) => (app.server as unknown as HttpsServer).setSecureContext({ cert: pair.cert, key: pair.key });
  certs.start();

  await app.listen({ host: config.host, port: config.port });
  listening = true;
  const port = (app.server.address() as AddressInfo).port;
  log.info({ host: config.host, port, ready: certs.loaded }, 'serving');
  const ops = await startOpsServer({ host: config.metricsHost, port: config.metricsPort, registry: metrics.registry, isReady });
  log.info({ host: config.metricsHost, port: ops.port }, 'ops serving');

  const reason = await lifecycle.stopped;
  log.info({ reason }, 'shutting down');
  listening = false;
  certs.stop();
  hashKey.stop();
  if (namespaces instanceof NamespaceCache) namespaces.stop();
  let timer: NodeJS.Timeout | undefined;
  const drained = await Promise.race([
    app.close().then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), config.shutdownTimeoutMs))),
  ]);
  clearTimeout(timer);
  if (!drained) app.server.closeAllConnections();
  await ops.close();
  client.close();
  log.info({ drained }, 'stopped');
  return 0;
}
