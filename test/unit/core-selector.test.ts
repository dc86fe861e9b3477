// Label selectors in their string form, as passed to --namespace-selector and
// --resource-label-selector: what parses, what it matches, and what each bad input says.
import t from 'tap';
import { matchesLabels, parseLabelSelector } from '../../shared/core/index.js';

interface Good {
  readonly selector: string;
  readonly matches: readonly Record<string, string>[];
  readonly rejects: readonly Record<string, string>[];
}

const good: readonly Good[] = [
  { selector: '', matches: [{}, { any: 'thing' }], rejects: [] },
  { selector: '   ', matches: [{}], rejects: [] },
  { selector: 'team=web', matches: [{ team: 'web' }, { team: 'web', x: 'y' }], rejects: [{}, { team: 'db' }, { Team: 'web' }] },
  { selector: 'team==web', matches: [{ team: 'web' }], rejects: [{ team: 'webs' }] },
  { selector: 'team = web', matches: [{ team: 'web' }], rejects: [{ team: 'db' }] },
  { selector: 'team!=web', matches: [{}, { team: 'db' }], rejects: [{ team: 'web' }] },
  { selector: 'team=', matches: [{ team: '' }], rejects: [{}, { team: 'web' }] },
  { selector: 'env in (prod, staging)', matches: [{ env: 'prod' }, { env: 'staging' }], rejects: [{}, { env: 'dev' }] },
  { selector: 'env notin (dev)', matches: [{}, { env: 'prod' }], rejects: [{ env: 'dev' }] },
  { selector: 'env in(prod)', matches: [{ env: 'prod' }], rejects: [{ env: 'dev' }] },
  { selector: 'managed', matches: [{ managed: '' }, { managed: 'yes' }], rejects: [{}] },
  { selector: '!legacy', matches: [{}, { other: 'x' }], rejects: [{ legacy: 'true' }] },
  { selector: '! legacy', matches: [{}], rejects: [{ legacy: '' }] },
  { selector: 'example.com/team=web', matches: [{ 'example.com/team': 'web' }], rejects: [{ team: 'web' }] },
  {
    selector: 'kubernetes.io/metadata.name in (shop,payments)',
    matches: [{ 'kubernetes.io/metadata.name': 'shop' }],
    rejects: [{ 'kubernetes.io/metadata.name': 'kube-system' }],
  },
  {
    selector: 'a=b, c in (d,e), !f, g, h!=i',
    matches: [{ a: 'b', c: 'e', g: '' }],
    rejects: [
      { a: 'b', c: 'e' },
      { a: 'b', c: 'e', g: '', f: '' },
      { a: 'b', c: 'e', g: '', h: 'i' },
    ],
  },
  { selector: 'v=1.2_3-x', matches: [{ v: '1.2_3-x' }], rejects: [{ v: '1.2' }] },
  { selector: `long=${'a'.repeat(63)}`, matches: [{ long: 'a'.repeat(63) }], rejects: [] },
];

t.test('good selectors parse and match as Kubernetes matches them', async (t) => {
  for (const g of good) {
    const selector = parseLabelSelector(g.selector);
    t.equal(selector.source, g.selector.trim(), `${g.selector}: source kept`);
    for (const labels of g.matches) t.equal(matchesLabels(selector, labels), true, `${JSON.stringify(g.selector)} matches ${JSON.stringify(labels)}`);
    for (const labels of g.rejects) t.equal(matchesLabels(selector, labels), false, `${JSON.stringify(g.selector)} rejects ${JSON.stringify(labels)}`);
  }
});

t.test('labels inherited from Object.prototype do not count as present', async (t) => {
  t.equal(matchesLabels(parseLabelSelector('constructor'), {}), false);
  t.equal(matchesLabels(parseLabelSelector('!toString'), {}), true);
});

interface Bad {
  readonly selector: string;
  /** What the message must say. */
  readonly error: RegExp;
}

const bad: readonly Bad[] = [
  { selector: 'a=b=c', error: /label selector "a=b=c": invalid label value "b=c"/ },
  { selector: '=b', error: /invalid label key "=b"/ },
  { selector: 'a,,b', error: /empty term in label selector "a,,b"/ },
  { selector: 'a=b,', error: /empty term/ },
  { selector: ',a=b', error: /empty term/ },
  { selector: 'env in (prod', error: /invalid label key "env in \(prod"/ },
  { selector: 'env in (pr od)', error: /invalid label value "pr od"/ },
  { selector: 'env in (a,-b)', error: /invalid label value "-b"/ },
  { selector: 'bad key=x', error: /label selector "bad key=x"/ },
  { selector: '-team=web', error: /invalid label key "-team"/ },
  { selector: 'team-=web', error: /invalid label key "team-"/ },
  { selector: 'a/b/c=d', error: /invalid label key "a\/b\/c"/ },
  { selector: 'team=web!', error: /invalid label value "web!"/ },
  { selector: `long=${'a'.repeat(64)}`, error: /invalid label value "a{64}"/ },
  { selector: '!', error: /invalid label key ""/ },
  { selector: 'a=b,!-x', error: /label selector "a=b,!-x": invalid label key "-x"/ },
];

t.test('bad selectors throw an Error naming the selector and the bad term', async (t) => {
  for (const b of bad) {
    t.throws(() => parseLabelSelector(b.selector), { name: 'Error', message: b.error }, b.selector);
  }
});
