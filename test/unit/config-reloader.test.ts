// Reloader's settings carry over as they are: every flag of v1.4.x and of the v2 line starts
// configstamp (with the same meaning, or one startup warning saying what happens instead), its
// booleans, selectors, lists and env vars parse as Reloader parses them, and its renamed
// annotation keys are what the policy reads.
import t from 'tap';
import { parseFlags } from '../../shared/config/flags.js';
import { POLICY_FLAGS, policyFromFlags } from '../../shared/config/shared-flags.js';
import { matchesLabels } from '../../shared/core/selector.js';
import type { LabelSelector } from '../../shared/core/selector.js';
import { ALL_KEYS, planTracking, workloadKindByName } from '../../shared/core/index.js';
import { parseWatcherConfig } from '../../watcher/config.js';
import { parseWebhookConfig } from '../../webhook/config.js';

/** Every flag of Reloader v1.4.21 (internal/pkg/util/util.go), with a value as its chart renders it. */
const RELOADER_V1_ARGS = [
  '--auto-reload-all=true',
  '--configmap-annotation=configmap.reloader.stakater.com/reload',
  '--secret-annotation=secret.reloader.stakater.com/reload',
  '--auto-annotation=reloader.stakater.com/auto',
  '--ignore-annotation=reloader.stakater.com/ignore',
  '--configmap-auto-annotation=configmap.reloader.stakater.com/auto',
  '--secret-auto-annotation=secret.reloader.stakater.com/auto',
  '--auto-search-annotation=reloader.stakater.com/search',
  '--search-match-annotation=reloader.stakater.com/match',
  '--pause-deployment-annotation=deployment.reloader.stakater.com/pause-period',
  '--pause-deployment-time-annotation=deployment.reloader.stakater.com/paused-at',
  '--log-format=',
  '--log-level=warning',
  '--webhook-url=',
  '--resources-to-ignore=secrets',
  '--ignored-workload-types=jobs,cronjobs',
  '--namespaces=apps,web',
  '--namespaces-to-ignore=kube-system',
  '--namespace-selector="team:a,env=*"',
  '--resource-label-selector=reload:yes',
  '--is-Argo-Rollouts=true',
  '--reload-strategy=annotations',
  '--reload-on-create=true',
  '--reload-on-delete=true',
  '--enable-ha=true',
  '--sync-after-restart=true',
  '--enable-pprof',
  '--pprof-addr=:6060',
  '--enable-csi-integration=true',
];

/** The flags Reloader's v2 line adds (internal/pkg/config/flags/flags.go). */
const RELOADER_V2_ARGS = [
  '--is-openshift=auto',
  '--leader-election-id=reloader-leader-election',
  '--leader-election-namespace=configstamp',
  '--leader-election-lease-duration=15s',
  '--leader-election-renew-deadline=10s',
  '--leader-election-retry-period=2s',
  '--leader-election-release-on-cancel=true',
  '--metrics-addr=:9090',
  '--health-addr=:8080',
  '--configmap-exclude-annotation=configmaps.exclude.reloader.stakater.com/reload',
  '--secret-exclude-annotation=secrets.exclude.reloader.stakater.com/reload',
  '--secretproviderclass-auto-annotation=secretproviderclass.reloader.stakater.com/auto',
  '--secretproviderclass-annotation=secretproviderclass.reloader.stakater.com/reload',
  '--secretproviderclass-exclude-annotation=secretproviderclasses.exclude.reloader.stakater.com/reload',
  '--alert-on-reload=true',
  '--alert-webhook-url=https://hooks.example/T0/B0/x',
  '--alert-sink=slack',
  '--alert-proxy=http://127.0.0.1:3128',
  '--alert-additional-info=prod',
  '--alert-structured=false',
];

t.test('every Reloader v1 flag starts the watcher; each warning names its flag, once', async (t) => {
  const c = parseWatcherConfig(RELOADER_V1_ARGS, {})!;
  t.equal(c.policy.trackAll, true);
  t.equal(c.logLevel, 'warning');
  t.equal(c.logFormat, 'text', '--log-format="" is Reloader\'s text format');
  t.same([...c.policy.ignoredSourceKinds], ['Secret']);
  t.same([...c.policy.ignoredWorkloadKinds].sort(), ['CronJob', 'Job']);
  t.same(c.namespaces, ['apps', 'web']);
  t.equal(c.rollOnDelete, true);
  t.equal(c.leaderElect, true);
  t.equal(c.webhookUrl, '', 'an empty --webhook-url rolls as usual');
  const flags = c.warnings.map((w) => w.slice(0, w.indexOf(':')));
  t.same(
    flags.filter((f, i) => flags.indexOf(f) !== i),
    [],
    'one warning per flag at most',
  );
  for (const f of ['--enable-pprof', '--namespace-selector']) {
    t.ok(flags.includes(f), `${f} warns`);
  }
  for (const f of [
    '--auto-reload-all',
    '--is-Argo-Rollouts',
    '--reload-strategy',
    '--reload-on-create',
    '--sync-after-restart',
    '--ignored-workload-types',
    '--pause-deployment-annotation',
    '--pause-deployment-time-annotation',
    '--enable-csi-integration',
  ]) {
    t.notOk(flags.includes(f), `${f} works with the same meaning: no warning`);
  }
});

