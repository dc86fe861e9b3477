// Runs inside a test node's network namespace: for each SOCKET=HOST:PORT argument, accepts
// connections on the Unix socket SOCKET (a file, so reachable from the machine's own namespace)
// and pipes each to HOST:PORT inside the namespace. The harness's end of it is a loopback TCP
// listener in the test process; kubectl and API clients use that, and no address outside
// loopback and the namespace is ever involved.
import { rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';

for (const spec of process.argv.slice(2)) {
  const [socket, target] = spec.split('=');
  const colon = target.lastIndexOf(':');
  const host = target.slice(0, colon);
  const port = Number(target.slice(colon + 1));
  rmSync(socket, { force: true });
  createServer((client) => {
    const upstream = connect(port, host);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }).listen(socket, () => process.stdout.write(`forwarding ${socket} -> ${host}:${port}\n`));
}
process.on('SIGTERM', () => process.exit(0));
