// Whether a workload is tracked and which sources: every annotation of ours and of Reloader's, with
// the precedence of docs/annotations.md (Reloader's ShouldReload order). One row per rule; each row
// builds its workload, namespace and sources from cloned fixtures.
import t from 'tap';
import {
  DEFAULT_POLICY,
  HELM_RELEASE_TYPE,
  Ours,
  Reloader,
  Wave,
  extractReferences,
  getPath,
  parseLabelSelector,
  planTracking,
  selectTrackedSources,
  sourceAllowed,
  sourceId,
} from '../../shared/core/index.js';
import type { JsonRecord, PolicyOptions, SourceKind, TrackedSource, TrackingPlan } from '../../shared/core/index.js';
import { FakeNamespace, configMap, kindRow, loadFixture, namespace, podSpec, policy, secret, workload } from '../fixtures/index.js';

/** The pod every row uses unless it says otherwise: two ConfigMaps and two Secrets, four ways. */
const DEFAULT_SPEC = (): JsonRecord =>
  podSpec(
    {
      env: [{ name: 'FLAGS', valueFrom: { configMapKeyRef: { name: 'feature-flags', key: 'flags' } } }],
      envFrom: [{ configMapRef: { name: 'app-config' } }, { secretRef: { name: 'api-token', optional: true } }],
    },
    { volumes: [{ name: 'db', secret: { secretName: 'db-credentials', items: [{ key: 'password', path: 'password' }] } }] },
  );

const REFERENCED = ['ConfigMap/app-config *', 'ConfigMap/feature-flags [flags]', 'Secret/api-token * ?', 'Secret/db-credentials [password]'];
const REFERENCED_CMS = REFERENCED.filter((s) => s.startsWith('ConfigMap/'));
const REFERENCED_SECRETS = REFERENCED.filter((s) => s.startsWith('Secret/'));
const without = (...ids: string[]): string[] => REFERENCED.filter((s) => !ids.some((id) => s.startsWith(`${id} `)));

/** The namespace every row starts from: the referenced sources plus some that nothing references. */
function defaultSources(): JsonRecord[] {
  return [
    configMap('app-config', { a: '1' }),
    configMap('feature-flags', { flags: 'x' }),
    configMap('extra', { e: '1' }),
    configMap('app.config', { d: '1' }),
    configMap('appxconfig', { d: '2' }),
    configMap('logging-v1', { l: '1' }),
    configMap('logging-v2', { l: '2' }),
    secret('db-credentials', { password: 'pw' }),
    secret('api-token', { token: 't' }),
    secret('extra-secret', { s: '1' }),
    loadFixture('sources/helm-release-secret'),
  ];
}

type SourceChange = 'absent' | { readonly annotations?: Record<string, string>; readonly labels?: Record<string, string> };

interface Case {
  readonly name: string;
  readonly kind?: string;
  readonly annotations?: Record<string, string>;
  readonly templateAnnotations?: Record<string, string>;
  readonly spec?: JsonRecord;
  readonly ns?: { readonly name?: string; readonly labels?: Record<string, string> };
  readonly options?: Partial<PolicyOptions>;
  /** Changes to the default sources, by id ("ConfigMap/extra"). */
  readonly sources?: Readonly<Record<string, SourceChange>>;
  /** The tracked sources, or `false` when the workload is not tracked at all. */
  readonly want: readonly string[] | false;
  /** A substring of the plan's reason. */
  readonly reason?: string;
}

function show(s: TrackedSource): string {
  const keys = s.keys.all ? '*' : `[${[...s.keys.keys].sort().join(',')}]`;
  return `${sourceId(s.kind, s.name)} ${keys}${s.optional ? ' ?' : ''}`;
}

function scene(c: Case): FakeNamespace {
  const fake = new FakeNamespace(defaultSources());
  for (const [id, change] of Object.entries(c.sources ?? {})) {
    const [kind, name] = id.split('/') as [SourceKind, string];
    if (change === 'absent') {
      fake.delete(kind, name);
      continue;
    }
    const object = fake.objects.get(id) ?? (kind === 'ConfigMap' ? configMap(name) : secret(name));
    const metadata = object.metadata as JsonRecord;
    if (change.annotations) metadata.annotations = { ...change.annotations };
    if (change.labels) metadata.labels = { ...change.labels };
    fake.put(object);
  }
  return fake;
}

