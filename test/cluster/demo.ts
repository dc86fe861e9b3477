/**
 * `npm run demo`: configstamp end to end on a real local control plane, in plain words. It
 * builds what it needs (the first time takes a while, with progress), starts etcd,
 * kube-apiserver and kube-controller-manager, runs `configstamp certs` to make the webhook's
 * certificates and hash key, starts the webhook and the watcher, applies an example app, changes
 * its ConfigMap and shows what happened. Everything stays up until Ctrl-C.
 *
 * `npm run demo -- --node` shows the real install instead: a cluster with a node (node.ts), the
 * image from `npm run image`, `kubectl apply -k deploy/base` (the certs Job, 2 webhook and 2
 * watcher pods), and the example app running as a real pod that prints the value it was given.
 */
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startControlPlane } from './controlplane.js';
import { startNodeCluster } from './node.js';
import type { ControlPlane } from './controlplane.js';
import { kubectlOk as kubectl } from './kubectl.js';
import { freeLoopbackPort } from './ports.js';
import { onStopSignals } from './signals.js';
import { startConfigstamp } from '../support/process.js';
import type { ConfigstampProcess } from '../support/process.js';
import { loopbackWebhookConfiguration, probeWebhook } from '../support/webhook-registration.js';
import { eventually } from '../support/poll.js';
import { readFileSync } from 'node:fs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const say = (line = ''): void => void process.stdout.write(`${line}\n`);
const step = (line: string): void => say(`\n▶ ${line}`);

const APP = path.join(ROOT, 'test/cluster/demo-app.yaml');

async function replicaSets(cluster: ControlPlane): Promise<string> {
  return kubectl(cluster, [
    'get',
    'replicasets',
    '-n',
    'demo',
    '-l',
    'app=web',
    '-o',
    'custom-columns=REPLICASET:.metadata.name,REVISION:.metadata.annotations.deployment\\.kubernetes\\.io/revision,CREATED:.metadata.creationTimestamp',
    '--sort-by=.metadata.creationTimestamp',
  ]);
}

async function stamp(cluster: ControlPlane): Promise<string> {
  return kubectl(cluster, ['get', 'deployment', 'web', '-n', 'demo', '-o', 'jsonpath={.spec.template.metadata.annotations.configstamp\\.io/stamp}']);
}

/** The example app with configstamp's own image (nothing can be pulled here), printing GREETING. */
function appOnNode(image: string): string {
  return readFileSync(APP, 'utf8').replace(
    '          image: nginx:1.27',
    [
      `          image: ${image}`,
      '          imagePullPolicy: IfNotPresent',
      `          command: [node, -e, "console.log('GREETING=' + process.env.GREETING); setInterval(() => {}, 1 << 30)"]`,
    ].join('\n'),
  );
}

async function pods(cluster: ControlPlane): Promise<string> {
  return kubectl(cluster, ['get', 'pods', '-n', 'demo', '-l', 'app=web', '-o', 'wide']);
}

