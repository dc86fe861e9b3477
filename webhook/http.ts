/**
 * The transport (controller-runtime's http.go): the only module that knows HTTP. It caps the
 * body, insists on JSON, decodes the review, hands the request to the handler and echoes the uid.
 * Anything that is not an answerable AdmissionReview gets a 4xx with a JSON error; a review whose
 * uid is readable always gets an "allowed" answer carrying it, even if the handler blew up.
 */
import { fastify, LogController } from 'fastify';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import type { ServerOptions } from 'node:https';
import { ErrorCodes, errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { decodeReviewText } from './decode.js';
import type { WebhookMetrics } from './metrics.js';
import { allowed, reviewResponse } from './response.js';
import type { AdmissionHandler } from './handler.js';

export interface AppOptions {
  readonly handler: AdmissionHandler;
  readonly log: Logger;
  readonly metrics: WebhookMetrics;
  readonly maxRequestBytes: number;
  readonly isReady: () => boolean;
  /** TLS options (cert and key may be absent until the files appear); omit for plain HTTP (tests). */
  readonly https?: ServerOptions;
}

interface ErrorBody {
  readonly error: string;
  readonly code: string;
  readonly message: string;
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
};

function sendError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  const body: ErrorBody = { error: STATUS_TEXT[status] ?? 'Error', code, message };
  return reply.code(status).type('application/json').send(body);
}

export function buildApp(options: AppOptions): FastifyInstance {
  const { handler, log, metrics } = options;
  const base = {
    loggerInstance: log,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.maxRequestBytes,
    return503OnClosing: false,
    // The API server keeps connections alive for many admissions; do not cut them short.
    keepAliveTimeout: 75_000,
  };
  const app: FastifyInstance = (options.https ? fastify({ ...base, https: options.https }) : fastify(base)) as unknown as FastifyInstance;

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
    if (request.url.startsWith('/mutate')) metrics.badRequests.inc({ status: String(status) });
    log.debug({ status, code: err.code, err: err.message }, 'bad request');
    return sendError(reply, status, err.code ?? ErrorCodes.ADMISSION_INPUT, err.message);
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, 404, ErrorCodes.NOT_FOUND, `no route ${request.method} ${request.url.split('?')[0]}`));

  app.post('/mutate', async (request, reply) => {
    const decoded = decodeReviewText(typeof request.body === 'string' ? request.body : '');
    if (!decoded.ok) {
      if (decoded.uid === undefined) {
        metrics.badRequests.inc({ status: String(decoded.status) });
        return sendError(reply, decoded.status, ErrorCodes.ADMISSION_INPUT, decoded.message);
      }
      metrics.admissions.inc({ kind: 'other', operation: 'unknown', result: 'invalid' });
      metrics.failures.inc({ code: ErrorCodes.ADMISSION_INPUT });
      log.warn({ uid: decoded.uid, code: ErrorCodes.ADMISSION_INPUT, err: decoded.message }, 'malformed admission review; allowed unchanged');
      return reviewResponse(allowed(decoded.uid, [`configstamp: ${decoded.message}; allowed unchanged`]));
    }
    try {
      return reviewResponse(await handler(decoded.request));
    } catch (err) {
      // The handler never throws; if it ever does, the API server still gets its uid back.
      log.error({ uid: decoded.request.uid, code: ErrorCodes.INTERNAL, err: errorMessage(err) }, 'admission handler threw');
      return reviewResponse(allowed(decoded.request.uid, [`configstamp: internal error (${ErrorCodes.INTERNAL}); allowed unchanged`]));
    }
  });

  app.get('/healthz', async (_request, reply) => reply.type('text/plain').send('ok\n'));
  app.get('/readyz', async (_request, reply) => {
    const ready = options.isReady();
    return reply
      .code(ready ? 200 : 503)
      .type('text/plain')
      .send(ready ? 'ready\n' : 'not ready\n');
  });
  return app;
}