t.test('every Reloader v2 flag starts the watcher too', async (t) => {
  const c = parseWatcherConfig([...RELOADER_V1_ARGS.filter((a) => !a.startsWith('--namespaces=')), ...RELOADER_V2_ARGS], {})!;
  t.equal(c.leaseName, 'reloader-leader-election', '--leader-election-id names the Lease');
  t.equal(c.leaseDurationMs, 15_000);
  t.ok(c.alerts, 'alerts on');
  t.equal(c.alerts!.sink, 'slack');
  t.equal(c.alerts!.proxy, 'http://127.0.0.1:3128');
  t.equal(c.alerts!.additionalInfo, 'prod');
  const warned = c.warnings.join('\n');
  t.notMatch(warned, '--is-openshift', '--is-openshift=auto: DeploymentConfigs are tracked when served, as Reloader v2 detects them');
  t.notOk(c.policy.ignoredWorkloadKinds.has('DeploymentConfig'));
  t.match(warned, '--metrics-addr: configstamp serves /metrics');
  t.notMatch(warned, 'hooks.example', 'no warning echoes the alert URL (it holds a token)');
  t.notMatch(warned, '--leader-election-namespace', 'the same namespace as --namespace: no warning');
});

t.test("Reloader's flags are accepted by the webhook where they apply to it", async (t) => {
  const policyArgs = RELOADER_V1_ARGS.filter(
    (a) => POLICY_FLAGS.some((s) => a.startsWith(`--${s.name}=`) || a === `--${s.name}`) || /^--(auto-reload-all|log-)/.test(a),
  );
  const c = parseWebhookConfig(policyArgs, {})!;
  t.equal(c.policy.trackAll, true);
  t.same(c.namespaces, ['apps', 'web']);
  t.same([...c.policy.namespaceScope!], ['apps', 'web']);
});

