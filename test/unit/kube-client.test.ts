/**
 * KubeClient against a real HTTPS server on loopback: a connection that goes silent fails the
 * request (or ends the watch) with IdleTimeoutError instead of holding it until TCP gives up.
 */
import type { ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import t from 'tap';
import { createCertificateAuthority, generatePrivateKey, issueServingCertificate } from '../../certs/pki.js';
import { DEFAULT_IDLE_TIMEOUT_MS, IdleTimeoutError, KubeClient } from '../../shared/kube/client.js';
import type { TeardownTarget } from '../cluster/fixtures.js';

const keyPem = generatePrivateKey();
const ca = createCertificateAuthority({ commonName: 'test-ca', keyPem });
const serving = issueServingCertificate(ca, { dnsNames: ['kube.test'], ipAddresses: ['127.0.0.1'], keyPem });

/** A server whose handler decides per path; every socket is destroyed at teardown. */
async function server(t: TeardownTarget, handler: (req: { url?: string }, res: ServerResponse) => void): Promise<KubeClient> {
  const sockets = new Set<Socket>();
  const s = https.createServer({ cert: serving.certPem, key: serving.keyPem }, handler);
  s.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const client = await KubeClient.create({
    server: `https://127.0.0.1:${(s.address() as AddressInfo).port}`,
    tls: { ca: Buffer.from(ca.certPem), rejectUnauthorized: true },
    authHeaders: async () => ({}),
  });
  t.teardown(async () => {
    client.close();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  });
  return client;
}

/** What `promise` rejects with (undefined when it resolves). */
const failure = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => undefined,
    (err: unknown) => err,
  );

t.test('a request whose connection goes silent fails with IdleTimeoutError; one that answers does not', async (t) => {
  const client = await server(t, (req, res) => {
    if (req.url === '/silent') return; // headers never sent
    if (req.url === '/half') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"partial":'); // then nothing
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{"ok":true}');
  });
  t.same(await client.request('GET', '/fine', { timeoutMs: 200 }), { ok: true });
  const started = Date.now();
  t.type(await failure(client.request('GET', '/silent', { timeoutMs: 200 })), IdleTimeoutError, 'no answer at all');
  t.ok(Date.now() - started < 5_000, 'it fails at the idle timeout, not when TCP gives up');
  t.type(await failure(client.request('GET', '/half', { timeoutMs: 200 })), IdleTimeoutError, 'an answer that stops half-way');
  const error = await failure(client.request('GET', '/silent', { timeoutMs: 200 }));
  t.match((error as Error).message, /GET \/silent: the connection was silent for 200 ms/, 'the message names the request and the wait');
  t.same(await client.request('GET', '/fine', { timeoutMs: 200 }), { ok: true }, 'the client is usable after a timeout');
  t.ok(DEFAULT_IDLE_TIMEOUT_MS > 0 && DEFAULT_IDLE_TIMEOUT_MS <= 60_000, 'a request without a timeout of its own gets a bounded default');
});

t.test('a watch hands on each event, then fails with IdleTimeoutError when its connection goes silent', async (t) => {
  const client = await server(t, (req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a', resourceVersion: '3' } } })}\n`);
    if (req.url?.startsWith('/ends')) res.end(`${JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '4' } } })}\n`);
  });
  const events: string[] = [];
  t.type(await failure(client.watch('/silent', { timeoutMs: 300 }, (e) => events.push(e.type))), IdleTimeoutError);
  t.same(events, ['ADDED'], 'the event before the silence was handed on');
  events.length = 0;
  await client.watch('/ends', { timeoutMs: 300 }, (e) => events.push(e.type));
  t.same(events, ['ADDED', 'BOOKMARK'], 'a watch the server ends resolves');
});

t.test('an error thrown by the event handler ends the watch with that error, not a timeout', async (t) => {
  const client = await server(t, (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write(`${JSON.stringify({ type: 'ERROR', object: { code: 410 } })}\n`);
  });
  class Gone extends Error {}
  t.type(
    await failure(
      client.watch('/w', { timeoutMs: 5_000 }, () => {
        throw new Gone('410');
      }),
    ),
    Gone,
  );
});
