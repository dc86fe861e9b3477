// configstamp's own kubeconfig loader: every supported field, paths relative to the kubeconfig,
// base64 data, the in-cluster config (env and mounted files, in a temp dir), a rotated token read
// again after a minute, every error as a CS_ERR_KUBECONFIG without the secret in it, requests that
// really authenticate against a local HTTPS server (bearer, basic, client certificate, and an
// exec plugin through the client-node fallback), and that only that fallback loads client-node.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { createCertificateAuthority, generatePrivateKey, issueClientCertificate, issueServingCertificate } from '../../certs/pki.js';
import { ConfigstampError, ErrorCodes } from '../../shared/errors.js';
import type { TeardownTarget } from '../cluster/fixtures.js';
import type { ClusterAccess } from '../../shared/kube/access.js';
import { TOKEN_FILE_MAX_AGE_MS } from '../../shared/kube/access.js';
import { KubeClient } from '../../shared/kube/client.js';
import type { KubeconfigOptions } from '../../shared/kube/kubeconfig.js';
import { loadKubeConfig, parseKubeconfig } from '../../shared/kube/kubeconfig.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const keyPem = generatePrivateKey();
const ca = createCertificateAuthority({ commonName: 'test-ca', keyPem });
const serving = issueServingCertificate(ca, { dnsNames: ['kube.test'], ipAddresses: ['127.0.0.1'], keyPem });
const alice = issueClientCertificate(ca, { commonName: 'alice', organizations: ['devs'], keyPem });
const b64 = (text: string): string => Buffer.from(text).toString('base64');
const SECRET = 'tok-SECRET-value';
const PASSWORD = 'pw-SECRET-value';
const CA_DATA = { 'certificate-authority-data': b64(ca.certPem) };

interface Entries {
  readonly cluster?: Record<string, unknown>;
  readonly user?: Record<string, unknown> | null;
  readonly context?: Record<string, unknown>;
}

/** A kubeconfig with one cluster "c", user "u" and context "x" (current). */
function kubeconfig(entries: Entries = {}): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:6443', ...CA_DATA, ...entries.cluster } }],
    users: entries.user === null ? [] : [{ name: 'u', user: entries.user ?? {} }],
    contexts: [{ name: 'x', context: { cluster: 'c', ...(entries.user === null ? {} : { user: 'u' }), ...entries.context } }],
    'current-context': 'x',
  };
}

function tempDir(t: TeardownTarget): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'kubeconfig-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes `files` (relative to dir) and returns the first one's path. */
function write(dir: string, files: Readonly<Record<string, string | object>>): string {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), typeof content === 'string' ? content : stringify(content));
  }
  return path.join(dir, Object.keys(files)[0]!);
}

async function loadError(path: string, options: KubeconfigOptions = { env: {} }): Promise<ConfigstampError> {
  try {
    await loadKubeConfig(path, options);
  } catch (err) {
    if (err instanceof ConfigstampError) return err;
    throw err;
  }
  throw new Error('loaded without an error');
}