t.test('the strategy, create and restart flags: same meaning, or one warning, never a refusal', async (t) => {
  const w = (args: string[]): string => parseWatcherConfig(args, {})!.warnings.join('\n');
  t.match(w(['--reload-strategy=env-vars']), /--reload-strategy: configstamp rolls by writing its stamp annotation/);
  t.equal(w(['--reload-strategy=annotations']), '');
  t.match(w(['--sync-after-restart=false']), /--sync-after-restart: configstamp always syncs at boot/);
  t.match(w(['--reload-on-create=false']), /--reload-on-create: configstamp still rolls a workload once/);
  t.match(w(['--reload-on-create', 'false']), /--reload-on-create/, 'a string flag written as two words');
  t.match(w(['--enable-pprof']), /no pprof endpoint/);
  t.match(w(['--leader-election-namespace=other']), /kept in configstamp's namespace configstamp/);
  t.throws(() => parseWatcherConfig(['--reload-strategy=restart'], {}), /--reload-strategy: "restart" is not one of env-vars, annotations, ""/);
});

t.test('booleans parse as Go parses them', async (t) => {
  for (const [text, want] of [
    ['1', true],
    ['t', true],
    ['T', true],
    ['TRUE', true],
    ['True', true],
    ['0', false],
    ['f', false],
    ['F', false],
    ['FALSE', false],
    ['False', false],
  ] as const) {
    t.equal(parseWatcherConfig([`--enable-ha=${text}`], {})!.leaderElect, want, text);
  }
  t.throws(() => parseWatcherConfig(['--enable-ha=maybe'], {}), /--enable-ha: "maybe" is not true or false/);
});

t.test("Reloader v2's env vars: every flag under its upper-cased name; ours win", async (t) => {
  const c = parseWatcherConfig([], {
    AUTO_RELOAD_ALL: 'true',
    RELOAD_ON_DELETE: 'true',
    ENABLE_HA: 'false',
    LOG_LEVEL: 'debug',
    IGNORED_WORKLOAD_TYPES: 'jobs',
    KUBERNETES_NAMESPACE: 'apps',
    POD_NAME: 'reloader-abc',
    POD_NAMESPACE: 'ops',
    ALERT_ON_RELOAD: 'true',
    ALERT_WEBHOOK_URL: 'https://chat.example/hook',
    ALERT_SINK: ' Teams ',
    ALERT_WEBHOOK_PROXY: 'http://127.0.0.1:8888',
    ALERT_ADDITIONAL_INFO: ' cluster eu-1 ',
    METRICS_COUNT_BY_NAMESPACE: 'enabled',
  })!;
  t.equal(c.policy.trackAll, true);
  t.equal(c.rollOnDelete, true);
  t.equal(c.leaderElect, false);
  t.equal(c.logLevel, 'debug');
  t.same(c.namespaces, ['apps'], 'KUBERNETES_NAMESPACE: one namespace');
  t.equal(c.identity, 'reloader-abc', 'POD_NAME is the Lease identity');
  t.equal(c.namespace, 'ops', 'POD_NAMESPACE is our own namespace');
  t.equal(c.alerts!.sink, 'teams', 'trimmed and lower-cased');
  t.equal(c.alerts!.proxy, 'http://127.0.0.1:8888', 'the v1 proxy variable');
  t.equal(c.alerts!.additionalInfo, 'cluster eu-1');
  t.equal(c.metricsByNamespace, true);
  const ours = parseWatcherConfig([], {
    CONFIGSTAMP_TRACK_ALL: 'false',
    AUTO_RELOAD_ALL: 'true',
    CONFIGSTAMP_NAMESPACES: 'web',
    NAMESPACES: 'x',
    KUBERNETES_NAMESPACE: 'y',
  })!;
  t.equal(ours.policy.trackAll, false, "CONFIGSTAMP_* beats Reloader's name");
  t.same(ours.namespaces, ['web']);
  t.same(parseWatcherConfig(['--namespaces=a'], { KUBERNETES_NAMESPACE: 'y' })!.namespaces, ['a'], '--namespaces beats KUBERNETES_NAMESPACE, as in Reloader');
});

t.test('alerts: a URL turns them on, ALERT_ON_RELOAD=false keeps them off, bad URLs are named', async (t) => {
  t.ok(parseWatcherConfig([], { ALERT_WEBHOOK_URL: 'https://x.example/h' })!.alerts);
  t.equal(parseWatcherConfig([], { ALERT_WEBHOOK_URL: 'https://x.example/h', ALERT_ON_RELOAD: 'false' })!.alerts, null);
  const noUrl = parseWatcherConfig([], { ALERT_ON_RELOAD: 'true' })!;
  t.equal(noUrl.alerts, null);
  t.match(noUrl.warnings.join('\n'), 'no --alert-webhook-url');
  t.equal(parseWatcherConfig([], { ALERT_WEBHOOK_URL: 'https://x.example/h', ALERT_SINK: 'webhook' })!.alerts!.sink, 'raw', 'any other sink is raw');
  t.throws(
    () => parseWatcherConfig([], { ALERT_WEBHOOK_URL: 'ftp://x', ALERT_PROXY: 'not a url' }),
    /--alert-webhook-url: "ftp:" is not http: or https:[\s\S]*--alert-proxy: not a URL/,
  );
  t.throws(() => parseWatcherConfig(['--webhook-url=nope'], {}), /--webhook-url: not a URL/);
  const notify = parseWatcherConfig(['--webhook-url=http://127.0.0.1:9/n'], { ALERT_WEBHOOK_URL: 'https://x.example/h' })!;
  t.equal(notify.alerts, null, 'no alerts in notify mode, as in Reloader');
  t.match(notify.warnings.join('\n'), 'no alerts are sent in notify mode');
});

t.test("selectors: Reloader's legacy forms, quoting and repeated flags", async (t) => {
  const sel = (...args: string[]): LabelSelector => parseFlags(POLICY_FLAGS, args, {}).values['namespace-selector'] as LabelSelector;
  t.ok(matchesLabels(sel('--namespace-selector=team:a'), { team: 'a' }) && !matchesLabels(sel('--namespace-selector=team:a'), { team: 'b' }), 'key:value');
  t.ok(matchesLabels(sel('--namespace-selector=team=*'), { team: 'z' }) && !matchesLabels(sel('--namespace-selector=team=*'), {}), 'key=*');
  t.ok(matchesLabels(sel('--namespace-selector=team:*'), { team: 'z' }), 'key:*');
  const both = sel('--namespace-selector=team=a', '--namespace-selector=env in (prod,stage)');
  t.ok(matchesLabels(both, { team: 'a', env: 'stage' }) && !matchesLabels(both, { team: 'a' }), 'repeated flags must all match');
  const quoted = sel('--namespace-selector="team:a,env:prod"');
  t.ok(matchesLabels(quoted, { team: 'a', env: 'prod' }) && !matchesLabels(quoted, { team: 'a', env: 'dev' }), "the chart's quoted value: both terms kept");
  t.ok(matchesLabels(sel('--namespace-selector=app.kubernetes.io/part-of:shop'), { 'app.kubernetes.io/part-of': 'shop' }), 'a prefixed key');
  t.throws(() => sel('--namespace-selector=a:b=*'), /--namespace-selector: label selector/, 'an invalid key is still refused, clearly');
});

t.test('lists: repeated flags add up, as pflag slices do; quoted fields keep commas', async (t) => {
  t.same(parseFlags(POLICY_FLAGS, ['--namespaces-to-ignore=a,b', '--namespaces-to-ignore=c'], {}).values['namespaces-to-ignore'], ['a', 'b', 'c']);
  t.same(
    parseFlags(POLICY_FLAGS, ['--namespaces-to-ignore=c'], { CONFIGSTAMP_NAMESPACES_TO_IGNORE: 'a' }).values['namespaces-to-ignore'],
    ['c'],
    'the command line replaces the env',
  );
  t.same(parseFlags(POLICY_FLAGS, ['--resources-to-ignore="configMaps"'], {}).values['resources-to-ignore'], ['configMaps']);
  t.throws(() => parseWatcherConfig(['--namespaces=Apps,ok'], {}), /--namespaces: "Apps" is not a namespace name/);
});

t.test('renamed annotation keys are the keys the policy reads', async (t) => {
  const policy = policyFromFlags(parseFlags(POLICY_FLAGS, ['--auto-annotation=example.com/roll', '--configmap-annotation=example.com/cms'], {}).values);
  const kind = workloadKindByName('Deployment')!;
  const ns = { name: 'default', labels: {} };
  const refs = [{ kind: 'ConfigMap' as const, name: 'app', keys: ALL_KEYS, optional: false }];
  const deployment = (annotations: Record<string, string>): unknown => ({
    metadata: { name: 'web', namespace: 'default', annotations },
    spec: { template: { spec: { containers: [] } } },
  });
  t.equal(planTracking({ kind, object: deployment({ 'example.com/roll': 'true' }) }, refs, ns, policy).tracked, true, 'the renamed auto key tracks');
  t.equal(
    planTracking({ kind, object: deployment({ 'reloader.stakater.com/auto': 'true' }) }, refs, ns, policy).tracked,
    false,
    'the default key no longer does',
  );
  const named = planTracking({ kind, object: deployment({ 'example.com/cms': 'other' }) }, [], ns, policy);
  t.ok(named.tracked && named.wants.some((w) => w.name === 'other'), 'the renamed reload list');
  t.throws(
    () => policyFromFlags(parseFlags(POLICY_FLAGS, ['--auto-annotation=not a key'], {}).values),
    /--auto-annotation: "not a key" is not an annotation key/,
  );
  t.throws(() => parseFlags(POLICY_FLAGS, ['--auto-annotation='], {}), /--auto-annotation: must not be empty/);
});

t.test('--is-openshift as Reloader v2 reads it: true, auto or empty track DeploymentConfigs, anything else does not', async (t) => {
  const ignored = (value: string): boolean =>
    policyFromFlags(parseFlags(POLICY_FLAGS, [`--is-openshift=${value}`], {}).values).ignoredWorkloadKinds.has('DeploymentConfig');
  for (const v of ['true', 'auto', 'AUTO', '']) t.notOk(ignored(v), `"${v}": tracked`);
  for (const v of ['false', 'no', 'x']) t.ok(ignored(v), `"${v}": not tracked`);
  t.same([...policyFromFlags(parseFlags(POLICY_FLAGS, ['--ignored-workload-types=DeploymentConfigs'], {}).values).ignoredWorkloadKinds], ['DeploymentConfig']);
});

t.test('--is-Argo-Rollouts=false leaves Rollouts alone, as Reloader does', async (t) => {
  const off = policyFromFlags(parseFlags(POLICY_FLAGS, ['--is-Argo-Rollouts=false'], {}).values);
  t.ok(off.ignoredWorkloadKinds.has('Rollout'));
  t.notOk(policyFromFlags(parseFlags(POLICY_FLAGS, ['--is-Argo-Rollouts', 'true'], {}).values).ignoredWorkloadKinds.has('Rollout'));
  t.notOk(policyFromFlags(parseFlags(POLICY_FLAGS, [], {}).values).ignoredWorkloadKinds.has('Rollout'), 'unset: Rollouts tracked when the CRD is served');
});

t.test("log levels by Reloader's names, any case; --help lists Reloader's flags apart", async (t) => {
  for (const level of ['panic', 'FATAL', 'Warning', 'warn', 'trace']) t.ok(parseWatcherConfig([`--log-level=${level}`], {}), level);
  t.throws(() => parseWatcherConfig(['--log-level=verbose'], {}), /--log-level: "verbose" is not one of/);
});
