import Fastify, { LogController, type FastifyError, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ConsortiaError, isConsortiaError } from '../../lib/errors.js';
import { fastifyValidationError, unroutedReply, type RouteTable } from '../../lib/http-contract.js';
import { registerEventLoopLag } from '../../lib/event-loop-lag.js';
import { installAdminAuth, type AdminTokenSource } from './admin-auth.js';
import type { NodeApiContext, NodeApp } from './context.js';
import { installNodeContract, NODE_CONTRACT_CODES, nodeContractServerOptions } from './contract.js';
import { NodeApiCodes, statusForCode } from './errors.js';
import { OTHER_BODY_BYTES_MAX, RATE_LIMIT_MAX_DEFAULT, RATE_LIMIT_WINDOW_MS_DEFAULT } from './limits.js';
import { registerBlockRoutes } from './routes/blocks.js';
import { registerConsensusKeyRoutes } from './routes/consensus-keys.js';
import { registerEventRoutes } from './routes/events.js';
import { registerNodeInfoRoutes } from './routes/node-info.js';
import { registerStateRoutes } from './routes/state.js';
import { registerTxRoutes } from './routes/txs.js';
import { registerTierRoutes } from './routes/tiers.js';

export interface NodeApiOptions extends NodeApiContext {
  /** fastify logger option (pino options or false); main passes { level, stream: stderr }. */
  logger?: FastifyServerOptions['logger'];
  /** The node's admin credential (rpc/admin-auth.ts); without it every mutating route but tx submission answers 401. */
  adminToken?: AdminTokenSource;
  /** Serve HTTPS with this certificate (main.ts, lib/tls-cert.ts); without it plain HTTP. */
  https?: { cert: string; key: string; ca?: string };
}

interface ErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> };
}

/** Every error is { error: { code, message, details } }; details is {} when there is nothing to add. */
function body(code: string, message: string, details?: Record<string, unknown>): ErrorBody {
  return { error: { code, message, details: details ?? {} } };
}

/** Translates fastify's own errors (validation, body limit, parsing) into API error codes. */
function fastifyErrorToApi(err: FastifyError, req: FastifyRequest): { status: number; body: ErrorBody } | null {
  if (err.validation) {
    const e = fastifyValidationError(NodeApiCodes.INVALID_REQUEST, err);
    return { status: 400, body: body(e.code, e.message, e.details) };
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        status: 413,
        body: body(
          req.routeOptions.config?.tooLargeCode ?? NodeApiCodes.BODY_TOO_LARGE,
          `request body is larger than ${req.routeOptions.bodyLimit} bytes`,
          {
            limit: req.routeOptions.bodyLimit,
            unit: 'bytes',
          },
        ),
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
    const status = err.statusCode ?? 400;
    const byStatus: Record<number, string> = {
      404: NodeApiCodes.NOT_FOUND,
      405: NodeApiCodes.METHOD_NOT_ALLOWED,
      408: NodeApiCodes.REQUEST_TIMEOUT,
      413: NodeApiCodes.BODY_TOO_LARGE,
      414: NodeApiCodes.URI_TOO_LONG,
      415: NodeApiCodes.UNSUPPORTED_MEDIA_TYPE,
      429: NodeApiCodes.RATE_LIMITED,
      431: NodeApiCodes.HEADERS_TOO_LARGE,
    };
    return {
      status,
      body: body(byStatus[status] ?? NodeApiCodes.INVALID_REQUEST, err.message, { fastifyCode: err.code }),
    };
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
    void reply
      .header('x-ratelimit-limit', r.max)
      .header('x-ratelimit-remaining', 0)
      .header('x-ratelimit-reset', r.ttlInSeconds);
    throw new ConsortiaError(
      NodeApiCodes.RATE_LIMITED,
      `more than ${max} requests in ${windowMs} ms from this client; retry in ${r.ttlInSeconds} s`,
      {
        limit: max,
        windowMs,
        retryAfterSeconds: r.ttlInSeconds,
      },
    );
  });
}

/**
 * The node HTTP API (docs/protocol.md#node-http-api) over a NodeApiBackend. Returns a ready-to-listen fastify
 * instance; the caller owns listen/close. All errors leave through the one handler below.
 */
export async function createNodeApi(opts: NodeApiOptions): Promise<NodeApp> {
  let routes: RouteTable | undefined;
  const app = Fastify({
    logger: opts.logger ?? false,
    // The https server type only differs in its `server` field, which nothing here uses.
    ...((opts.https ? { https: opts.https } : {}) as Record<string, never>),
    // routes that take bodies set their own limits (tx, batch, genesis); anything else gets little
    bodyLimit: Math.min(OTHER_BODY_BYTES_MAX, opts.limits.bodyLimitBytes),
    requestTimeout: 60_000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Per-request logs would dominate CPU under load generators; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    // bad URL, 414, 431 and malformed HTTP in the error shape (rpc/contract.ts)
    ...nodeContractServerOptions(() => routes),
  }).withTypeProvider<TypeBoxTypeProvider>();
  // Strict inputs (no coercion, unknown fields refused, all problems in one 400), 404/405 and the
  // OpenAPI document (GET /openapi.json): before any route.
  routes = await installNodeContract(app);

  // Binary batches for load generators; limited by the instance/route bodyLimit.
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, payload, done) =>
    done(null, payload),
  );

  app.setErrorHandler((err: FastifyError, req, reply) => {
    // a request that matched no route but failed before the 404 handler: 404 / 405 + Allow
    const unrouted =
      isConsortiaError(err) || !routes ? null : unroutedReply(routes, NODE_CONTRACT_CODES, req, reply, err);
    if (unrouted) return unrouted;
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
  installAdminAuth(app, { adminToken: opts.adminToken, registry: opts.registry });
  registerEventLoopLag(opts.registry);

  registerNodeInfoRoutes(app, opts);
  registerTxRoutes(app, opts);
  registerBlockRoutes(app, opts);
  registerStateRoutes(app, opts);
  registerEventRoutes(app, opts);
  registerTierRoutes(app, opts);
  registerConsensusKeyRoutes(app, opts);
  await app.ready();
  return app;
}