function evaluate(c: Case): { plan: TrackingPlan; tracked: string[] } {
  const kind = kindRow(c.kind ?? 'Deployment');
  const object = workload(kind.kind, { annotations: c.annotations ?? {}, templateAnnotations: c.templateAnnotations, podSpec: c.spec ?? DEFAULT_SPEC() });
  const refs = extractReferences(getPath(object, kind.templatePath));
  const options = policy(c.options);
  const plan = planTracking({ kind, object }, refs, namespace(c.ns?.name ?? 'shop', c.ns?.labels ?? {}), options);
  return { plan, tracked: selectTrackedSources(plan, scene(c), options).map(show) };
}

const T = { [Ours.track]: 'true' };
const AUTO = { [Reloader.auto]: 'true' };
const helmSpec = podSpec({ envFrom: [{ secretRef: { name: 'sh.helm.release.v1.web.v7' } }, { configMapRef: { name: 'app-config' } }] });

const cases: readonly Case[] = [
  // nothing asked for
  { name: 'no annotation, label or flag: not tracked', want: false, reason: 'no tracking annotation' },
  { name: 'unrelated annotations do not track', annotations: { 'deployment.kubernetes.io/revision': '3' }, want: false },
  {
    name: 'a Reloader match on a source does nothing without search',
    sources: { 'ConfigMap/app-config': { annotations: { [Reloader.match]: 'true' } } },
    want: false,
  },

  // our track annotation, metadata vs pod template
  { name: 'configstamp.io/track=true tracks every referenced source', annotations: T, want: REFERENCED, reason: 'annotation configstamp.io/track=true' },
  { name: 'booleans are read case-insensitively, blanks trimmed', annotations: { [Ours.track]: ' True ' }, want: REFERENCED },
  { name: 'a value that is not a boolean tracks nothing', annotations: { [Ours.track]: 'yes' }, want: false },
  { name: 'configstamp.io/track=false opts out', annotations: { [Ours.track]: 'false' }, want: false },
  { name: "Reloader's auto is read as Go's ParseBool reads it: 1 and t are true", annotations: { [Reloader.auto]: '1' }, want: REFERENCED },
  { name: "Reloader's typed auto: T is true", annotations: { [Reloader.configMapAuto]: 'T' }, want: REFERENCED.filter((w) => w.startsWith('ConfigMap/')) },
  { name: "Reloader's auto=f opts out of --track-all", annotations: { [Reloader.auto]: 'f' }, options: { trackAll: true }, want: false },
  { name: 'the pod template is read when the workload has no selecting key', templateAnnotations: T, want: REFERENCED },
  {
    name: 'an unrelated annotation on the workload does not block the template fallback',
    annotations: { team: 'web' },
    templateAnnotations: T,
    want: REFERENCED,
  },
  {
    name: 'any selecting key on the workload wins: the template is not read',
    annotations: { [Ours.configMaps]: 'extra' },
    templateAnnotations: T,
    want: ['ConfigMap/extra *'],
  },
  { name: 'track=false on the workload beats track=true on the template', annotations: { [Ours.track]: 'false' }, templateAnnotations: T, want: false },

  // Reloader's auto, and ours before Reloader's
  { name: 'reloader.stakater.com/auto=true tracks every referenced source', annotations: AUTO, want: REFERENCED, reason: Reloader.auto },
  { name: 'reloader auto on the pod template (fallback)', templateAnnotations: AUTO, want: REFERENCED },
  { name: 'reloader auto=false on the workload beats ours on the template', annotations: { [Reloader.auto]: 'false' }, templateAnnotations: T, want: false },
  { name: "ours wins over Reloader's: track=false, auto=true", annotations: { [Ours.track]: 'false', [Reloader.auto]: 'true' }, want: false },
  {
    name: "ours wins over Reloader's: track=true, auto=false",
    annotations: { [Ours.track]: 'true', [Reloader.auto]: 'false' },
    want: REFERENCED,
    reason: Ours.track,
  },

  // cluster-wide and namespace defaults, and opting out of them
  { name: '--track-all tracks every workload', options: { trackAll: true }, want: REFERENCED, reason: '--track-all' },
  { name: '--track-all, workload track=false: opted out', options: { trackAll: true }, annotations: { [Ours.track]: 'false' }, want: false },
  { name: '--track-all, workload reloader auto=false: opted out', options: { trackAll: true }, annotations: { [Reloader.auto]: 'false' }, want: false },
  { name: '--track-all, opt-out on the pod template', options: { trackAll: true }, templateAnnotations: { [Reloader.auto]: 'false' }, want: false },
  {
    name: 'namespace label configstamp.io/track=true tracks its workloads',
    ns: { labels: { [Ours.namespaceTrack]: 'true' } },
    want: REFERENCED,
    reason: 'namespace label',
  },
  {
    name: 'namespace label true, workload track=false: opted out',
    ns: { labels: { [Ours.namespaceTrack]: 'true' } },
    annotations: { [Ours.track]: 'false' },
    want: false,
  },
  {
    name: 'namespace label false opts the namespace out, even of annotated workloads',
    ns: { labels: { [Ours.namespaceTrack]: 'false' } },
    annotations: T,
    want: false,
    reason: 'opts out',
  },
  { name: 'ignored namespaces', options: { namespacesToIgnore: new Set(['shop']) }, annotations: T, want: false, reason: 'namespace shop is ignored' },
  { name: 'other namespaces are not ignored', options: { namespacesToIgnore: new Set(['kube-system']) }, annotations: T, want: REFERENCED },
  {
    name: 'namespace selector matching',
    options: { namespaceSelector: parseLabelSelector('team=web') },
    ns: { labels: { team: 'web' } },
    annotations: T,
    want: REFERENCED,
  },
  {
    name: 'namespace selector not matching',
    options: { namespaceSelector: parseLabelSelector('team=web') },
    ns: { labels: { team: 'db' } },
    annotations: T,
    want: false,
    reason: 'does not match the namespace selector',
  },
  {
    name: 'ignored workload kinds',
    options: { ignoredWorkloadKinds: new Set(['Deployment']) },
    annotations: T,
    want: false,
    reason: 'kind Deployment is ignored',
  },
  {
    name: 'ignoring one kind leaves the others',
    kind: 'StatefulSet',
    options: { ignoredWorkloadKinds: new Set(['Deployment']) },
    annotations: T,
    want: REFERENCED,
  },

  // typed auto, per kind (Reloader decides auto per source kind)
  {
    name: 'configmap.reloader.stakater.com/auto tracks referenced ConfigMaps only',
    annotations: { [Reloader.configMapAuto]: 'true' },
    want: REFERENCED_CMS,
    reason: Reloader.configMapAuto,
  },
  { name: 'secret.reloader.stakater.com/auto tracks referenced Secrets only', annotations: { [Reloader.secretAuto]: 'true' }, want: REFERENCED_SECRETS },
  { name: 'both typed autos', annotations: { [Reloader.configMapAuto]: 'true', [Reloader.secretAuto]: 'true' }, want: REFERENCED },
  { name: 'typed auto on the pod template', templateAnnotations: { [Reloader.secretAuto]: 'true' }, want: REFERENCED_SECRETS },
  { name: 'typed auto=true counts even with auto=false', annotations: { [Reloader.auto]: 'false', [Reloader.configMapAuto]: 'true' }, want: REFERENCED_CMS },
  {
    name: '--track-all, secret auto=false: ConfigMaps still tracked, Secrets not',
    options: { trackAll: true },
    annotations: { [Reloader.secretAuto]: 'false' },
    want: REFERENCED_CMS,
  },
  {
    name: '--track-all, configmap auto=true: Secrets still tracked by --track-all',
    options: { trackAll: true },
    annotations: { [Reloader.configMapAuto]: 'true' },
    want: REFERENCED,
  },
  {
    name: 'namespace label true, configmap auto=false: Secrets only',
    ns: { labels: { [Ours.namespaceTrack]: 'true' } },
    annotations: { [Reloader.configMapAuto]: 'false' },
    want: REFERENCED_SECRETS,
  },

  // our named lists: plain names, every key, referenced or not, existing or not
  {
    name: 'configstamp.io/configmaps names ConfigMaps (every key, referenced or not)',
    annotations: { [Ours.configMaps]: 'extra, feature-flags' },
    want: ['ConfigMap/extra *', 'ConfigMap/feature-flags *'],
  },
  { name: 'configstamp.io/secrets names Secrets', annotations: { [Ours.secrets]: 'extra-secret,,' }, want: ['Secret/extra-secret *'] },
  {
    name: 'a named source that does not exist yet is tracked (its creation counts)',
    annotations: { [Ours.configMaps]: 'not-yet' },
    want: ['ConfigMap/not-yet *'],
  },
  { name: 'our lists hold names, not patterns; invalid names are dropped', annotations: { [Ours.configMaps]: 'logging-.*, Upper, under_score' }, want: false },
  {
    name: 'named and referenced merge: named means every key, and required',
    annotations: { ...T, [Ours.configMaps]: 'feature-flags', [Ours.secrets]: 'api-token' },
    want: ['ConfigMap/app-config *', 'ConfigMap/feature-flags *', 'Secret/api-token *', 'Secret/db-credentials [password]'],
  },

  // Reloader's named lists: plain names exactly, anything else an anchored regex over existing names
  { name: 'configmap.reloader.stakater.com/reload with a plain name', annotations: { [Reloader.configMapReload]: 'extra' }, want: ['ConfigMap/extra *'] },
  {
    name: 'a plain name with a dot matches exactly, not as a regex',
    annotations: { [Reloader.configMapReload]: 'app.config' },
    want: ['ConfigMap/app.config *'],
  },
  { name: 'a plain name that does not exist is tracked', annotations: { [Reloader.configMapReload]: 'logging' }, want: ['ConfigMap/logging *'] },
  {
    name: 'a regex entry matches existing names',
    annotations: { [Reloader.configMapReload]: 'logging-.*' },
    want: ['ConfigMap/logging-v1 *', 'ConfigMap/logging-v2 *'],
  },
  { name: 'regexes are anchored at both ends', annotations: { [Reloader.configMapReload]: '.*-v, ogging-v1.*, log.*1' }, want: ['ConfigMap/logging-v1 *'] },
  {
    name: 'an entry that looks plain but cannot be a name is a regex, not a name that can never exist',
    annotations: { [Reloader.configMapReload]: 'logging-v.' },
    want: ['ConfigMap/logging-v1 *', 'ConfigMap/logging-v2 *'],
  },
  { name: 'an invalid regex is skipped, the rest still apply', annotations: { [Reloader.configMapReload]: '(, extra' }, want: ['ConfigMap/extra *'] },
  {
    name: 'secret.reloader.stakater.com/reload regex (every key, though only one is referenced)',
    annotations: { [Reloader.secretReload]: 'db-.*' },
    want: ['Secret/db-credentials *'],
  },
  { name: 'a regex over one kind does not match the other', annotations: { [Reloader.secretReload]: 'app-.*' }, want: [] },
  {
    name: 'a regex match merges with a referenced optional source: every key, required',
    annotations: { ...AUTO, [Reloader.secretReload]: 'api-.*' },
    want: ['ConfigMap/app-config *', 'ConfigMap/feature-flags [flags]', 'Secret/api-token *', 'Secret/db-credentials [password]'],
  },
  { name: 'reload lists on the pod template (fallback)', templateAnnotations: { [Reloader.secretReload]: 'extra-secret' }, want: ['Secret/extra-secret *'] },

  // Helm release Secrets are never tracked
  { name: 'Helm release secret: not by regex', annotations: { [Reloader.secretReload]: 'sh\\.helm\\..*' }, want: [] },
  { name: 'Helm release secret: not by name', annotations: { [Ours.secrets]: 'sh.helm.release.v1.web.v7' }, want: [] },
  { name: 'Helm release secret: not when referenced under auto', spec: helmSpec, annotations: T, want: ['ConfigMap/app-config *'] },

  // search / match
  {
    name: 'search tracks referenced sources that carry match',
    annotations: { [Reloader.search]: 'true' },
    sources: { 'ConfigMap/feature-flags': { annotations: { [Reloader.match]: 'true' } } },
    want: ['ConfigMap/feature-flags [flags]'],
    reason: Reloader.search,
  },
  {
    name: 'search: match must be "true"',
    annotations: { [Reloader.search]: 'true' },
    sources: { 'ConfigMap/feature-flags': { annotations: { [Reloader.match]: 'false' } } },
    want: [],
  },
  {
    name: 'search: a referenced source that is absent cannot carry match',
    annotations: { [Reloader.search]: 'true' },
    sources: { 'Secret/api-token': 'absent', 'Secret/db-credentials': { annotations: { [Reloader.match]: 'true' } } },
    want: ['Secret/db-credentials [password]'],
  },
  {
    name: 'search: unreferenced sources with match are not tracked',
    annotations: { [Reloader.search]: 'true' },
    sources: { 'ConfigMap/extra': { annotations: { [Reloader.match]: 'true' } } },
    want: [],
  },
  { name: 'auto wins over search', annotations: { ...AUTO, [Reloader.search]: 'true' }, want: REFERENCED },
  {
    name: 'search with a named list: named sources need no match',
    annotations: { [Reloader.search]: 'true', [Reloader.configMapReload]: 'extra' },
    sources: { 'Secret/db-credentials': { annotations: { [Reloader.match]: 'true' } } },
    want: ['ConfigMap/extra *', 'Secret/db-credentials [password]'],
  },
  {
    name: 'search with a typed auto: that kind is auto, the other searched',
    annotations: { [Reloader.search]: 'true', [Reloader.configMapAuto]: 'true' },
    sources: { 'Secret/db-credentials': { annotations: { [Reloader.match]: 'true' } } },
    want: [...REFERENCED_CMS, 'Secret/db-credentials [password]'],
  },
  {
    name: 'search on the pod template (fallback)',
    templateAnnotations: { [Reloader.search]: 'true' },
    sources: { 'Secret/api-token': { annotations: { [Reloader.match]: 'true' } } },
    want: ['Secret/api-token * ?'],
  },

  // ignore on the source
  {
    name: 'configstamp.io/ignore on a source',
    annotations: T,
    sources: { 'ConfigMap/app-config': { annotations: { [Ours.ignore]: 'true' } } },
    want: without('ConfigMap/app-config'),
  },
  {
    name: 'reloader.stakater.com/ignore on a source',
    annotations: T,
    sources: { 'Secret/db-credentials': { annotations: { [Reloader.ignore]: 'true' } } },
    want: without('Secret/db-credentials'),
  },
  { name: 'ignore=false is no ignore', annotations: T, sources: { 'Secret/db-credentials': { annotations: { [Ours.ignore]: 'false' } } }, want: REFERENCED },
  {
    name: 'ignore beats a name',
    annotations: { [Ours.configMaps]: 'extra' },
    sources: { 'ConfigMap/extra': { annotations: { [Ours.ignore]: 'true' } } },
    want: [],
  },
  {
    name: 'ignore beats a regex',
    annotations: { [Reloader.configMapReload]: 'logging-v.' },
    sources: { 'ConfigMap/logging-v1': { annotations: { [Reloader.ignore]: 'true' } } },
    want: ['ConfigMap/logging-v2 *'],
  },

  // exclude lists: exact names, beat auto, names and regexes
  { name: 'configstamp.io/exclude-configmaps', annotations: { ...T, [Ours.excludeConfigMaps]: 'app-config' }, want: without('ConfigMap/app-config') },
  { name: 'configstamp.io/exclude-secrets', annotations: { ...T, [Ours.excludeSecrets]: 'api-token' }, want: without('Secret/api-token') },
  {
    name: 'configmaps.exclude.reloader.stakater.com/reload',
    annotations: { ...AUTO, [Reloader.excludeConfigMaps]: 'app-config, feature-flags' },
    want: REFERENCED_SECRETS,
  },
  {
    name: 'secrets.exclude.reloader.stakater.com/reload',
    annotations: { ...AUTO, [Reloader.excludeSecrets]: 'db-credentials' },
    want: without('Secret/db-credentials'),
  },
  { name: 'exclude names are exact, not prefixes or patterns', annotations: { ...T, [Ours.excludeConfigMaps]: 'app, app-.*' }, want: REFERENCED },
  { name: 'exclude is per kind', annotations: { ...T, [Ours.excludeSecrets]: 'app-config' }, want: REFERENCED },
  { name: 'exclude beats a name', annotations: { [Ours.configMaps]: 'extra', [Ours.excludeConfigMaps]: 'extra' }, want: [] },
  {
    name: 'exclude beats a regex match',
    annotations: { [Reloader.configMapReload]: 'logging-.*', [Reloader.excludeConfigMaps]: 'logging-v2' },
    want: ['ConfigMap/logging-v1 *'],
  },
  {
    name: 'exclude on the workload applies when the selecting keys are on the template',
    annotations: { [Reloader.excludeConfigMaps]: 'app-config' },
    templateAnnotations: AUTO,
    want: without('ConfigMap/app-config'),
  },
  {
    name: 'exclude beside the selecting keys on the template applies too',
    templateAnnotations: { ...T, [Ours.excludeSecrets]: 'db-credentials' },
    want: without('Secret/db-credentials'),
  },

  // source kinds and the source label selector
  {
    name: 'ignored source kinds: referenced and named Secrets are not tracked',
    options: { ignoredSourceKinds: new Set<SourceKind>(['Secret']) },
    annotations: { ...T, [Ours.secrets]: 'extra-secret', [Reloader.secretReload]: 'db-.*' },
    want: REFERENCED_CMS,
  },
  {
    name: 'source label selector keeps matching sources only',
    options: { sourceSelector: parseLabelSelector('reload=yes') },
    annotations: T,
    sources: { 'ConfigMap/app-config': { labels: { reload: 'yes' } }, 'Secret/db-credentials': { labels: { reload: 'no' } } },
    want: ['ConfigMap/app-config *'],
  },
  {
    name: 'source label selector: an absent source has no labels, so it is not tracked',
    options: { sourceSelector: parseLabelSelector('!skip') },
    annotations: { [Ours.configMaps]: 'not-yet, extra' },
    want: ['ConfigMap/extra *'],
  },
  {
    name: 'source label selector applies to regex matches',
    options: { sourceSelector: parseLabelSelector('v in (2)') },
    annotations: { [Reloader.configMapReload]: 'logging-.*' },
    sources: { 'ConfigMap/logging-v2': { labels: { v: '2' } } },
    want: ['ConfigMap/logging-v2 *'],
  },

  // reloaderCompat=false: Reloader's keys mean nothing
  { name: 'compat off: reloader auto ignored', options: { reloaderCompat: false }, annotations: AUTO, want: false },
  { name: 'compat off: typed auto ignored', options: { reloaderCompat: false }, annotations: { [Reloader.configMapAuto]: 'true' }, want: false },
  {
    name: 'compat off: reload lists ignored',
    options: { reloaderCompat: false },
    annotations: { [Reloader.configMapReload]: 'extra', [Reloader.secretReload]: 'db-.*' },
    want: false,
  },
  {
    name: 'compat off: search ignored',
    options: { reloaderCompat: false },
    annotations: { [Reloader.search]: 'true' },
    sources: { 'ConfigMap/app-config': { annotations: { [Reloader.match]: 'true' } } },
    want: false,
  },
  {
    name: 'compat off: reloader auto=false does not opt out of --track-all',
    options: { reloaderCompat: false, trackAll: true },
    annotations: { [Reloader.auto]: 'false' },
    want: REFERENCED,
  },
  {
    name: 'compat off: reloader ignore on a source is not honoured',
    options: { reloaderCompat: false },
    annotations: T,
    sources: { 'ConfigMap/app-config': { annotations: { [Reloader.ignore]: 'true' } } },
    want: REFERENCED,
  },
  {
    name: 'compat off: reloader exclude lists are not honoured',
    options: { reloaderCompat: false },
    annotations: { ...T, [Reloader.excludeConfigMaps]: 'app-config' },
    want: REFERENCED,
  },
  {
    name: 'compat off: a leftover reloader key on the workload does not hide ours on the template',
    options: { reloaderCompat: false },
    annotations: AUTO,
    templateAnnotations: T,
    want: REFERENCED,
  },
  {
    name: 'compat off: our own keys still work',
    options: { reloaderCompat: false },
    annotations: { [Ours.configMaps]: 'extra', [Ours.excludeSecrets]: 'x' },
    want: ['ConfigMap/extra *'],
  },

  // Wave's keys: the opt-in and the extra lists, read from the workload's own metadata only
  {
    name: 'wave.pusher.com/update-on-config-change=true tracks every referenced source',
    annotations: { [Wave.updateOnConfigChange]: 'true' },
    want: REFERENCED,
    reason: Wave.updateOnConfigChange,
  },
  { name: 'wave: only the exact value "true" opts in', annotations: { [Wave.updateOnConfigChange]: 'True' }, want: false },
  { name: 'wave: on the pod template it does nothing (Wave reads the workload)', templateAnnotations: { [Wave.updateOnConfigChange]: 'true' }, want: false },
  { name: 'wave: our track=false wins over Wave', annotations: { [Ours.track]: 'false', [Wave.updateOnConfigChange]: 'true' }, want: false },
  {
    name: 'wave extra lists: name and same-namespace ns/name; other namespaces left out',
    annotations: { [Wave.extraConfigMaps]: 'extra, shop/feature-flags, other/elsewhere', [Wave.extraSecrets]: 'api-token' },
    want: ['ConfigMap/extra *', 'ConfigMap/feature-flags *', 'Secret/api-token *'],
  },
  { name: 'wave extra lists: invalid names dropped', annotations: { [Wave.extraConfigMaps]: 'Bad_Name, a/b/c' }, want: false },
  {
    name: 'wave compat off: its keys mean nothing',
    options: { waveCompat: false },
    annotations: { [Wave.updateOnConfigChange]: 'true', [Wave.extraSecrets]: 'api-token' },
    want: false,
  },

  // every workload kind: its own template path for the fallback
  ...['StatefulSet', 'DaemonSet', 'CronJob', 'Rollout'].flatMap((kind): Case[] => [
    { name: `${kind}: annotation on the workload`, kind, annotations: T, want: REFERENCED },
    { name: `${kind}: annotation on its pod template`, kind, templateAnnotations: AUTO, want: REFERENCED },
  ]),
];