async function main(): Promise<void> {
  const onNode = process.argv.includes('--node');
  const processes: ConfigstampProcess[] = [];
  const state: { cluster?: ControlPlane } = {};
  const shutDown = async (signal: string): Promise<void> => {
    say(`\n${signal}: stopping the watcher, the webhook and the control plane (again to exit now)`);
    await Promise.all(processes.map((p) => p.stop()));
    await state.cluster?.stop();
    say('stopped');
    process.exit(0);
  };
  onStopSignals((s) => void shutDown(s), say);

  let cluster: ControlPlane;
  let kubeconfig: string;
  let image = '';
  if (onNode) {
    step('Building the image (npm run image) and starting a control plane with a real node (kubelet, containerd, kube-proxy)');
    const node = await startNodeCluster({ progress: (line) => say(`  ${line}`) });
    cluster = node;
    image = node.image;
    state.cluster = cluster;
    kubeconfig = cluster.kubeconfigPath;
    step('Installing configstamp as it ships: kubectl apply -k deploy/base');
    say(await kubectl(cluster, ['apply', '-k', path.join(ROOT, 'deploy/base')]));
    await kubectl(cluster, ['wait', '-n', 'configstamp', '--for=condition=Complete', 'job/configstamp-certs', '--timeout=120s']);
    await kubectl(cluster, ['wait', '-n', 'configstamp', '--for=condition=Available', 'deployment', '--all', '--timeout=180s']);
    say(await kubectl(cluster, ['get', 'pods', '-n', 'configstamp', '-o', 'wide']));
  } else {
    step('Starting a local Kubernetes control plane (the first run builds it from source: about 15 minutes on 2 cores)');
    cluster = await startControlPlane({ progress: (line) => say(`  ${line}`) });
    state.cluster = cluster;
    kubeconfig = cluster.kubeconfigPath;

    step('Installing configstamp: namespace, webhook configuration, then `configstamp certs` (CA, serving certificate, hash key, caBundle)');
    const port = await freeLoopbackPort();
    const certDir = mkdtempSync(path.join(tmpdir(), 'configstamp-demo-tls-'));
    await kubectl(cluster, ['create', 'namespace', 'configstamp']);
    const config = loopbackWebhookConfiguration(port, '');
    for (const hook of config.webhooks) delete hook.clientConfig.caBundle;
    await kubectl(cluster, ['apply', '-f', '-'], JSON.stringify(config));
    const certs = startConfigstamp(['certs', `--kubeconfig=${kubeconfig}`, '--extra-ip-addresses=127.0.0.1', `--out-dir=${certDir}`]);
    if ((await certs.exited) !== 0) throw new Error(`configstamp certs failed:\n${certs.lines.join('\n')}`);
    say('  certificates and hash key ready');

    step(`Starting the webhook on https://127.0.0.1:${port} and the watcher`);
    const webhook = startConfigstamp([
      'webhook',
      `--kubeconfig=${kubeconfig}`,
      '--host=127.0.0.1',
      `--port=${port}`,
      '--metrics-host=127.0.0.1',
      '--metrics-port=0',
      `--cert-file=${path.join(certDir, 'tls.crt')}`,
      `--key-file=${path.join(certDir, 'tls.key')}`,
    ]);
    processes.push(webhook);
    const watcher = startConfigstamp(['watcher', `--kubeconfig=${kubeconfig}`, '--health-host=127.0.0.1', '--health-port=0', '--debounce=1s']);
    processes.push(watcher);
    await webhook.waitFor((r) => r.msg === 'serving', 60_000);
    await eventually('the API server to call the webhook', async () => ((await probeWebhook(cluster)) ? true : undefined), 60_000, 250);
    await watcher.waitFor((r) => typeof r.msg === 'string' && r.msg.startsWith('leading'), 60_000);
    say('  both running');
  }

  step('Applying an example app: a Deployment "web" consuming a ConfigMap (env) and a Secret (envFrom)');
  if (onNode) say(await kubectl(cluster, ['apply', '-f', '-'], appOnNode(image)));
  else say(await kubectl(cluster, ['apply', '-f', APP]));
  await eventually('the first ReplicaSet', async () => ((await replicaSets(cluster)).trim().split('\n').length >= 2 ? true : undefined), 60_000);
  say('ReplicaSets — one, because the webhook stamped the Deployment at creation (no second rollout):');
  say(await replicaSets(cluster));
  say(`Stamp on the pod template: ${await stamp(cluster)}`);

  step('Changing the ConfigMap key the app consumes (GREETING: hello → bonjour)');
  await kubectl(cluster, ['patch', 'configmap', 'web-config', '-n', 'demo', '--type=merge', '-p', '{"data":{"GREETING":"bonjour"}}']);
  await eventually('the rollout', async () => ((await replicaSets(cluster)).trim().split('\n').length >= 3 ? true : undefined), 60_000);
  say('ReplicaSets — exactly one new one:');
  say(await replicaSets(cluster));
  say(`Stamp now: ${await stamp(cluster)}   (only the ConfigMap's digest changed)`);
  if (onNode) {
    await kubectl(cluster, ['rollout', 'status', '-n', 'demo', 'deployment/web', '--timeout=120s']);
    say('The new pod, and what it printed at start:');
    say(await pods(cluster));
    const newest = await kubectl(cluster, [
      'get',
      'pods',
      '-n',
      'demo',
      '-l',
      'app=web',
      '--sort-by=.metadata.creationTimestamp',
      '-o',
      'jsonpath={.items[-1:].metadata.name}',
    ]);
    say(`${newest}: ${await kubectl(cluster, ['logs', '-n', 'demo', newest.trim()])}`);
  }
  const events = await eventually(
    'the Event',
    async () => {
      const out = await kubectl(cluster, [
        'get',
        'events',
        '-n',
        'demo',
        '--field-selector',
        'involvedObject.name=web,reason=ConfigstampRollout',
        '-o',
        'custom-columns=REASON:.reason,MESSAGE:.message',
      ]);
      return out.trim().split('\n').length >= 2 ? out : undefined;
    },
    30_000,
  );
  say('The Event configstamp posted on the Deployment says why:');
  say(events);

  step('Changing a key the app does not consume (UNUSED) — nothing rolls');
  await kubectl(cluster, ['patch', 'configmap', 'web-config', '-n', 'demo', '--type=merge', '-p', '{"data":{"UNUSED":"changed"}}']);
  await new Promise((r) => setTimeout(r, 3000));
  say(await replicaSets(cluster));

  say(
    [
      '',
      'Everything is still running. In another shell try your own changes:',
      `  export KUBECONFIG=${kubeconfig}`,
      `  export PATH=${cluster.binDir}:$PATH`,
      '  kubectl -n demo edit secret web-secret                 # rolls "web" once',
      '  kubectl -n demo annotate configmap web-config note=hi  # metadata only: rolls nothing',
      ...(onNode ? [] : ['  kubectl -n demo apply -f test/cluster/demo-app.yaml    # GREETING back to hello: one rollout, back to the first ReplicaSet']),
      '  kubectl -n demo get events --field-selector involvedObject.name=web   # why each rollout happened',
      `  node --import tsx bin/configstamp.ts plan --kubeconfig=${kubeconfig}   # what would roll now, and why`,
      '',
      'Press Ctrl-C to stop everything.',
    ].join('\n'),
  );
  setInterval(() => undefined, 1 << 30);
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${(err as Error).message}\n`);
  process.exit(1);
});
