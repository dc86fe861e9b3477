/**
 * Alerts on rollouts, and notify mode's webhook, in the formats Reloader's users have receivers
 * for. Reloader reads ALERT_ON_RELOAD, ALERT_SINK, ALERT_WEBHOOK_URL, ALERT_WEBHOOK_PROXY and
 * ALERT_ADDITIONAL_INFO (v1) and the same as --alert-* flags (v2); so do we. A message names the
 * workload and the changed sources, never a value. Bodies follow Reloader v2's per sink: Slack
 * attachments, a Teams MessageCard, a Google Chat card, and for any other sink plain text (or
 * JSON with --alert-structured).
 */
import type { FlagSpec, FlagValues } from '../shared/config/flags.js';
import type { SourceKind } from '../shared/core/kinds.js';
import type { HttpPost } from './alert-sender.js';

export const ALERT_FLAGS = [
  {
    name: 'alert-on-reload',
    type: 'bool',
    default: false,
    envAliases: ['ALERT_ON_RELOAD'],
    help: 'Send an alert for every rollout (on by itself when --alert-webhook-url is set, unless this is false).',
  },
  {
    name: 'alert-webhook-url',
    type: 'string',
    default: '',
    envAliases: ['ALERT_WEBHOOK_URL'],
    help: 'Where alerts are POSTed (a Slack, Teams or Google Chat incoming webhook, or any HTTP(S) receiver).',
  },
  {
    name: 'alert-sink',
    type: 'string',
    default: '',
    envAliases: ['ALERT_SINK'],
    help: 'slack, teams or gchat; anything else (or empty) sends the message raw, as text/plain.',
  },
  {
    name: 'alert-proxy',
    type: 'string',
    default: '',
    envAliases: ['ALERT_PROXY', 'ALERT_WEBHOOK_PROXY'],
    help: 'HTTP proxy URL for alerts (CONNECT for https receivers).',
  },
  {
    name: 'alert-additional-info',
    type: 'string',
    default: '',
    envAliases: ['ALERT_ADDITIONAL_INFO'],
    help: 'Text put before every alert (e.g. the cluster name).',
  },
  {
    name: 'alert-structured',
    type: 'bool',
    default: false,
    envAliases: ['ALERT_STRUCTURED'],
    help: 'For the raw sink: send JSON (event, workload and resource fields) instead of text.',
  },
  { name: 'alert-timeout', type: 'duration', default: 10_000, min: 100, help: 'Each alert POST must be answered within this.' },
  { name: 'alert-attempts', type: 'int', default: 5, min: 1, help: 'Tries per alert (network errors, 429 and 5xx are retried with backoff).' },
  {
    name: 'alert-queue-size',
    type: 'int',
    default: 1000,
    min: 1,
    help: 'Alerts waiting to be sent at most; more are dropped (counted and logged), never delaying a rollout.',
  },
] as const satisfies readonly FlagSpec[];

export type AlertSink = 'slack' | 'teams' | 'gchat' | 'raw';

export interface AlertConfig {
  readonly url: string;
  readonly sink: AlertSink;
  readonly proxy: string;
  readonly additionalInfo: string;
  readonly structured: boolean;
  readonly timeoutMs: number;
  readonly attempts: number;
  readonly queueSize: number;
}

function checkUrl(flag: string, text: string, problems: string[]): void {
  try {
    const url = new URL(text);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') problems.push(`--${flag}: "${url.protocol}" is not http: or https:`);
  } catch {
    problems.push(`--${flag}: not a URL`);
  }
}

/**
 * The alert settings, or null when alerts are off. As in Reloader, a URL turns them on; an explicit
 * --alert-on-reload=false (ALERT_ON_RELOAD=false) keeps them off. Problems go into `problems`,
 * warnings into `warnings`. The URL itself is never echoed: incoming-webhook URLs hold a token.
 */
export function alertConfigFrom(v: FlagValues<typeof ALERT_FLAGS>, given: ReadonlySet<string>, problems: string[], warnings: string[]): AlertConfig | null {
  const url = v['alert-webhook-url'].trim();
  const on = v['alert-on-reload'];
  if (url === '') {
    if (on) warnings.push('--alert-on-reload: no --alert-webhook-url (ALERT_WEBHOOK_URL) is set, so no alerts are sent');
    return null;
  }
  if (given.has('alert-on-reload') && !on) return null;
  checkUrl('alert-webhook-url', url, problems);
  const proxy = v['alert-proxy'].trim();
  if (proxy !== '') checkUrl('alert-proxy', proxy, problems);
  const name = v['alert-sink'].trim().toLowerCase();
  const sink: AlertSink = name === 'slack' || name === 'teams' || name === 'gchat' ? name : 'raw';
  return Object.freeze({
    url,
    sink,
    proxy,
    additionalInfo: v['alert-additional-info'].trim(),
    structured: v['alert-structured'],
    timeoutMs: v['alert-timeout'],
    attempts: v['alert-attempts'],
    queueSize: v['alert-queue-size'],
  });
}

