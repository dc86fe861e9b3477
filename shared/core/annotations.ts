/**
 * Every annotation and label configstamp reads or writes, named once. docs/annotations.md
 * documents each; keep the two in step.
 */

const OURS = 'configstamp.io';

/** Keys of our own. */
export const Ours = {
  /** Workload or pod template: "true" tracks every referenced source, "false" opts out. */
  track: `${OURS}/track`,
  /** Workload: comma list of ConfigMap names tracked (all keys) even when not referenced. */
  configMaps: `${OURS}/configmaps`,
  /** Workload: comma list of Secret names tracked (all keys) even when not referenced. */
  secrets: `${OURS}/secrets`,
  /** Workload: comma list of ConfigMap names never tracked. */
  excludeConfigMaps: `${OURS}/exclude-configmaps`,
  /** Workload: comma list of Secret names never tracked. */
  excludeSecrets: `${OURS}/exclude-secrets`,
  /** Workload: comma list of SecretProviderClass names tracked even when no CSI volume names them. */
  secretProviderClasses: `${OURS}/secretproviderclasses`,
  /** Workload: comma list of SecretProviderClass names never tracked. */
  excludeSecretProviderClasses: `${OURS}/exclude-secretproviderclasses`,
  /** ConfigMap or Secret: "true" means it never rolls anything. */
  ignore: `${OURS}/ignore`,
  /** Namespace label: "true" tracks every workload in the namespace; "false" opts it out. */
  namespaceTrack: `${OURS}/track`,
  /** Pod template: the stamp the pods were rolled with (written by configstamp). */
  stamp: `${OURS}/stamp`,
  /** Workload metadata: the stamp recorded when a running workload was adopted (no rollout). */
  adoptedStamp: `${OURS}/adopted-stamp`,
  /** Workload metadata, notify mode: the digests last notified (--webhook-url), so none is sent twice. */
  notifiedStamp: `${OURS}/notified-stamp`,
  /** Workload (an Argo Rollout): "restart" restarts its pods (spec.restartAt) instead of changing the template. */
  rolloutStrategy: `${OURS}/rollout-strategy`,
  /**
   * Workload metadata: digests applied over the template stamp without changing it, by the last
   * restart (restart strategy) or by re-keying (the hash key changed, the data did not)...
   */
  restartedStamp: `${OURS}/restarted-stamp`,
  /** ...and the template stamp they apply over ("" for none): a new template stamp supersedes them. */
  restartedBase: `${OURS}/restarted-base`,
  /** Job: "true" lets configstamp delete and re-create it when a source changes; "false" never (over --recreate-jobs). */
  recreate: `${OURS}/recreate-on-change`,
  /** Workload metadata: each recorded source's resourceVersion when its digest was recorded (versions.ts). */
  sourceVersions: `${OURS}/source-versions`,
  /** Workload or Namespace: this workload's debounce window (a Go duration), over --debounce. */
  debounce: `${OURS}/debounce`,
  /** Workload or Namespace: its minimum interval between rollouts (a Go duration), over --min-rollout-interval. */
  minRolloutInterval: `${OURS}/min-rollout-interval`,
  /** Workload or Namespace: when rollouts may start (JSON: timezone, windows of cron and duration), as Reloader's restart-window. */
  restartWindow: `${OURS}/restart-window`,
  /** Source or Namespace: roll this source's consumers in waves of this many (0: no waves), over --wave-size. */
  waveSize: `${OURS}/wave-size`,
  /** Source or Namespace: a wave's rollout not complete this long counts as failed (a Go duration), over --wave-timeout. */
  waveTimeout: `${OURS}/wave-timeout`,
  /** Workload: its place in the waves, a whole number; lower rolls first (canaries), unset after all set. */
  waveOrder: `${OURS}/wave-order`,
  /** Source: failures accepted so the remaining waves of the current change go on (tokens `Kind/name@digest8`). */
  wavesResume: `${OURS}/waves-resume`,
  /** Deployment: as Reloader's pause-period (a Go duration, e.g. "5m"). */
  pausePeriod: `${OURS}/pause-period`,
  /** Deployment metadata, written by configstamp: when it paused the Deployment for its pause period. */
  pausedAt: `${OURS}/paused-at`,
} as const;