t.test('tracking table', async (t) => {
  for (const c of cases) {
    const { plan, tracked } = evaluate(c);
    if (c.want === false) {
      t.equal(plan.tracked, false, `${c.name}: not tracked`);
      t.strictSame(tracked, [], `${c.name}: nothing selected`);
    } else {
      t.equal(plan.tracked, true, `${c.name}: tracked (${plan.reason})`);
      t.strictSame(tracked, c.want, c.name);
    }
    if (c.reason !== undefined) t.match(plan.reason, c.reason, `${c.name}: reason`);
  }
});

t.test('the plan says which kinds search applies to', async (t) => {
  const search = evaluate({ name: '', annotations: { [Reloader.search]: 'true', [Reloader.secretAuto]: 'true' }, want: [] }).plan;
  t.ok(search.tracked);
  if (search.tracked) {
    t.equal(search.search, true);
    t.strictSame([...search.searchKinds], ['ConfigMap', 'SecretProviderClass']);
  }
  const auto = evaluate({ name: '', annotations: { ...AUTO, [Reloader.search]: 'true' }, want: [] }).plan;
  t.ok(auto.tracked && !auto.search && auto.searchKinds.size === 0, 'auto on both kinds leaves nothing to search');
});

t.test('an untracked plan selects nothing, whatever the catalog holds', async (t) => {
  const catalog = new FakeNamespace(defaultSources());
  t.strictSame(selectTrackedSources({ tracked: false, reason: 'x' }, catalog, DEFAULT_POLICY), []);
});

