/**
 * Test-file helpers: one control plane per tap test file (starting one costs seconds, a
 * namespace costs milliseconds), and a fresh namespace per test so tests in one file cannot see
 * each other's objects. Teardown is registered on the test passed in, so a test cannot forget it.
 */
import { CoreV1Api } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from './controlplane.js';
import { startNodeCluster, type NodeCluster, type NodeClusterOptions } from './node.js';

export { waitFor } from './readiness.js';

/** The part of a tap `Test` these helpers use (tap awaits a teardown's promise, last in first out). */
export interface TeardownTarget {
  teardown(fn: () => unknown): void;
}

/** Label on every namespace made by freshNamespace(), to find leftovers with kubectl. */
export const TEST_NAMESPACE_LABEL = 'configstamp.io/e2e-test';

const PREFIX = /^[a-z]([-a-z0-9]{0,40}[a-z0-9])?$/;

/**
 * Starts a control plane and stops it when `t` ends. Call it once, at the top of a test file,
 * with the root `t`: `const cluster = await withControlPlane(t);`.
 */
export async function withControlPlane(t: TeardownTarget, options?: ControlPlaneOptions): Promise<ControlPlane> {
  const cluster = await startControlPlane(options);
  t.teardown(() => cluster.stop());
  return cluster;
}

/**
 * Starts a control plane with a real node (node.ts: kubelet, containerd, kube-proxy, the
 * configstamp image imported) and tears it all down when `t` ends. Needs root; one node runs on
 * a machine at a time, so a second test file calling this waits for the first to finish.
 */
export async function withNode(t: TeardownTarget, options?: NodeClusterOptions): Promise<NodeCluster> {
  const cluster = await startNodeCluster({ progress: (line) => process.stderr.write(`[node] ${line}\n`), ...options });
  t.teardown(() => cluster.stop());
  return cluster;
}

/**
 * Creates namespace PREFIX-xxxxxx and deletes it when `t` ends. Deletion does not wait for the
 * namespace controller to empty it; a stopped cluster makes deletion a no-op.
 */
export async function freshNamespace(t: TeardownTarget, cluster: ControlPlane, prefix = 'e2e'): Promise<string> {
  if (!PREFIX.test(prefix)) throw new TypeError(`namespace prefix must be a short DNS label, got ${JSON.stringify(prefix)}`);
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name, labels: { [TEST_NAMESPACE_LABEL]: 'true' } } } });
  t.teardown(async () => {
    try {
      await core.deleteNamespace({ name });
    } catch {
      // already gone, or the cluster was stopped first
    }
  });
  return name;
}
