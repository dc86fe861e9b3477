// The one flag parser: flags and CONFIGSTAMP_* env vars alike, the command line winning, every
// bad value reported at once with a stable code, and frozen results.
import t from 'tap';
import { envName, formatHelp, parseDuration, parseFlags } from '../../shared/config/flags.js';
import type { FlagSpec } from '../../shared/config/flags.js';
import { POLICY_FLAGS, policyFromFlags } from '../../shared/config/shared-flags.js';
import { ConfigstampError } from '../../shared/errors.js';
import { matchesLabels } from '../../shared/core/selector.js';
import type { LabelSelector } from '../../shared/core/selector.js';

const SPECS: readonly FlagSpec[] = [
  { name: 'name', type: 'string', default: 'x', help: 'a string' },
  { name: 'count', type: 'int', default: 1, min: 0, help: 'an int' },
  { name: 'on', aliases: ['legacy-on'], type: 'bool', default: false, help: 'a bool' },
  { name: 'wait', type: 'duration', default: 2000, help: 'a duration' },
  { name: 'items', type: 'list', default: [], help: 'a list' },
  { name: 'sel', type: 'selector', default: null, help: 'a selector' },
  { name: 'mode', type: 'enum', default: 'a', choices: ['a', 'b'], help: 'an enum' },
  { name: 'path', type: 'string', default: '', env: 'KUBECONFIG', help: 'own env name' },
];

t.test('durations', async (t) => {
  t.equal(parseDuration('500ms'), 500);
  t.equal(parseDuration('2s'), 2000);
  t.equal(parseDuration('1.5m'), 90_000);
  t.equal(parseDuration('1h'), 3_600_000);
  t.equal(parseDuration('0'), 0);
  for (const bad of ['2', '1d', '', 's', '-1s', '1 s']) t.throws(() => parseDuration(bad), /not a duration/, bad);
});

t.test('defaults, flags, env, and the command line winning', async (t) => {
  const d = parseFlags(SPECS, [], {});
  t.same(d.values, { name: 'x', count: 1, on: false, wait: 2000, items: [], sel: null, mode: 'a', path: '' });
  const p = parseFlags(SPECS, ['--name=a', '--count', '3', '--on', '--wait=1m', '--items= p, ,q ', '--sel=env in (prod),!skip', '--mode=b'], {
    CONFIGSTAMP_NAME: 'from-env',
    CONFIGSTAMP_COUNT: '9',
    KUBECONFIG: '/k',
  });
  t.equal(p.values.name, 'a', 'flag beats env');
  t.equal(p.values.count, 3);
  t.equal(p.values.on, true);
  t.equal(p.values.wait, 60_000);
  t.same(p.values.items, ['p', 'q']);
  t.ok(matchesLabels(p.values.sel as LabelSelector, { env: 'prod' }) && !matchesLabels(p.values.sel as LabelSelector, { env: 'prod', skip: '' }));
  t.equal(p.values.path, '/k', 'a spec can name its own env var');
  t.ok(Object.isFrozen(p) && Object.isFrozen(p.values), 'frozen');
  t.equal(parseFlags(SPECS, [], { CONFIGSTAMP_ON: 'true' }).values.on, true, 'env alone');
  t.equal(parseFlags(SPECS, ['--no-on'], { CONFIGSTAMP_ON: 'true' }).values.on, false, '--no-<bool>');
  t.equal(parseFlags(SPECS, ['--legacy-on'], {}).values.on, true, 'alias');
  t.equal(parseFlags(SPECS, ['-h'], {}).help, true);
  t.equal(envName(SPECS[3]!), 'CONFIGSTAMP_WAIT');
});

t.test('every problem at once, with the stable code', async (t) => {
  try {
    parseFlags(SPECS, ['stray', '--count=-1', '--on=maybe', '--wait=5', '--mode=c', '--nope', '--sel=a b c', '--name'], { CONFIGSTAMP_ITEMS: 'ok' });
    t.fail('should throw');
  } catch (err) {
    t.ok(err instanceof ConfigstampError);
    const e = err as ConfigstampError;
    t.equal(e.code, 'CS_ERR_CONFIG');
    for (const part of [
      'unexpected argument "stray"',
      '--count: -1 is below the minimum 0',
      '--on: "maybe" is not true or false',
      '--wait: "5" is not a duration',
      '--mode: "c" is not one of a, b',
      'unknown flag --nope',
      '--sel: label selector',
      '--name needs a value',
    ]) {
      t.match(e.message, part, part);
    }
  }
  t.throws(
    () => parseFlags(SPECS, [], { CONFIGSTAMP_COUNT: 'ten' }),
    /\$CONFIGSTAMP_COUNT: "ten" is not a whole number/,
    'env values are checked and named too',
  );
});

t.test('policy flags become PolicyOptions; bad kinds are named', async (t) => {
  const { values } = parseFlags(
    POLICY_FLAGS,
    [
      '--auto-reload-all',
      '--resources-to-ignore=Secrets',
      '--ignored-workload-types=cronjobs,Rollout',
      '--namespaces-to-ignore=kube-system',
      '--wave-compat=false',
    ],
    {},
  );
  const policy = policyFromFlags(values);
  t.equal(policy.trackAll, true, "Reloader's --auto-reload-all");
  t.same([...policy.ignoredSourceKinds], ['Secret']);
  t.same([...policy.ignoredWorkloadKinds].sort(), ['CronJob', 'Rollout']);
  t.same([...policy.namespacesToIgnore], ['kube-system']);
  t.equal(policy.reloaderCompat, true);
  t.equal(policy.waveCompat, false);
  t.throws(
    () => policyFromFlags(parseFlags(POLICY_FLAGS, ['--resources-to-ignore=pods', '--ignored-workload-types=replicasets'], {}).values),
    /"pods" is not configMaps, secrets or secretProviderClasses[\s\S]*"replicasets" is not one of deployments/,
  );
});

t.test('help lists each flag with its env var and default', async (t) => {
  const help = formatHelp('x', 'summary', SPECS);
  t.match(help, '--on, --legacy-on  [$CONFIGSTAMP_ON]');
  t.match(help, '(default 2000ms)');
  t.match(help, '[$KUBECONFIG]');
});