t.test('the catalog is listed only when a regex needs it', async (t) => {
  let listed = 0;
  const fake = new FakeNamespace(defaultSources());
  const catalog = {
    get: fake.get.bind(fake),
    names: (kind: SourceKind) => {
      listed++;
      return fake.names(kind);
    },
  };
  const kind = kindRow('Deployment');
  for (const [annotations, expected] of [
    [T, 0],
    [{ [Reloader.configMapReload]: 'extra' }, 0],
    [{ [Reloader.configMapReload]: 'log.*' }, 1],
  ] as const) {
    listed = 0;
    const object = workload('Deployment', { annotations: { ...annotations }, podSpec: DEFAULT_SPEC() });
    const plan = planTracking({ kind, object }, extractReferences(getPath(object, kind.templatePath)), namespace(), DEFAULT_POLICY);
    selectTrackedSources(plan, catalog, DEFAULT_POLICY);
    t.equal(listed, expected, JSON.stringify(annotations));
  }
});

t.test('compiled reload patterns are reused: repeated, invalid and evicted entries read the same', async (t) => {
  const kind = kindRow('Deployment');
  const patternsOf = (entries: string): string[] => {
    const object = workload('Deployment', { annotations: { [Reloader.configMapReload]: entries }, podSpec: DEFAULT_SPEC() });
    const plan = planTracking({ kind, object }, [], namespace(), DEFAULT_POLICY);
    return plan.tracked ? plan.patterns.map((p) => String(p.regex)) : [];
  };
  const first = patternsOf('log.*, (, a|b');
  t.strictSame(first, ['/^(?:log.*)$/', '/^(?:a|b)$/'], 'the invalid entry is skipped');
  t.strictSame(patternsOf('log.*, (, a|b'), first, 'the second reading gives the same patterns');
  // More distinct patterns than the cache keeps: the first ones are dropped and compiled again.
  for (let i = 0; i < 600; i++) patternsOf(`p${i}-.*`);
  t.strictSame(patternsOf('log.*, (, a|b'), first, 'after eviction too');
  t.strictSame(evaluate({ name: '', annotations: { [Reloader.configMapReload]: 'logging-.*' }, want: [] }).tracked, [
    'ConfigMap/logging-v1 *',
    'ConfigMap/logging-v2 *',
  ]);
});

