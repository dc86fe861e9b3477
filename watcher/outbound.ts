/**
 * What the watcher sends out besides patches, as the config asks: notify mode's notifier
 * (--webhook-url: delivered before it is recorded, retried by the reconcile) or the rollout
 * alerts (ALERT_WEBHOOK_URL: queued, never awaited by a rollout).
 */
import type { Logger } from '../shared/log.js';
import { AlertSender } from './alert-sender.js';
import { formatAlert, formatNotification } from './alerts.js';
import type { WatcherConfig } from './config.js';
import type { WatcherMetrics } from './metrics.js';
import type { ReconcileDeps } from './reconcile.js';

export function outbound(
  config: WatcherConfig,
  log: Logger,
  metrics: WatcherMetrics,
): Pick<ReconcileDeps, 'notifier' | 'alerts'> & { flushAlerts?: () => void } {
  if (config.webhookUrl !== '') {
    log.info('notify mode (--webhook-url): changes are posted, nothing is rolled');
    const sender = new AlertSender({
      url: config.webhookUrl,
      timeoutMs: 10_000,
      attempts: 1,
      retryBaseMs: 1,
      retryMaxMs: 1,
      capacity: 1,
      log: log.child({ part: 'notify' }),
      onResult: () => undefined,
    });
    return {
      notifier: {
        async deliver(workload, changes) {
          for (const change of changes) await sender.postNow(formatNotification(workload, change, new Date()));
        },
      },
    };
  }
  const alerts = config.alerts;
  if (alerts === null) return {};
  const sender = new AlertSender({
    url: alerts.url,
    proxy: alerts.proxy || undefined,
    timeoutMs: alerts.timeoutMs,
    attempts: alerts.attempts,
    retryBaseMs: 500,
    retryMaxMs: 30_000,
    capacity: alerts.queueSize,
    log: log.child({ part: 'alerts' }),
    onResult: (result) => metrics.alerts.inc({ result }),
  });
  log.info({ sink: alerts.sink, host: new URL(alerts.url).host }, 'alerts on: every rollout is posted');
  return { alerts: (alert) => sender.send(formatAlert(alerts, alert)), flushAlerts: () => sender.close() };
}