/**
 * Stakater Reloader's keys, honoured as Reloader reads them. These are its defaults: Reloader's
 * `--*-annotation` flags rename them, and so do ours (PolicyOptions.reloaderKeys).
 */
export const Reloader = {
  auto: 'reloader.stakater.com/auto',
  configMapAuto: 'configmap.reloader.stakater.com/auto',
  secretAuto: 'secret.reloader.stakater.com/auto',
  configMapReload: 'configmap.reloader.stakater.com/reload',
  secretReload: 'secret.reloader.stakater.com/reload',
  search: 'reloader.stakater.com/search',
  match: 'reloader.stakater.com/match',
  ignore: 'reloader.stakater.com/ignore',
  excludeConfigMaps: 'configmaps.exclude.reloader.stakater.com/reload',
  excludeSecrets: 'secrets.exclude.reloader.stakater.com/reload',
  secretProviderClassAuto: 'secretproviderclass.reloader.stakater.com/auto',
  secretProviderClassReload: 'secretproviderclass.reloader.stakater.com/reload',
  excludeSecretProviderClasses: 'secretproviderclasses.exclude.reloader.stakater.com/reload',
  /** On an Argo Rollout: "restart" patches spec.restartAt; anything else rolls the template. */
  rolloutStrategy: 'reloader.stakater.com/rollout-strategy',
  /** On a Deployment: a Go duration; a rollout pauses it that long, so later changes join one rollout. */
  pausePeriod: 'deployment.reloader.stakater.com/pause-period',
  /** Written while a Deployment is paused by the pause period (RFC 3339): when the pause began. */
  pausedAt: 'deployment.reloader.stakater.com/paused-at',
  /** On a workload (Reloader PR #1214's proposal): the same JSON restart-window policy as ours. */
  restartWindow: 'reloader.stakater.com/restart-window',
} as const;

/** Reloader's annotation keys as one install names them (its `--*-annotation` flags). */
export type ReloaderKeys = { readonly [K in keyof typeof Reloader]: string };

/**
 * Wave's keys (wave-k8s/wave), honoured so a Wave user can switch too. Wave reads them from the
 * workload's own metadata only, and so do we.
 */
export const Wave = {
  /** "true" tracks every referenced source (Wave's required opt-in). */
  updateOnConfigChange: 'wave.pusher.com/update-on-config-change',
  /** Comma list of `name` or `namespace/name`: extra ConfigMaps tracked (all keys). */
  extraConfigMaps: 'wave.pusher.com/extra-configmaps',
  extraSecrets: 'wave.pusher.com/extra-secrets',
} as const;

/** Our keys among the selecting keys (below). */
export const OUR_SELECTING_KEYS: readonly string[] = [Ours.track, Ours.configMaps, Ours.secrets, Ours.secretProviderClasses];

/**
 * The workload keys whose presence makes Reloader read the workload's own metadata; when none is
 * there it falls back to the pod template's annotations. We apply the same rule to ours.
 */
export function selectingKeys(reloader: ReloaderKeys): readonly string[] {
  return [
    ...OUR_SELECTING_KEYS,
    reloader.auto,
    reloader.configMapAuto,
    reloader.secretAuto,
    reloader.secretProviderClassAuto,
    reloader.configMapReload,
    reloader.secretReload,
    reloader.secretProviderClassReload,
    reloader.search,
  ];
}

/** The selecting keys under Reloader's default names. */
export const SELECTING_KEYS: readonly string[] = selectingKeys(Reloader);

/** Reads "true"/"false" the way Kubernetes users write them (case-insensitive); else undefined. */
export function readBool(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const v = value.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  return undefined;
}

/**
 * Reloader's auto keys as Reloader reads them (Go's strconv.ParseBool): also `1`, `t`, `T`, `0`,
 * `f`, `F`. Its ignore, search and match keys take only "true", as readBool reads them.
 */
export function readGoBool(value: string | undefined): boolean | undefined {
  const b = readBool(value);
  if (b !== undefined || value === undefined) return b;
  const v = value.trim();
  return v === '1' || v === 't' || v === 'T' ? true : v === '0' || v === 'f' || v === 'F' ? false : undefined;
}

/** Splits a comma list, trimming blanks away. */
export function readList(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
