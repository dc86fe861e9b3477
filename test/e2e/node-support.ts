// Shared by the real-node tests (node-*.test.ts): a tracked app that runs configstamp's own image
// and prints a ConfigMap value, and the checks on what configstamp's pods and the app's pods do.
import { existsSync } from 'node:fs';
import type { Test } from 'tap';
import { join } from 'node:path';
import type { NodeCluster } from '../cluster/node.js';
import { waitFor } from '../cluster/readiness.js';

export const CONFIGSTAMP_NAMESPACE = 'configstamp';

/** Runs kubectl; a non-zero exit throws with its stderr. */
export async function ok(cluster: NodeCluster, args: readonly string[], input?: string): Promise<string> {
  const r = await cluster.kubectl(args, { input, timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${String(r.code)}): ${r.stderr.trim()}`);
  return r.stdout;
}

/**
 * A tracked Deployment whose one container (configstamp's image, so nothing is pulled) prints the
 * GREETING key of its ConfigMap at start and sleeps. UNUSED is in the ConfigMap but not consumed.
 */
export function trackedApp(namespace: string, image: string, greeting = 'hello', unused = 'one', name = 'app'): string {
  return `
apiVersion: v1
kind: ConfigMap
metadata: { name: ${name}-config, namespace: ${namespace} }
data: { GREETING: ${greeting}, UNUSED: ${unused} }
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${namespace}
  annotations: { configstamp.io/track: "true" }
spec:
  replicas: 1
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: app
          image: ${image}
          imagePullPolicy: IfNotPresent
          command: [node, -e, "console.log('greeting=' + process.env.GREETING); setInterval(() => {}, 1 << 30)"]
          env:
            - name: GREETING
              valueFrom: { configMapKeyRef: { name: ${name}-config, key: GREETING } }
`;
}

interface Item {
  metadata: {
    name: string;
    uid: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { kind: string; name: string }[];
  };
  spec?: { replicas?: number };
  status?: {
    phase?: string;
    replicas?: number;
    readyReplicas?: number;
    containerStatuses?: { ready: boolean; restartCount: number; image: string }[];
  };
}

export async function items(cluster: NodeCluster, namespace: string, kind: string, selector?: string): Promise<Item[]> {
  const out = await ok(cluster, ['get', kind, '-n', namespace, '-o', 'json', ...(selector ? ['-l', selector] : [])]);
  return (JSON.parse(out) as { items: Item[] }).items;
}

export async function replicaSets(cluster: NodeCluster, namespace: string, deployment: string): Promise<Item[]> {
  return (await items(cluster, namespace, 'replicasets')).filter((rs) =>
    rs.metadata.ownerReferences?.some((o) => o.kind === 'Deployment' && o.name === deployment),
  );
}

/** Waits until the Deployment's rollout is complete (all replicas updated and available). */
export async function rolledOut(cluster: NodeCluster, namespace: string, deployment: string, timeoutMs = 120_000): Promise<void> {
  await ok(cluster, ['rollout', 'status', '-n', namespace, `deployment/${deployment}`, `--timeout=${Math.round(timeoutMs / 1000)}s`]);
}

/** Running, ready pods of the Deployment's newest ReplicaSet. */
export async function currentPods(cluster: NodeCluster, namespace: string, deployment: string): Promise<Item[]> {
  const sets = await replicaSets(cluster, namespace, deployment);
  const newest = sets.sort(
    (a, b) =>
      Number(b.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0) - Number(a.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0),
  )[0];
  const hash = newest?.metadata.labels?.['pod-template-hash'];
  if (!hash) return [];
  return (await items(cluster, namespace, 'pods', `pod-template-hash=${hash}`)).filter(
    (p) => p.status?.phase === 'Running' && p.status.containerStatuses?.every((c) => c.ready),
  );
}

/** What the app printed at start (`greeting=...`), read from the running container's log. */
export async function greetingOf(cluster: NodeCluster, namespace: string, pod: string): Promise<string> {
  let value = '';
  await waitFor(
    `the greeting in ${pod}'s log`,
    async () => {
      const log = await ok(cluster, ['logs', '-n', namespace, pod]);
      value = /greeting=(\S*)/.exec(log)?.[1] ?? '';
      return value !== '';
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );
  return value;
}

/** Waits until each named Deployment in the configstamp namespace has `replicas` ready replicas. */
export async function configstampReady(cluster: NodeCluster, deployments: readonly string[], replicas = 2, timeoutMs = 180_000): Promise<void> {
  await waitFor(
    `${deployments.join(', ')} with ${replicas} ready replicas each`,
    async () => {
      const all = await items(cluster, CONFIGSTAMP_NAMESPACE, 'deployments');
      return deployments.every((d) => all.find((x) => x.metadata.name === d)?.status?.readyReplicas === replicas);
    },
    { timeoutMs, intervalMs: 500 },
  );
}

/** Restart counts of configstamp's pods, by pod name (a crash-loop shows up here). */
export async function restarts(cluster: NodeCluster): Promise<Record<string, number>> {
  const pods = await items(cluster, CONFIGSTAMP_NAMESPACE, 'pods');
  return Object.fromEntries(
    pods
      .filter((p) => p.status?.phase !== 'Succeeded')
      .map((p) => [p.metadata.name, (p.status?.containerStatuses ?? []).reduce((n, c) => n + c.restartCount, 0)]),
  );
}

/** The stamp a server-side dry run of a new tracked Deployment gets: the API server called the webhook. */
export async function dryRunStamp(cluster: NodeCluster, namespace: string, app = 'app'): Promise<string | undefined> {
  // app's Deployment (its ConfigMap exists) under another name: created, so the webhook stamps it
  const manifest = (trackedApp(namespace, cluster.image, 'hello', 'one', app).split('---')[1] ?? '').replace(/^ {2}name: .*$/m, `  name: ${app}-dry-run`);
  const out = await ok(cluster, ['create', '--dry-run=server', '-o', 'json', '-f', '-'], manifest);
  const obj = JSON.parse(out) as { spec: { template: { metadata: { annotations?: Record<string, string> } } } };
  return obj.spec.template.metadata.annotations?.['configstamp.io/stamp'];
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * After each subtest of `t` that failed, the last lines of every configstamp pod's log (and of its
 * previous container, if it restarted) as comments: on CI that output is all there is to go on.
 * The logs carry names and digests only, never a source's value.
 */
export function logsOnFailure(t: Test, cluster: NodeCluster): void {
  t.afterEach(async (child) => {
    if (child.passing()) return;
    const pods = await items(cluster, CONFIGSTAMP_NAMESPACE, 'pods').catch(() => []);
    for (const pod of pods) {
      if (pod.status?.phase === 'Succeeded') continue;
      for (const previous of [true, false]) {
        const r = await cluster.kubectl(['logs', '-n', CONFIGSTAMP_NAMESPACE, pod.metadata.name, '--tail=60', ...(previous ? ['--previous'] : [])], {
          timeoutMs: 20_000,
        });
        if (r.code !== 0) continue; // no previous container
        child.comment(`--- ${pod.metadata.name}${previous ? ' (previous container)' : ''}, last 60 lines:\n${r.stdout.trimEnd()}`);
      }
    }
  });
}

/**
 * Why the real-node tests cannot run here, or undefined when they can. On CI (CI=true) a missing
 * prerequisite fails the file instead: there, these tests must never be skipped.
 */
export function nodeSkipReason(): string | undefined {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root');
  const path = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin']);
  for (const tool of ['buildah', 'debootstrap', 'containerd', 'containerd-shim-runc-v2', 'runc', 'ctr', 'nft', 'ip', 'nsenter', 'unshare', 'flock']) {
    if (!path.some((dir) => existsSync(join(dir, tool)))) missing.push(tool);
  }
  if (!existsSync('/usr/lib/cni/bridge')) missing.push('/usr/lib/cni/bridge');
  if (!existsSync('/sys/fs/cgroup/pids')) missing.push('cgroup v1 pids hierarchy');
  if (missing.length === 0) return undefined;
  const reason = `real-node tests need ${missing.join(', ')} (bash test/cluster/install-packages.sh installs the packages, as root)`;
  if (process.env.CI === 'true') throw new Error(`CI must run the real-node tests, but: ${reason}`);
  process.stderr.write(`[node] SKIPPED: ${reason}\n`);
  return reason;
}