t.test('each field of a kubeconfig, files relative to its directory, data as base64', async (t) => {
  const dir = tempDir(t);
  write(dir, {
    'pki/ca.crt': ca.certPem,
    'pki/alice.crt': alice.certPem,
    'pki/alice.key': alice.keyPem,
    'pki/token': `  ${SECRET}\n`,
  });
  const cases: { name: string; entries: Entries; headers?: Record<string, string>; tls?: Record<string, unknown>; server?: string }[] = [
    { name: 'token', entries: { user: { token: SECRET } }, headers: { Authorization: `Bearer ${SECRET}` } },
    { name: 'tokenFile, relative, trimmed', entries: { user: { tokenFile: '../pki/token' } }, headers: { Authorization: `Bearer ${SECRET}` } },
    {
      name: 'tokenFile wins over token (client-go)',
      entries: { user: { token: 'stale', tokenFile: '../pki/token' } },
      headers: { Authorization: `Bearer ${SECRET}` },
    },
    { name: 'username/password', entries: { user: { username: 'bob', password: PASSWORD } }, headers: { Authorization: `Basic ${b64(`bob:${PASSWORD}`)}` } },
    { name: 'username without password', entries: { user: { username: 'bob' } }, headers: { Authorization: `Basic ${b64('bob:')}` } },
    { name: 'no credentials', entries: { user: {} }, headers: {} },
    { name: 'a context without a user', entries: { user: null }, headers: {} },
    {
      name: 'client certificate and key as data',
      entries: { user: { 'client-certificate-data': b64(alice.certPem), 'client-key-data': b64(alice.keyPem) } },
      tls: { cert: Buffer.from(alice.certPem), key: Buffer.from(alice.keyPem) },
      headers: {},
    },
    {
      name: 'client certificate and key as relative files',
      entries: { user: { 'client-certificate': '../pki/alice.crt', 'client-key': '../pki/alice.key' } },
      tls: { cert: Buffer.from(alice.certPem), key: Buffer.from(alice.keyPem) },
    },
    { name: 'certificate-authority-data', entries: {}, tls: { ca: Buffer.from(ca.certPem), rejectUnauthorized: true } },
    {
      name: 'certificate-authority, relative',
      entries: { cluster: { 'certificate-authority-data': null, 'certificate-authority': '../pki/ca.crt' } },
      tls: { ca: Buffer.from(ca.certPem) },
    },
    {
      name: 'certificate-authority, absolute',
      entries: { cluster: { 'certificate-authority-data': null, 'certificate-authority': path.join(dir, 'pki/ca.crt') } },
      tls: { ca: Buffer.from(ca.certPem) },
    },
    {
      name: 'insecure-skip-tls-verify',
      entries: { cluster: { 'certificate-authority-data': null, 'insecure-skip-tls-verify': true } },
      tls: { ca: undefined, rejectUnauthorized: false },
    },
    { name: 'tls-server-name', entries: { cluster: { 'tls-server-name': 'kube.test' } }, tls: { servername: 'kube.test' } },
    {
      name: 'a server with a path prefix',
      entries: { cluster: { server: 'https://example.test/k8s/clusters/c-1' } },
      server: 'https://example.test/k8s/clusters/c-1',
    },
    {
      name: 'base64 data wrapped over lines',
      entries: { cluster: { 'certificate-authority-data': b64(ca.certPem).replace(/(.{64})/g, '$1\n') } },
      tls: { ca: Buffer.from(ca.certPem) },
    },
  ];
  for (const c of cases) {
    const file = write(dir, { [`conf/${c.name.replace(/\W+/g, '-')}.yaml`]: kubeconfig(c.entries) });
    const access = await loadKubeConfig(file, { env: {} });
    if (c.headers) t.strictSame(await access.authHeaders(), c.headers, `${c.name}: headers`);
    if (c.tls) t.match(access.tls, c.tls, `${c.name}: tls`);
    t.equal(access.server, c.server ?? 'https://127.0.0.1:6443', `${c.name}: server`);
  }
});

t.test('parseKubeconfig resolves relative paths against the kubeconfig directory, not the working directory', async (t) => {
  const selection = parseKubeconfig(
    stringify(
      kubeconfig({
        cluster: { 'certificate-authority-data': null, 'certificate-authority': 'ca.crt' },
        user: { tokenFile: './sub/token', 'client-certificate': '/abs/alice.crt', 'client-key': '../alice.key' },
      }),
    ),
    '/home/me/.kube/config',
  );
  t.strictSame(selection.cluster.ca, { file: '/home/me/.kube/ca.crt' });
  t.equal(selection.user.tokenFile, '/home/me/.kube/sub/token');
  t.strictSame(selection.user.clientCertificate, { file: '/abs/alice.crt' });
  t.strictSame(selection.user.clientKey, { file: '/home/me/alice.key' });
  t.equal(selection.context, 'x');
  for (const [plugin, user] of [
    ['exec', { exec: { command: 'aws' } }],
    ['auth-provider', { 'auth-provider': { name: 'gcp' } }],
  ] as const) {
    t.strictSame(parseKubeconfig(stringify(kubeconfig({ user })), '/k/config').user, { plugin }, `${plugin}: left to the plugin fallback`);
  }
});

t.test('a relative kubeconfig path resolves against the working directory, its contents against its own', async (t) => {
  const dir = tempDir(t);
  write(dir, { 'kube/config': kubeconfig({ user: { tokenFile: 'token' } }), 'kube/token': SECRET });
  const relative = path.relative(process.cwd(), path.join(dir, 'kube/config'));
  const access = await loadKubeConfig(relative, { env: {} });
  t.strictSame(await access.authHeaders(), { Authorization: `Bearer ${SECRET}` });
});

