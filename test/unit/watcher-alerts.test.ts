// Alerts and notify mode: each sink's body as Reloader's receivers expect it (names, never
// values), and delivery against real local HTTPS receivers: one that answers, one that hangs,
// one that answers 500, a CONNECT proxy; a full queue drops, counts and logs, never waits.
import t from 'tap';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createCertificateAuthority, generatePrivateKey, issueServingCertificate } from '../../certs/pki.js';
import { createLogger } from '../../shared/log.js';
import { AlertSender } from '../../watcher/alert-sender.js';
import type { AlertSenderOptions } from '../../watcher/alert-sender.js';
import { formatAlert, formatNotification } from '../../watcher/alerts.js';
import type { AlertSink, RolloutAlert } from '../../watcher/alerts.js';

const keyPem = generatePrivateKey();
const ca = createCertificateAuthority({ commonName: 'alerts-test-ca', keyPem });
const serving = issueServingCertificate(ca, { ipAddresses: ['127.0.0.1'] });

const ALERT: RolloutAlert = {
  workload: { kind: 'Deployment', namespace: 'shop', name: 'web' },
  sources: [
    { kind: 'ConfigMap', name: 'app-config' },
    { kind: 'Secret', name: 'db' },
  ],
  at: new Date('2026-12-01T10:20:30.456Z'),
};

t.test('each sink gets its own body; additional info leads; no value anywhere', async (t) => {
  const body = (sink: AlertSink, info = '', structured = false): unknown => JSON.parse(formatAlert({ sink, additionalInfo: info, structured }, ALERT).body);
  t.same(body('slack'), {
    attachments: [
      {
        color: 'good',
        author_name: 'configstamp',
        text: 'configstamp triggered a rollout\n*Workload:* shop/web (Deployment)\n*Resource:* shop/app-config (ConfigMap), shop/db (Secret)\n*Time:* 2026-12-01 10:20:30 UTC',
      },
    ],
  });
  t.match(body('slack', 'eu-1'), { attachments: [{ text: /^eu-1\nconfigstamp triggered a rollout\n/ }] });
  t.match(body('teams', 'eu-1'), {
    '@type': 'MessageCard',
    summary: 'configstamp triggered a rollout',
    sections: [
      {
        activitySubtitle: 'eu-1',
        facts: [
          { name: 'Workload', value: 'shop/web (Deployment)' },
          { name: 'Resource', value: 'shop/app-config (ConfigMap), shop/db (Secret)' },
          { name: 'Time', value: '2026-12-01 10:20:30 UTC' },
        ],
      },
    ],
  });
  t.notOk((body('teams') as { sections: { activitySubtitle?: string }[] }).sections[0]!.activitySubtitle, 'no subtitle without info');
  t.match(body('gchat'), {
    cards: [
      {
        header: { title: 'configstamp triggered a rollout' },
        sections: [{ widgets: [{ keyValue: { topLabel: 'Workload', content: 'shop/web (Deployment)' } }, {}, {}] }],
      },
    ],
  });
  const raw = formatAlert({ sink: 'raw', additionalInfo: '*prod*', structured: false }, ALERT);
  t.equal(raw.contentType, 'text/plain');
  t.equal(
    raw.body,
    'prod : configstamp triggered a rollout - Workload: shop/web (Deployment), Resource: shop/app-config (ConfigMap), shop/db (Secret), Time: 2026-12-01 10:20:30 UTC',
    'asterisks removed, as Reloader does',
  );
  t.same(body('raw', '', true), {
    event: 'reload',
    workloadKind: 'Deployment',
    workloadName: 'web',
    workloadNamespace: 'shop',
    resourceKind: 'ConfigMap',
    resourceName: 'app-config',
    resourceNamespace: 'shop',
    resources: [
      { kind: 'ConfigMap', name: 'app-config', namespace: 'shop' },
      { kind: 'Secret', name: 'db', namespace: 'shop' },
    ],
    timestamp: '2026-12-01T10:20:30Z',
  });
  t.same(
    JSON.parse(formatNotification(ALERT.workload, { kind: 'Secret', name: 'db', digest: '0123456789abcdef' }, ALERT.at).body),
    {
      kind: 'secret',
      namespace: 'shop',
      resourceName: 'db',
      resourceType: 'secret',
      hash: '0123456789abcdef',
      timestamp: '2026-12-01T10:20:30.456Z',
      workloads: [{ kind: 'Deployment', name: 'web', namespace: 'shop' }],
    },
    "notify mode: Reloader v2's body, with the keyed digest as its hash",
  );
});

interface Receiver {
  readonly url: string;
  readonly bodies: { contentType: string; body: string }[];
  close(): Promise<void>;
}

