/**
 * buildServer(deps): the fastify app with every route, one error handler, auth, metrics
 * and the OpenAPI document. Tests drive it with app.inject; main.ts adds workers and listens.
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Registry } from 'prom-client';
import { registerEventLoopLag } from '../lib/event-loop-lag.js';
import { installAuth } from './api/auth.js';
import type { ApiContext } from './api/context.js';
import { contractServerOptions, installErrorHandler } from './api/error-handler.js';
import { clusterRoutes } from './api/routes-clusters.js';
import { ceremonyRoutes } from './api/routes-ceremony.js';
import { consortiumRoutes } from './api/routes-consortia.js';
import { eventRoutes } from './api/routes-events.js';
import { nodeRoutes } from './api/routes-nodes.js';
import { orgRoutes } from './api/routes-orgs.js';
import { platformRoutes, type PlatformInfo } from './api/routes-platform.js';
import { proposalRoutes } from './api/routes-proposals.js';
import { systemRoutes } from './api/routes-system.js';
import { subscriptionRoutes } from './api/routes-subscriptions.js';
import { tokenRoutes } from './api/routes-tokens.js';
import { RATE_LIMIT_DEFAULTS } from './config.js';
import { ChangeBus } from './domain/events.js';
import { DEFAULT_TOKEN_POLICY, type TokenPolicy } from './domain/tokens.js';
import { createControlPlaneMetrics, type ControlPlaneMetrics } from './metrics.js';
import { queries, type LevelStore } from './store/index.js';

export interface ServerDeps {
  store: LevelStore;
  bus?: ChangeBus;
  now?: () => number;
  registry?: Registry;
  metrics?: ControlPlaneMetrics;
  encryptionKey?: Buffer;
  kick?: ApiContext['kick'];
  logger?: FastifyServerOptions['logger'];
  ready?: () => boolean;
  /** Per-client (IP) requests per window (config rateLimitMax / rateLimitWindowMs); max 0 disables. */
  rateLimit?: { max: number; windowMs: number };
  /** Serve HTTPS with this certificate (main.ts, from lib/tls-cert.ts); without it plain HTTP (tests, tls.mode 'off'). */
  https?: { cert: string; key: string; ca?: string };
  /** Token lifetimes (config tokenTtlSeconds / tokenMaxTtlSeconds); DEFAULT_TOKEN_POLICY when absent. */
  tokens?: TokenPolicy;
  /** Webhook subscriptions (config `webhooks`): accept http:// receivers on loopback (dev, tests). */
  webhooks?: { allowHttpLoopback: boolean };
  /** GET /v1/platform/node-ca: the node CA certificate (main.ts). */
  platform?: PlatformInfo;
  /** rotate_validator_key proposals: how to ask a node for its new consensus key (main.ts). */
  requestConsensusKey?: ApiContext['requestConsensusKey'];
  /** Key providers of the config (domain/key-providers.ts, loaded by main.ts); none when absent. */
  keyProviders?: ApiContext['keyProviders'];
}

/** Probes and scrapes are never rate limited. */
const UNLIMITED_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Per-client (IP) request limit, checked in the first onRequest hook (before the token lookup,
 * so a flood of bad tokens is limited too), unknown routes included: 429 with Retry-After and
 * { error: { code: 'RATE_LIMITED', message, details: { limit, windowMs, retryAfterSeconds } } }.
 */
async function installRateLimit(app: FastifyInstance, limit: { max: number; windowMs: number }): Promise<void> {
  if (limit.max === 0) return;
  await app.register(rateLimit, { global: false, max: limit.max, timeWindow: limit.windowMs });
  const check = app.createRateLimit();
  app.addHook('onRequest', async (req, reply) => {
    if (UNLIMITED_PATHS.has(req.routeOptions.url ?? '')) return;
    const r = await check(req);
    if (r.isAllowed || !r.isExceeded) return;
    return reply
      .code(429)
      .header('retry-after', r.ttlInSeconds)
      .header('x-ratelimit-limit', r.max)
      .header('x-ratelimit-remaining', 0)
      .header('x-ratelimit-reset', r.ttlInSeconds)
      .send({
        error: {
          code: 'RATE_LIMITED',
          message: `more than ${limit.max} requests in ${limit.windowMs} ms from this client; retry in ${r.ttlInSeconds} s`,
          details: { limit: limit.max, windowMs: limit.windowMs, retryAfterSeconds: r.ttlInSeconds },
        },
      });
  });
}

export async function buildServer(deps: ServerDeps): Promise<{ app: FastifyInstance; ctx: ApiContext }> {
  const registry = deps.registry ?? new Registry();
  const ctx: ApiContext = {
    store: deps.store,
    q: queries(deps.store),
    bus: deps.bus ?? new ChangeBus(),
    now: deps.now ?? Date.now,
    tokens: deps.tokens ?? DEFAULT_TOKEN_POLICY,
    registry,
    metrics: deps.metrics ?? createControlPlaneMetrics(registry),
    ...(deps.encryptionKey ? { encryptionKey: deps.encryptionKey } : {}),
    kick: deps.kick ?? (() => undefined),
    ...(deps.requestConsensusKey ? { requestConsensusKey: deps.requestConsensusKey } : {}),
    keyProviders: deps.keyProviders ?? new Map(),
  };
  let contract: ReturnType<typeof installErrorHandler> | undefined;
  const app = Fastify({
    logger: deps.logger ?? false,
    // The https server type only differs in its `server` field, which nothing here uses.
    ...((deps.https ? { https: deps.https } : {}) as Record<string, never>),
    // Never log the Authorization header (bearer secrets).
    ...(deps.logger ? {} : {}),
    // Input validation is lib/http-contract.ts (strict: no coercion, unknown fields refused, all
    // problems in one 400); errors raised before routing are shaped by these two options.
    ...contractServerOptions(() => contract?.routes),
  });
  contract = installErrorHandler(app);
  await installRateLimit(app, deps.rateLimit ?? RATE_LIMIT_DEFAULTS);
  registerEventLoopLag(registry);
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Consortia control plane', version: '1' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  installAuth(app, ctx);
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    ctx.metrics.apiRequests.inc({ route, method: req.method, status: String(reply.statusCode) });
    ctx.metrics.apiDuration.observe({ route, method: req.method }, reply.elapsedTime / 1000);
  });
  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } as Record<string, unknown> }, async () =>
    app.swagger(),
  );
  systemRoutes(app, {
    ready: deps.ready ?? (() => true),
    metricsText: () => registry.metrics(),
    contentType: registry.contentType,
  });
  orgRoutes(app, ctx);
  tokenRoutes(app, ctx);
  clusterRoutes(app, ctx);
  consortiumRoutes(app, ctx);
  proposalRoutes(app, ctx);
  nodeRoutes(app, ctx);
  ceremonyRoutes(app, ctx);
  eventRoutes(app, ctx);
  platformRoutes(app, deps.platform ?? {});
  subscriptionRoutes(app, ctx, { allowHttpLoopback: deps.webhooks?.allowHttpLoopback ?? false });
  await app.ready();
  return { app, ctx };
}