t.test('sourceAllowed on its own', async (t) => {
  const meta = (annotations: Record<string, string> = {}, labels: Record<string, string> = {}, type?: string) => ({ annotations, labels, type });
  t.equal(sourceAllowed(meta(), DEFAULT_POLICY), true);
  t.equal(sourceAllowed(meta({}, {}, HELM_RELEASE_TYPE), DEFAULT_POLICY), false);
  t.equal(sourceAllowed(meta({}, {}, 'Opaque'), DEFAULT_POLICY), true);
  t.equal(sourceAllowed(meta({ [Ours.ignore]: 'TRUE' }), DEFAULT_POLICY), false);
  t.equal(sourceAllowed(meta({ [Reloader.ignore]: 'true' }), DEFAULT_POLICY), false);
  t.equal(sourceAllowed(meta({ [Reloader.ignore]: 'true' }), policy({ reloaderCompat: false })), true);
  const selector = policy({ sourceSelector: parseLabelSelector('app=web') });
  t.equal(sourceAllowed(meta({}, { app: 'web' }), selector), true);
  t.equal(sourceAllowed(meta({}, { app: 'db' }), selector), false);
});

t.test('DEFAULT_POLICY tracks nothing on its own and is frozen', async (t) => {
  t.ok(Object.isFrozen(DEFAULT_POLICY));
  t.equal(DEFAULT_POLICY.trackAll, false);
  t.equal(DEFAULT_POLICY.reloaderCompat, true);
});