t.test('every invalid kubeconfig is a CS_ERR_KUBECONFIG naming the problem, never the secret', async (t) => {
  const dir = tempDir(t);
  write(dir, { 'ca.crt': ca.certPem, 'empty-token': '\n', 'garbage.pem': 'not a certificate', 'alice.crt': alice.certPem });
  const other = issueClientCertificate(ca, { commonName: 'other' });
  const secretUser = { token: SECRET };
  const cases: { name: string; config: string | object; message: RegExp }[] = [
    {
      name: 'malformed YAML',
      config: `users:\n- name: u\n  user:\n    token: ${SECRET}\n   bad: [`,
      message: /malformed YAML at line \d+, column \d+ \(\w+\)/,
    },
    {
      name: 'duplicate key',
      config: `current-context: x\nusers:\n- name: u\n  user: {token: ${SECRET}, token: ${SECRET}}\n`,
      message: /malformed YAML .*DUPLICATE_KEY/,
    },
    { name: 'not a mapping', config: `- ${SECRET}\n`, message: /not a kubeconfig/ },
    { name: 'an empty file', config: '', message: /current-context is not set/ },
    { name: 'no current-context', config: { ...kubeconfig({ user: secretUser }), 'current-context': undefined }, message: /current-context is not set/ },
    {
      name: 'unknown current-context',
      config: { ...kubeconfig({ user: secretUser }), 'current-context': 'nope' },
      message: /current-context "nope" is not among its contexts/,
    },
    {
      name: 'unknown cluster',
      config: kubeconfig({ user: secretUser, context: { cluster: 'gone' } }),
      message: /context "x": cluster "gone" is not among its clusters/,
    },
    { name: 'unknown user', config: kubeconfig({ user: secretUser, context: { user: 'gone' } }), message: /context "x": user "gone" is not among its users/ },
    { name: 'context without a cluster', config: kubeconfig({ user: secretUser, context: { cluster: null } }), message: /context "x": cluster is not set/ },
    { name: 'clusters not a list', config: { ...kubeconfig({ user: secretUser }), clusters: { c: {} } }, message: /clusters must be a list/ },
    { name: 'an entry without a name', config: { ...kubeconfig({ user: secretUser }), users: [{ user: secretUser }] }, message: /users\[0\] has no name/ },
    {
      name: 'a duplicate name',
      config: {
        ...kubeconfig(),
        users: [
          { name: 'u', user: secretUser },
          { name: 'u', user: secretUser },
        ],
      },
      message: /users: duplicate name "u"/,
    },
    { name: 'a body that is not a mapping', config: { ...kubeconfig(), users: [{ name: 'u', user: SECRET }] }, message: /users "u": user must be a mapping/ },
    { name: 'no server', config: kubeconfig({ user: secretUser, cluster: { server: null } }), message: /cluster "c": server is not set/ },
    { name: 'a plain-HTTP server', config: kubeconfig({ cluster: { server: 'http://127.0.0.1:8080' } }), message: /server must be an https:\/\/ URL/ },
    { name: 'a server that is not a URL', config: kubeconfig({ cluster: { server: '127.0.0.1:6443' } }), message: /server must be an https:\/\/ URL/ },
    { name: 'proxy-url', config: kubeconfig({ cluster: { 'proxy-url': 'http://proxy:3128' } }), message: /proxy-url is not supported/ },
    {
      name: 'CA file and data',
      config: kubeconfig({ cluster: { 'certificate-authority': 'ca.crt' } }),
      message: /certificate-authority and certificate-authority-data are both set/,
    },
    {
      name: 'bad base64',
      config: kubeconfig({ cluster: { 'certificate-authority-data': 'not*base64' } }),
      message: /certificate-authority-data is not valid base64/,
    },
    {
      name: 'insecure with a CA',
      config: kubeconfig({ cluster: { 'insecure-skip-tls-verify': true } }),
      message: /insecure-skip-tls-verify cannot be combined/,
    },
    {
      name: 'insecure not a boolean',
      config: kubeconfig({ cluster: { 'certificate-authority-data': null, 'insecure-skip-tls-verify': 'yes' } }),
      message: /insecure-skip-tls-verify must be true or false/,
    },
    { name: 'a token that is not a string', config: kubeconfig({ user: { token: 12345 } }), message: /user "u": token must be a string/ },
    {
      name: 'certificate without key',
      config: kubeconfig({ user: { 'client-certificate-data': b64(alice.certPem) } }),
      message: /client-certificate is set without client-key/,
    },
    {
      name: 'key without certificate',
      config: kubeconfig({ user: { 'client-key-data': b64(alice.keyPem) } }),
      message: /client-key is set without client-certificate/,
    },
    {
      name: 'token and basic',
      config: kubeconfig({ user: { token: SECRET, username: 'bob', password: PASSWORD } }),
      message: /a token and username\/password are both set/,
    },
    { name: 'password without username', config: kubeconfig({ user: { password: PASSWORD } }), message: /password is set without username/ },
    { name: 'impersonation', config: kubeconfig({ user: { token: SECRET, as: 'admin' } }), message: /impersonation \(as\) is not supported/ },
    {
      name: 'every problem at once',
      config: kubeconfig({ cluster: { server: null, 'proxy-url': 'http://p' }, user: { password: PASSWORD } }),
      message: /server is not set; .*proxy-url is not supported .*; user "u": password is set without username/,
    },
    {
      name: 'a missing CA file',
      config: kubeconfig({ cluster: { 'certificate-authority-data': null, 'certificate-authority': 'gone.crt' } }),
      message: /cannot read certificate-authority \S+gone\.crt \(ENOENT\)/,
    },
    {
      name: 'a missing client key file',
      config: kubeconfig({ user: { 'client-certificate': 'alice.crt', 'client-key': 'gone.key' } }),
      message: /cannot read client-key \S+gone\.key \(ENOENT\)/,
    },
    { name: 'a missing token file', config: kubeconfig({ user: { tokenFile: 'gone' } }), message: /cannot read token file \S+gone \(ENOENT\)/ },
    { name: 'an empty token file', config: kubeconfig({ user: { tokenFile: 'empty-token' } }), message: /token file \S+empty-token \(the file is empty\)/ },
    {
      name: 'a CA that is not PEM',
      config: kubeconfig({ cluster: { 'certificate-authority-data': null, 'certificate-authority': 'garbage.pem' } }),
      message: /the certificate-authority is not usable/,
    },
    {
      name: 'a key that does not match the certificate',
      config: kubeconfig({ user: { 'client-certificate-data': b64(alice.certPem), 'client-key-data': b64(other.keyPem) } }),
      message: /the client certificate and key is not usable \(.*mismatch/,
    },
  ];
  for (const c of cases) {
    const file = write(dir, { [`${c.name.replace(/\W+/g, '-')}.yaml`]: c.config });
    const err = await loadError(file);
    t.equal(err.code, ErrorCodes.KUBECONFIG, `${c.name}: code`);
    t.match(err.message, c.message, `${c.name}: message`);
    t.match(err.message, new RegExp(`^loading kubeconfig ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `), `${c.name}: names the file`);
    for (const secret of [SECRET, PASSWORD, b64(other.keyPem).slice(0, 40), 'BEGIN RSA PRIVATE KEY']) {
      t.notOk(err.message.includes(secret), `${c.name}: no secret in the message`);
    }
  }
});

t.test('a kubeconfig that cannot be read', async (t) => {
  const dir = tempDir(t);
  const missing = await loadError(path.join(dir, 'nope'));
  t.match(missing, { code: ErrorCodes.KUBECONFIG, message: /^loading kubeconfig \S+nope: cannot read the file \(ENOENT\)$/ });
  const list = await loadError(`${path.join(dir, 'a')}:${path.join(dir, 'b')}`);
  t.match(list.message, /cannot read the file \(ENOENT\); configstamp reads one kubeconfig, not a list/);
  t.match(await loadError(dir), { message: /cannot read the file \(EISDIR\)/ });
});

t.test('in-cluster: KUBERNETES_SERVICE_HOST/PORT and the mounted token and CA', async (t) => {
  const dir = tempDir(t);
  write(dir, { token: `${SECRET}\n`, 'ca.crt': ca.certPem });
  const options = (env: Record<string, string>): KubeconfigOptions => ({ env, serviceAccountDir: dir });
  const access = await loadKubeConfig('', options({ KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }));
  t.equal(access.server, 'https://10.96.0.1:443');
  t.match(access.tls, { ca: Buffer.from(ca.certPem), rejectUnauthorized: true });
  t.strictSame(await access.authHeaders(), { Authorization: `Bearer ${SECRET}` });
  const v6 = await loadKubeConfig('', options({ KUBERNETES_SERVICE_HOST: 'fd00:10:96::1', KUBERNETES_SERVICE_PORT: '6443' }));
  t.equal(v6.server, 'https://[fd00:10:96::1]:6443', 'an IPv6 host in brackets');

  const errors: [string, Record<string, string>, string, RegExp][] = [
    ['no env', {}, dir, /^loading kubeconfig \(in-cluster\): KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set/],
    ['no port', { KUBERNETES_SERVICE_HOST: '10.96.0.1' }, dir, /are not set/],
    ['a bad port', { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: 'https' }, dir, /do not make a URL/],
    [
      'no token mounted',
      { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' },
      path.join(dir, 'nowhere'),
      /cannot read token file \S+\/nowhere\/token \(ENOENT\)/,
    ],
  ];
  for (const [name, env, serviceAccountDir, message] of errors) {
    t.match(await loadError('', { env, serviceAccountDir }), { code: ErrorCodes.KUBECONFIG, message }, name);
  }
  unlinkSync(path.join(dir, 'ca.crt'));
  t.match(
    await loadError('', options({ KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' })),
    { message: /cannot read certificate-authority \S+ca\.crt \(ENOENT\)/ },
    'no CA mounted',
  );
});

t.test('a token file is read again once its token is over a minute old; a failed read keeps the last', async (t) => {
  const dir = tempDir(t);
  const tokenFile = write(dir, { token: 'first', 'ca.crt': ca.certPem });
  let clock = 1_000_000;
  const env = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
  const access = await loadKubeConfig('', { env, serviceAccountDir: dir, now: () => clock });
  const bearer = async (): Promise<string | undefined> => (await access.authHeaders()).Authorization;
  t.equal(await bearer(), 'Bearer first');
  writeFileSync(tokenFile, 'second');
  clock += TOKEN_FILE_MAX_AGE_MS - 1;
  t.equal(await bearer(), 'Bearer first', 'not read again within the minute');
  clock += 1;
  t.equal(await bearer(), 'Bearer second', 'read again after a minute');
  unlinkSync(tokenFile);
  clock += TOKEN_FILE_MAX_AGE_MS;
  t.equal(await bearer(), 'Bearer second', 'gone mid-rotation: the last token is kept');
  writeFileSync(tokenFile, 'third');
  t.equal(await bearer(), 'Bearer second', 'the failed read counts as a read');
  clock += TOKEN_FILE_MAX_AGE_MS;
  t.equal(await bearer(), 'Bearer third');
});

/** A local HTTPS server that answers who the request authenticated as. */
async function whoAmIServer(t: TeardownTarget): Promise<string> {
  const server = https.createServer(
    { cert: serving.certPem, key: serving.keyPem, ca: [ca.certPem], requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      const socket = req.socket as TLSSocket;
      const clientCommonName = socket.authorized ? socket.getPeerCertificate().subject.CN : null;
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ authorization: req.headers.authorization ?? null, clientCommonName, path: req.url }));
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

interface WhoAmI {
  authorization: string | null;
  clientCommonName: string | null;
  path: string;
}

async function whoAmI(t: TeardownTarget, access: ClusterAccess, path = '/api'): Promise<WhoAmI> {
  const client = await KubeClient.create(access, 'kubeconfig-test');
  t.teardown(() => client.close());
  return client.request<WhoAmI>('GET', path);
}

t.test('requests made with the loaded config authenticate against a real HTTPS server', async (t) => {
  const dir = tempDir(t);
  const server = await whoAmIServer(t);
  write(dir, { 'ca.crt': ca.certPem, 'alice.crt': alice.certPem, 'alice.key': alice.keyPem });
  const load = (entries: Entries, name: string): Promise<ClusterAccess> =>
    loadKubeConfig(write(dir, { [`${name}.yaml`]: kubeconfig({ ...entries, cluster: { server, ...entries.cluster } }) }), { env: {} });

  t.match(await whoAmI(t, await load({ user: { token: SECRET } }, 'token')), { authorization: `Bearer ${SECRET}`, clientCommonName: null });
  t.match(await whoAmI(t, await load({ user: { username: 'bob', password: PASSWORD } }, 'basic')), { authorization: `Basic ${b64(`bob:${PASSWORD}`)}` });
  t.match(
    await whoAmI(t, await load({ user: { 'client-certificate': 'alice.crt', 'client-key': 'alice.key' } }, 'cert')),
    { authorization: null, clientCommonName: 'alice' },
    'client-certificate authentication',
  );
  t.match(
    await whoAmI(
      t,
      await load(
        { cluster: { 'certificate-authority-data': null, 'certificate-authority': 'ca.crt', server: `${server}/prefix/` }, user: { token: SECRET } },
        'prefix',
      ),
    ),
    { path: '/prefix/api' },
    'a path prefix on the server URL',
  );
  t.match(
    await whoAmI(t, await load({ cluster: { server: server.replace('127.0.0.1', 'localhost'), 'tls-server-name': 'kube.test' } }, 'sni')),
    { authorization: null },
    'tls-server-name: the certificate is checked against kube.test, not localhost',
  );
  await t.rejects(
    whoAmI(t, await load({ cluster: { server: server.replace('127.0.0.1', 'localhost') } }, 'no-sni')),
    /localhost/,
    'without tls-server-name, localhost is not in the certificate',
  );
  await t.rejects(
    whoAmI(t, await load({ cluster: { 'certificate-authority-data': null } }, 'no-ca')),
    /self.signed|unable to verify|local issuer/,
    'without a CA, the server is not trusted',
  );
  t.match(
    await whoAmI(t, await load({ cluster: { 'certificate-authority-data': null, 'insecure-skip-tls-verify': true } }, 'insecure')),
    { path: '/api' },
    'insecure-skip-tls-verify',
  );
});

t.test('in-cluster against a real HTTPS server: the rotated token is sent after a minute', async (t) => {
  const dir = tempDir(t);
  const server = new URL(await whoAmIServer(t));
  write(dir, { token: 'first', 'ca.crt': ca.certPem });
  let clock = 0;
  const env = { KUBERNETES_SERVICE_HOST: server.hostname, KUBERNETES_SERVICE_PORT: server.port };
  const client = await KubeClient.create(await loadKubeConfig('', { env, serviceAccountDir: dir, now: () => clock }), 'kubeconfig-test');
  t.teardown(() => client.close());
  t.match(await client.request<WhoAmI>('GET', '/api'), { authorization: 'Bearer first' });
  writeFileSync(path.join(dir, 'token'), 'second');
  clock += TOKEN_FILE_MAX_AGE_MS;
  t.match(await client.request<WhoAmI>('GET', '/api'), { authorization: 'Bearer second' });
});

const EXEC_USER = {
  exec: {
    apiVersion: 'client.authentication.k8s.io/v1',
    interactiveMode: 'Never',
    command: process.execPath,
    args: ['-e', 'console.log(JSON.stringify({ apiVersion: "client.authentication.k8s.io/v1", kind: "ExecCredential", status: { token: "exec-token" } }))'],
  },
};

t.test('an exec credential plugin goes through @kubernetes/client-node', async (t) => {
  const dir = tempDir(t);
  const server = await whoAmIServer(t);
  const file = write(dir, { config: kubeconfig({ cluster: { server }, user: EXEC_USER }) });
  t.match(await whoAmI(t, await loadKubeConfig(file, { env: {} })), { authorization: 'Bearer exec-token' });
  const broken = write(dir, { broken: kubeconfig({ cluster: { server }, user: { exec: { ...EXEC_USER.exec, args: ['-e', 'process.exit(3)'] } } }) });
  t.match(
    await loadError(broken),
    { code: ErrorCodes.KUBECONFIG, message: /^loading kubeconfig \S+broken: credential plugin \(exec\): failed without a message$/ },
    'a failing plugin fails the load',
  );
});

t.test('only a credential plugin loads @kubernetes/client-node', async (t) => {
  const dir = tempDir(t);
  write(dir, { token: SECRET, 'ca.crt': ca.certPem, plain: kubeconfig({ user: { token: SECRET } }), exec: kubeconfig({ user: EXEC_USER }) });
  // A child process whose module resolution refuses client-node (the hook runs for every import).
  const forbid = `export async function resolve(s, c, next) { if (s.startsWith('@kubernetes/client-node')) throw new Error('client-node imported'); return next(s, c); }`;
  const script = `
    import { register } from 'node:module';
    register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(forbid)}));
    const { loadKubeConfig } = await import('./shared/kube/kubeconfig.ts');
    await import('./shared/kube/connect.ts');
    await loadKubeConfig(${JSON.stringify(path.join(dir, 'plain'))}, { env: {} });
    await loadKubeConfig('', { env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: ${JSON.stringify(dir)} });
    console.log('plain and in-cluster: loaded');
    await loadKubeConfig(${JSON.stringify(path.join(dir, 'exec'))}, { env: {} }).catch((err) => console.log('exec: ' + err.message));`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  t.equal(child.status, 0, child.stderr);
  t.match(child.stdout, /plain and in-cluster: loaded\nexec: loading kubeconfig \S+exec: credential plugin \(exec\): client-node imported/);
});