/** A local HTTPS receiver; `answer` picks the status per request (0: never answer). */
async function receiver(answer: (n: number) => number): Promise<Receiver> {
  const bodies: { contentType: string; body: string }[] = [];
  let n = 0;
  const server = https.createServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const status = answer(n++);
      bodies.push({ contentType: String(req.headers['content-type']), body });
      if (status !== 0) res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    bodies,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function sender(url: string, results: string[], extra: Partial<AlertSenderOptions> = {}): AlertSender {
  return new AlertSender({
    url,
    timeoutMs: 300,
    attempts: 3,
    retryBaseMs: 5,
    retryMaxMs: 20,
    capacity: 10,
    ca: ca.certPem,
    log: createLogger('silent', 'test'),
    onResult: (r) => results.push(r),
    ...extra,
  });
}

t.test('delivered to an HTTPS receiver, in order', async (t) => {
  const r = await receiver(() => 200);
  t.teardown(() => r.close());
  const results: string[] = [];
  const s = sender(r.url, results);
  s.send(formatAlert({ sink: 'slack', additionalInfo: '', structured: false }, ALERT));
  s.send(formatAlert({ sink: 'raw', additionalInfo: '', structured: false }, ALERT));
  await s.flush();
  t.same(results, ['sent', 'sent']);
  t.same(
    r.bodies.map((b) => b.contentType),
    ['application/json', 'text/plain'],
  );
});

t.test('a receiver answering 500 is retried with backoff; one that keeps failing is given up on', async (t) => {
  const flaky = await receiver((n) => (n < 2 ? 500 : 204));
  t.teardown(() => flaky.close());
  const results: string[] = [];
  const s = sender(flaky.url, results);
  s.send({ body: 'x', contentType: 'text/plain' });
  await s.flush();
  t.same(results, ['sent']);
  t.equal(flaky.bodies.length, 3, 'two 500s, then accepted');
  const broken = await receiver(() => 500);
  t.teardown(() => broken.close());
  const lost: string[] = [];
  const b = sender(broken.url, lost);
  b.send({ body: 'x', contentType: 'text/plain' });
  await b.flush();
  t.same(lost, ['failed']);
  t.equal(broken.bodies.length, 3, 'tried --alert-attempts times');
  const refusing = await receiver(() => 403);
  t.teardown(() => refusing.close());
  const refused: string[] = [];
  const f = sender(refusing.url, refused);
  f.send({ body: 'x', contentType: 'text/plain' });
  await f.flush();
  t.same(refused, ['failed']);
  t.equal(refusing.bodies.length, 1, 'a 4xx is not retried');
});

t.test('a receiver that hangs costs a timeout per attempt, and send() never waits', async (t) => {
  const r = await receiver(() => 0);
  t.teardown(() => r.close());
  const results: string[] = [];
  const s = sender(r.url, results, { attempts: 2, capacity: 2 });
  const started = Date.now();
  for (let i = 0; i < 5; i++) s.send({ body: String(i), contentType: 'text/plain' });
  t.ok(Date.now() - started < 100, 'queuing is immediate');
  t.same(results, ['dropped', 'dropped'], 'beyond the queue: dropped at once (one in flight, two queued)');
  await s.flush();
  t.same(results, ['dropped', 'dropped', 'failed', 'failed', 'failed']);
  t.notOk(s.postNow === undefined);
  await t.rejects(s.postNow({ body: 'n', contentType: 'text/plain' }), /no answer within 300 ms/, 'postNow (notify mode) throws so the reconcile retries');
});

t.test('through an HTTP CONNECT proxy (ALERT_WEBHOOK_PROXY)', async (t) => {
  const r = await receiver(() => 200);
  t.teardown(() => r.close());
  const tunnels: string[] = [];
  const sockets = new Set<net.Socket>();
  const proxy = http.createServer();
  proxy.on('connect', (req, client: net.Socket) => {
    tunnels.push(String(req.url));
    sockets.add(client);
    const [host, port] = String(req.url).split(':');
    const upstream = net.connect(Number(port), host, () => {
      sockets.add(upstream);
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((res) => proxy.listen(0, '127.0.0.1', res));
  t.teardown(
    () =>
      new Promise<void>((res) => {
        for (const socket of sockets) socket.destroy();
        proxy.closeAllConnections();
        proxy.close(() => res());
      }),
  );
  const results: string[] = [];
  const s = sender(r.url, results, { proxy: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` });
  s.send({ body: 'via proxy', contentType: 'text/plain' });
  await s.flush();
  t.same(results, ['sent']);
  t.equal(tunnels.length, 1);
  t.match(tunnels[0], /^127\.0\.0\.1:\d+$/);
  t.equal(r.bodies[0]?.body, 'via proxy');
});