export interface WorkloadRef {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

export interface SourceRefOut {
  readonly kind: SourceKind;
  readonly name: string;
}

export interface RolloutAlert {
  readonly workload: WorkloadRef;
  readonly sources: readonly SourceRefOut[];
  readonly at: Date;
}

const TITLE = 'configstamp triggered a rollout';

/** Reloader v2's alert time: `2006-01-02 15:04:05 UTC`. */
function alertTime(at: Date): string {
  return `${at.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

function describe(alert: RolloutAlert): { workload: string; resource: string; time: string } {
  const ns = alert.workload.namespace;
  return {
    workload: `${ns}/${alert.workload.name} (${alert.workload.kind})`,
    resource: alert.sources.map((s) => `${ns}/${s.name} (${s.kind})`).join(', '),
    time: alertTime(alert.at),
  };
}

const json = (body: unknown): HttpPost => ({ body: JSON.stringify(body), contentType: 'application/json' });

/** The request one alert becomes for the configured sink. */
export function formatAlert(config: Pick<AlertConfig, 'sink' | 'additionalInfo' | 'structured'>, alert: RolloutAlert): HttpPost {
  const d = describe(alert);
  const info = config.additionalInfo;
  switch (config.sink) {
    case 'slack': {
      const text = `${TITLE}\n*Workload:* ${d.workload}\n*Resource:* ${d.resource}\n*Time:* ${d.time}`;
      return json({ attachments: [{ color: 'good', author_name: 'configstamp', text: info ? `${info}\n${text}` : text }] });
    }
    case 'teams':
      return json({
        '@type': 'MessageCard',
        '@context': 'http://schema.org/extensions',
        themeColor: '0076D7',
        summary: TITLE,
        sections: [
          {
            activityTitle: TITLE,
            ...(info ? { activitySubtitle: info } : {}),
            facts: [
              { name: 'Workload', value: d.workload },
              { name: 'Resource', value: d.resource },
              { name: 'Time', value: d.time },
            ],
          },
        ],
      });
    case 'gchat':
      return json({
        cards: [
          {
            header: { title: TITLE, ...(info ? { subtitle: info } : {}) },
            sections: [
              {
                widgets: [
                  { keyValue: { topLabel: 'Workload', content: d.workload } },
                  { keyValue: { topLabel: 'Resource', content: d.resource } },
                  { keyValue: { topLabel: 'Time', content: d.time } },
                ],
              },
            ],
          },
        ],
      });
    case 'raw': {
      if (config.structured) {
        const first = alert.sources[0];
        return json({
          event: 'reload',
          workloadKind: alert.workload.kind,
          workloadName: alert.workload.name,
          workloadNamespace: alert.workload.namespace,
          resourceKind: first?.kind ?? '',
          resourceName: first?.name ?? '',
          resourceNamespace: alert.workload.namespace,
          resources: alert.sources.map((s) => ({ kind: s.kind, name: s.name, namespace: alert.workload.namespace })),
          timestamp: alert.at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
          ...(info ? { additional: info } : {}),
        });
      }
      const text = `${TITLE} - Workload: ${d.workload}, Resource: ${d.resource}, Time: ${d.time}`;
      return { body: (info ? `${info} : ${text}` : text).replace(/\*/g, ''), contentType: 'text/plain' };
    }
  }
}

export interface NotifyChange {
  readonly kind: SourceKind;
  readonly name: string;
  /** The source's new keyed digest (short hex), or "absent". Never a value. */
  readonly digest: string;
}

/** Notify mode's body, Reloader v2's: one per changed source, naming the consuming workload. */
export function formatNotification(workload: WorkloadRef, change: NotifyChange, at: Date): HttpPost {
  const kind = change.kind.toLowerCase();
  return json({
    kind,
    namespace: workload.namespace,
    resourceName: change.name,
    resourceType: kind,
    hash: change.digest,
    timestamp: at.toISOString(),
    workloads: [{ kind: workload.kind, name: workload.name, namespace: workload.namespace }],
  });
}
