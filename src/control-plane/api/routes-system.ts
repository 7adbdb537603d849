/** Health, readiness and metrics (unauthenticated). */
import type { FastifyInstance } from 'fastify';

export function systemRoutes(
  app: FastifyInstance,
  deps: { ready: () => boolean; metricsText: () => Promise<string>; contentType: string },
): void {
  const hide = { hide: true } as Record<string, unknown>;
  app.get('/healthz', { config: { public: true }, schema: hide }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { public: true }, schema: hide }, async (_req, reply) => {
    if (!deps.ready()) return reply.code(503).send({ status: 'starting' });
    return { status: 'ready' };
  });
  app.get('/metrics', { config: { public: true }, schema: hide }, async (_req, reply) => {
    void reply.header('content-type', deps.contentType);
    return deps.metricsText();
  });
}
