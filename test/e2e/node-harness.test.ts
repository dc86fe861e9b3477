// The real-node harness itself (test/cluster/node.ts, node-host.ts): a node whose process is
// SIGKILLed with pods running is cleaned up by the next node's start, and a stopped node leaves
// nothing behind: no process (zombies aside), network namespace, mount, cgroup or record, and
// the global sysctls the kubelet changes are back as they were.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withNode } from '../cluster/fixtures.js';
import { runKubectl } from '../cluster/kubectl.js';
import { isZombie, KUBELET_SYSCTLS, nodeProcesses, readSysctls, STATE_DIR, type NodeRecord } from '../cluster/node-host.js';
import { SANDBOX_IMAGE } from '../cluster/node.js';
import { nodeSkipReason } from './node-support.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

// What the machine had before any node: a killed run's saved copy, if one is waiting to be restored.
const savedFile = join(STATE_DIR, 'sysctls.json');
const original = existsSync(savedFile) ? (JSON.parse(readFileSync(savedFile, 'utf8')) as Record<string, string>) : readSysctls();

function leftovers(record: NodeRecord): string[] {
  const found: string[] = [];
  if (existsSync(`/run/netns/${record.netns}`)) found.push(`netns ${record.netns}`);
  if (existsSync(record.mountNs)) found.push(`mount namespace ${record.mountNs}`);
  if (readFileSync('/proc/self/mountinfo', 'utf8').includes(record.dir)) found.push('mounts under the work directory');
  for (const h of readdirSync('/sys/fs/cgroup')) if (existsSync(join('/sys/fs/cgroup', h, record.cgroup))) found.push(`cgroup ${h}/${record.cgroup}`);
  const live = nodeProcesses(record).filter((pid) => !isZombie(pid));
  if (live.length > 0) found.push(`processes ${live.join(', ')}`);
  if (existsSync(record.dir)) found.push(`work directory ${record.dir}`);
  if (existsSync(join(STATE_DIR, 'nodes', `${record.id}.json`))) found.push('its record');
  return found;
}

const skip = nodeSkipReason();
let killed: NodeRecord | undefined;

t.test('a node whose process was SIGKILLed with pods running', { skip }, async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'test/cluster/cli.ts'), '--node'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err = (err + c).slice(-4000)));
  let gone = false;
  const exited = new Promise((resolve) =>
    child.once('exit', (code) => {
      gone = true;
      resolve(code);
    }),
  );
  t.teardown(() => child.kill('SIGKILL'));
  // Up to 5 minutes: it may wait for another test file's node (one node per machine at a time).
  const deadline = Date.now() + 300_000;
  while (!out.includes('Press Ctrl-C')) {
    if (gone) throw new Error(`npm run cluster -- --node exited before it was up; its stderr ends:\n${err}`);
    if (Date.now() > deadline) throw new Error(`npm run cluster -- --node not up within 300 s; its stderr ends:\n${err}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const kubeconfig = /export KUBECONFIG=(\S+)/.exec(out)?.[1] ?? '';
  const binDir = /export PATH=([^:]+):/.exec(out)?.[1] ?? '';
  const ctx = { binDir, adminKubeconfig: kubeconfig, cacheDir: join(dirname(kubeconfig), 'kubectl-cache') };
  const run = await runKubectl(ctx, ['run', 'sleeper', `--image=${SANDBOX_IMAGE}`, '--restart=Never']);
  t.equal(run.code, 0, run.stderr);
  const ready = await runKubectl(ctx, ['wait', '--for=condition=Ready', 'pod/sleeper', '--timeout=90s']);
  t.equal(ready.code, 0, ready.stderr);

  const records = readdirSync(join(STATE_DIR, 'nodes')).map((n) => JSON.parse(readFileSync(join(STATE_DIR, 'nodes', n), 'utf8')) as NodeRecord);
  killed = records.find((r) => r.ownerPid === child.pid);
  t.ok(killed, 'the node recorded itself');
  child.kill('SIGKILL');
  await exited;
  await new Promise((resolve) => setTimeout(resolve, 6_000)); // the watchdogs' grace period
  t.ok(leftovers(killed!).length > 0, `SIGKILL leaves things behind for the next run: ${leftovers(killed!).join('; ')}`);
});

t.test('the next node cleans it up, and leaves nothing itself once stopped', { skip }, async (t) => {
  const cluster = await withNode(t);
  t.comment(`node up in ${cluster.nodeTimings.totalMs} ms ${JSON.stringify(cluster.nodeTimings)}`);
  if (killed) t.same(leftovers(killed), [], 'nothing is left of the killed node');
  const during = readSysctls();
  t.comment(`sysctls before ${JSON.stringify(original)}, while the kubelet runs ${JSON.stringify(during)}`);

  const started = Date.now();
  await cluster.stop();
  t.comment(`teardown ${Date.now() - started} ms`);
  t.same(leftovers(cluster.record), [], 'nothing is left of the stopped node');
  t.same(readSysctls(), original, `${KUBELET_SYSCTLS.join(', ')} are restored`);
  t.notOk(existsSync(savedFile), 'no saved sysctls wait for a restore');
});
