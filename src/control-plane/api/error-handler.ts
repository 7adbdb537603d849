/**
 * THE error handler: every failure leaves as { error: { code, message, details } } with the
 * status from domain/errors.ts. Schema failures become 400 VALIDATION_FAILED naming the field.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { isConsortiaError } from '../../lib/errors.js';
import { CpCodes, httpStatusFor } from '../domain/errors.js';

interface AjvError {
  instancePath?: string;
  keyword?: string;
  params?: Record<string, unknown>;
  message?: string;
}

/** '/founders/0' + missingProperty 'x' -> 'founders.0.x'; prefixed by the request part (body/query/params). */
function fieldOf(e: AjvError, ctx: string | undefined): string {
  const parts = (e.instancePath ?? '').split('/').filter(Boolean);
  const missing = e.params?.['missingProperty'];
  if (typeof missing === 'string') parts.push(missing);
  const add = e.params?.['additionalProperty'];
  if (typeof add === 'string') parts.push(add);
  const path = parts.join('.');
  return ctx && ctx !== 'body' ? `${ctx}.${path}` : path || ctx || '';
}

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError & { validation?: AjvError[]; validationContext?: string }, req, reply) => {
    if (err.validation) {
      const first: AjvError = err.validation[0] ?? {};
      const field = fieldOf(first, err.validationContext);
      return reply.code(400).send({
        error: {
          code: CpCodes.VALIDATION_FAILED,
          message: `${field || err.validationContext || 'request'}: ${(first as AjvError).message ?? 'is invalid'}`,
          details: { field, problems: err.validation.map((e) => ({ field: fieldOf(e, err.validationContext), message: e.message })) },
        },
      });
    }
    if (isConsortiaError(err)) {
      const status = httpStatusFor(err.code);
      if (status >= 500) req.log.error({ code: err.code, msg: err.message }, 'request failed');
      return reply.code(status).send({ error: { code: err.code, message: err.message, details: err.details ?? {} } });
    }
    // fastify's own client errors (bad JSON, payload too large, unsupported media type)
    const sc = typeof err.statusCode === 'number' ? err.statusCode : 500;
    if (sc >= 400 && sc < 500) {
      return reply.code(sc).send({ error: { code: sc === 404 ? CpCodes.NOT_FOUND : CpCodes.VALIDATION_FAILED, message: err.message, details: { fastifyCode: err.code } } });
    }
    req.log.error({ err: { message: err.message, stack: err.stack } }, 'unhandled error');
    return reply.code(500).send({ error: { code: CpCodes.INTERNAL, message: 'internal error', details: {} } });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: { code: CpCodes.NOT_FOUND, message: `no route ${req.method} ${req.url.split('?')[0]}`, details: {} } });
  });
}
