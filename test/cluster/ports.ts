/**
 * Free TCP ports on 127.0.0.1, asked of the kernel (listen on port 0, read it, close).
 * The port can in principle be taken again before the component binds it; ports handed out by
 * this process are remembered so two components started here never get the same one.
 */
import { createServer } from 'node:net';

const handedOut = new Set<number>();

/** A loopback TCP port nothing listens on right now. */
export async function freeLoopbackPort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await askKernel();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('could not find a free loopback port in 20 attempts');
}

function askKernel(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('listening socket has no port'));
      });
    });
  });
}
