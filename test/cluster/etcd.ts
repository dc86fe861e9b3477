/**
 * A single-member etcd on loopback for one test control plane. Plain HTTP (nothing but the API
 * server on this machine talks to it) and --unsafe-no-fsync: its data is thrown away, and fsync
 * on every write is most of what makes a disposable etcd slow.
 */
import { join } from 'node:path';
import { freeLoopbackPort } from './ports.js';
import { httpGet, waitFor } from './readiness.js';
import { supervise, type Supervised } from './supervise.js';
import type { WorkDir } from './workdir.js';

export interface RunningEtcd {
  readonly clientUrl: string;
  readonly process: Supervised;
}

export async function startEtcd(binDir: string, dir: WorkDir, timeoutMs = 20_000): Promise<RunningEtcd> {
  const clientUrl = `http://127.0.0.1:${await freeLoopbackPort()}`;
  const peerUrl = `http://127.0.0.1:${await freeLoopbackPort()}`;
  const component = supervise({
    name: 'etcd',
    command: join(binDir, 'etcd'),
    args: [
      '--name=configstamp',
      `--data-dir=${dir.etcdData}`,
      `--listen-client-urls=${clientUrl}`,
      `--advertise-client-urls=${clientUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=configstamp=${peerUrl}`,
      '--initial-cluster-state=new',
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ],
    logPath: dir.log('etcd'),
  });
  const healthy = async () => {
    const reply = await httpGet(`${clientUrl}/health`);
    return reply.status === 200 && (JSON.parse(reply.body) as { health?: string }).health === 'true';
  };
  try {
    await waitFor('etcd /health', healthy, { timeoutMs, component });
  } catch (err) {
    await component.stop();
    throw err;
  }
  return { clientUrl, process: component };
}
