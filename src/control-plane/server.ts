/**
 * buildServer(deps): the fastify app with every route, one error handler, auth, metrics
 * and the OpenAPI document. Tests drive it with app.inject; main.ts adds workers and listens.
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Registry } from 'prom-client';
import { installAuth } from './api/auth.js';
import type { ApiContext } from './api/context.js';
import { installErrorHandler } from './api/error-handler.js';
import { clusterRoutes } from './api/routes-clusters.js';
import { ceremonyRoutes } from './api/routes-ceremony.js';
import { consortiumRoutes } from './api/routes-consortia.js';
import { eventRoutes } from './api/routes-events.js';
import { nodeRoutes } from './api/routes-nodes.js';
import { orgRoutes } from './api/routes-orgs.js';
import { proposalRoutes } from './api/routes-proposals.js';
import { systemRoutes } from './api/routes-system.js';
import { ChangeBus } from './domain/events.js';
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
}

export async function buildServer(deps: ServerDeps): Promise<{ app: FastifyInstance; ctx: ApiContext }> {
  const registry = deps.registry ?? new Registry();
  const ctx: ApiContext = {
    store: deps.store,
    q: queries(deps.store),
    bus: deps.bus ?? new ChangeBus(),
    now: deps.now ?? Date.now,
    registry,
    metrics: deps.metrics ?? createControlPlaneMetrics(registry),
    ...(deps.encryptionKey ? { encryptionKey: deps.encryptionKey } : {}),
    kick: deps.kick ?? (() => undefined),
  };
  const app = Fastify({
    logger: deps.logger ?? false,
    // Never log the Authorization header (bearer secrets).
    ...(deps.logger ? {} : {}),
    ajv: { customOptions: { removeAdditional: true, useDefaults: true, coerceTypes: 'array' } },
  });
  installErrorHandler(app);
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
  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } as Record<string, unknown> }, async () => app.swagger());
  systemRoutes(app, { ready: deps.ready ?? (() => true), metricsText: () => registry.metrics(), contentType: registry.contentType });
  orgRoutes(app, ctx);
  clusterRoutes(app, ctx);
  consortiumRoutes(app, ctx);
  proposalRoutes(app, ctx);
  nodeRoutes(app, ctx);
  ceremonyRoutes(app, ctx);
  eventRoutes(app, ctx);
  await app.ready();
  return { app, ctx };
}
