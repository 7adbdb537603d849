import Fastify, { LogController, type FastifyError, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ConsortiaError, isConsortiaError } from '../../lib/errors.js';
import { registerEventLoopLag } from '../../lib/event-loop-lag.js';
import type { NodeApiContext, NodeApp } from './context.js';
import { NodeApiCodes, statusForCode } from './errors.js';
import { OTHER_BODY_BYTES_MAX, RATE_LIMIT_MAX_DEFAULT, RATE_LIMIT_WINDOW_MS_DEFAULT } from './limits.js';
import { registerBlockRoutes } from './routes/blocks.js';
import { registerEventRoutes } from './routes/events.js';
import { registerNodeInfoRoutes } from './routes/node-info.js';
import { registerStateRoutes } from './routes/state.js';
import { registerTxRoutes } from './routes/txs.js';
import { registerTierRoutes } from './routes/tiers.js';

export interface NodeApiOptions extends NodeApiContext {
  /** fastify logger option (pino options or false); main passes { level, stream: stderr }. */
  logger?: FastifyServerOptions['logger'];
}

interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

function body(code: string, message: string, details?: Record<string, unknown>): ErrorBody {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

/** Translates fastify's own errors (validation, body limit, parsing) into API error codes. */
function fastifyErrorToApi(err: FastifyError, req: FastifyRequest): { status: number; body: ErrorBody } | null {
  if (err.validation) {
    return { status: 400, body: body(NodeApiCodes.INVALID_REQUEST, `invalid ${err.validationContext ?? 'request'}: ${err.message}`) };
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        status: 413,
        body: body(req.routeOptions.config?.tooLargeCode ?? NodeApiCodes.BODY_TOO_LARGE, `request body is larger than ${req.routeOptions.bodyLimit} bytes`, {
          limit: req.routeOptions.bodyLimit,
          unit: 'bytes',
        }),
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, body: body(NodeApiCodes.UNSUPPORTED_MEDIA_TYPE, err.message) };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, body: body(NodeApiCodes.INVALID_REQUEST, err.message) };
    default:
      break;
  }
  if (err instanceof SyntaxError || (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500)) {
    return { status: err.statusCode ?? 400, body: body(NodeApiCodes.INVALID_REQUEST, err.message) };
  }
  return null;
}

/** Probes and scrapes are never rate limited. */
const UNLIMITED_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Per-client (IP) request limit on every route but UNLIMITED_ROUTES, unknown routes included,
 * checked in onRequest, before the body is read: 429 RATE_LIMITED with Retry-After (set by the
 * error handler from details.retryAfterSeconds) and the limit in details. `rateLimit.max` 0 turns it off.
 */
async function installRateLimit(app: NodeApp, opts: NodeApiOptions): Promise<void> {
  const max = opts.limits.rateLimit?.max ?? RATE_LIMIT_MAX_DEFAULT;
  const windowMs = opts.limits.rateLimit?.windowMs ?? RATE_LIMIT_WINDOW_MS_DEFAULT;
  if (max === 0) return;
  await app.register(rateLimit, { global: false, max, timeWindow: windowMs });
  const check = app.createRateLimit();
  app.addHook('onRequest', async (req, reply) => {
    if (UNLIMITED_ROUTES.has(req.routeOptions.url ?? '')) return;
    const r = await check(req);
    if (r.isAllowed || !r.isExceeded) return;
    void reply.header('x-ratelimit-limit', r.max).header('x-ratelimit-remaining', 0).header('x-ratelimit-reset', r.ttlInSeconds);
    throw new ConsortiaError(NodeApiCodes.RATE_LIMITED, `more than ${max} requests in ${windowMs} ms from this client; retry in ${r.ttlInSeconds} s`, {
      limit: max, windowMs, retryAfterSeconds: r.ttlInSeconds,
    });
  });
}

/**
 * The node HTTP API (contracts §3) over a NodeApiBackend. Returns a ready-to-listen fastify
 * instance; the caller owns listen/close. All errors leave through the one handler below.
 */
export async function createNodeApi(opts: NodeApiOptions): Promise<NodeApp> {
  const app = Fastify({
    logger: opts.logger ?? false,
    // routes that take bodies set their own limits (tx, batch, genesis); anything else gets little
    bodyLimit: Math.min(OTHER_BODY_BYTES_MAX, opts.limits.bodyLimitBytes),
    requestTimeout: 60_000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Per-request logs would dominate CPU under load generators; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
  })
    .setValidatorCompiler(TypeBoxValidatorCompiler)
    .withTypeProvider<TypeBoxTypeProvider>();

  // Binary batches for load generators; limited by the instance/route bodyLimit.
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, payload, done) => done(null, payload));

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (isConsortiaError(err)) {
      const status = statusForCode(err.code);
      if (status >= 500 && status !== 503) req.log.error({ err, code: err.code }, 'request failed');
      const retryAfter = err.details?.['retryAfterSeconds'];
      if (typeof retryAfter === 'number') void reply.header('retry-after', retryAfter);
      return reply.code(status).send(body(err.code, err.message, err.details));
    }
    const mapped = fastifyErrorToApi(err, req);
    if (mapped) return reply.code(mapped.status).send(mapped.body);
    req.log.error({ err }, 'unhandled error');
    return reply.code(500).send(body(NodeApiCodes.INTERNAL, 'internal error'));
  });

  await installRateLimit(app, opts);
  registerEventLoopLag(opts.registry);

  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send(body(NodeApiCodes.NOT_FOUND, `no route ${req.method} ${req.url.split('?')[0]}`)),
  );

  registerNodeInfoRoutes(app, opts);
  registerTxRoutes(app, opts);
  registerBlockRoutes(app, opts);
  registerStateRoutes(app, opts);
  registerEventRoutes(app, opts);
  registerTierRoutes(app, opts);
  await app.ready();
  return app;
}
