/**
 * The watcher started while the API server cannot be reached does not exit (a pod would
 * crash-loop): it serves /healthz at once, answers /readyz 503, retries with backoff, and once
 * the API server is reachable it syncs, becomes ready, and acts on a change made meanwhile.
 * The API server is real; between it and the watcher sits a TCP relay on loopback that refuses
 * connections until the test opens it (TLS passes through untouched).
 */
import t from 'tap';
import net from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freeLoopbackPort } from '../cluster/ports.js';
import { eventually, sleep } from '../support/poll.js';
import { startConfigstamp } from '../support/process.js';
import { apply, configMap, createNamespace, deployment, rolloutCount, startCluster } from './watcher-support.js';

const { cluster, client } = await startCluster(t);
await createNamespace(cluster, 'configstamp');
const ns = await createNamespace(cluster, 'away');
await apply(cluster, ns, [configMap('app', { level: 'info' })]);
await apply(cluster, ns, [deployment('web', { configMap: 'app' })]);

const target = new URL(cluster.server);
const relayPort = await freeLoopbackPort();
const dir = mkdtempSync(path.join(tmpdir(), 'configstamp-away-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const kubeconfig = path.join(dir, 'kubeconfig');
writeFileSync(kubeconfig, readFileSync(cluster.kubeconfigPath, 'utf8').replaceAll(cluster.server, `https://127.0.0.1:${relayPort}`));

const sockets = new Set<net.Socket>();
const relay = net.createServer((inbound) => {
  const outbound = net.connect(Number(target.port), target.hostname);
  for (const s of [inbound, outbound]) {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  }
  inbound.pipe(outbound).pipe(inbound);
});
t.teardown(
  () =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      relay.close(() => r());
    }),
);

t.test('no exit while the API server is away; ready and acting once it is back', async (t) => {
  const watcher = startConfigstamp([
    'watcher',
    `--kubeconfig=${kubeconfig}`,
    '--namespace=configstamp',
    '--health-host=127.0.0.1',
    '--health-port=0',
    '--debounce=300ms',
    '--min-rollout-interval=0',
    '--leader-elect=false',
  ]);
  t.teardown(() => watcher.stop());
  const ops = await watcher.waitFor((r) => r.msg === 'ops serving');
  const base = `http://127.0.0.1:${String(ops.port)}`;
  await watcher.waitFor((r) => typeof r.msg === 'string' && r.msg.startsWith('loading the hash key failed'));
  await sleep(2_500);
  let exited = false;
  void watcher.exited.then(() => (exited = true));
  t.notOk(exited, 'still running after failed attempts');
  t.equal((await fetch(`${base}/healthz`)).status, 200, 'live');
  t.equal((await fetch(`${base}/readyz`)).status, 503, 'not ready');
  const failures = watcher.records().filter((r) => typeof r.msg === 'string' && r.msg.startsWith('loading the hash key failed'));
  t.ok(failures.length >= 2 && failures.length <= 4, `retried with backoff (${failures.length} attempts in about 3 s)`);
  t.match(failures[0], { retryInMs: 1000, err: /ECONNREFUSED/ });

  // The API server becomes reachable: the watcher syncs, adopts, and then rolls a change.
  const before = await rolloutCount(client, ns, 'Deployment', 'web');
  await new Promise<void>((r) => relay.listen(relayPort, '127.0.0.1', r));
  await watcher.waitFor((r) => r.msg === 'synced: listed namespaces, sources and workloads', 60_000);
  await eventually('ready', async () => ((await fetch(`${base}/readyz`)).status === 200 ? true : undefined));
  await eventually('adopted', async () =>
    (await client.request<{ metadata: { annotations?: Record<string, string> } }>('GET', `/apis/apps/v1/namespaces/${ns}/deployments/web`)).metadata
      .annotations?.['configstamp.io/adopted-stamp']
      ? true
      : undefined,
  );
  await apply(cluster, ns, [configMap('app', { level: 'debug' })]);
  await eventually('one rollout', async () => ((await rolloutCount(client, ns, 'Deployment', 'web')) === before + 1 ? true : undefined));
});
