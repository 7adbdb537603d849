/**
 * THE error handler: every failure leaves as { error: { code, message, details } } with the
 * status from domain/errors.ts. Schema failures become one 400 VALIDATION_FAILED listing every
 * problem (lib/http-contract.ts); undeclared methods 405 with Allow; what Node's HTTP parser or
 * fastify's router refuse before a route runs (414, 431, bad URL, malformed request) is shaped
 * the same way through the frameworkErrors / clientErrorHandler options built here.
 */
import type { FastifyError, FastifyInstance, FastifyServerOptions } from 'fastify';
import { isConsortiaError } from '../../lib/errors.js';
import {
  clientErrorHandler,
  errorShape,
  fastifyValidationError,
  frameworkErrorsHandler,
  installContract,
  notFoundOrMethodNotAllowed,
  unroutedReply,
  type ContractCodes,
} from '../../lib/http-contract.js';
import { CpCodes, httpStatusFor } from '../domain/errors.js';
import { Errors } from './schemas.js';

export const CONTRACT_CODES: ContractCodes = {
  validation: CpCodes.VALIDATION_FAILED,
  notFound: CpCodes.NOT_FOUND,
  methodNotAllowed: CpCodes.METHOD_NOT_ALLOWED,
  badUrl: CpCodes.BAD_URL,
  uriTooLong: CpCodes.URI_TOO_LONG,
  headersTooLarge: CpCodes.HEADERS_TOO_LARGE,
  badRequest: CpCodes.BAD_REQUEST,
  requestTimeout: CpCodes.REQUEST_TIMEOUT,
  internal: CpCodes.INTERNAL,
};

/**
 * The fastify options that shape errors raised before routing; pass them to Fastify(). The
 * client-error handler needs the route table (for 405 on a method Node's parser refuses), which
 * exists only once the app does: it is looked up when an error happens.
 */
export function contractServerOptions(
  table: () => Parameters<typeof clientErrorHandler>[0] | undefined,
): Pick<FastifyServerOptions, 'frameworkErrors' | 'clientErrorHandler'> {
  const empty = { allowed: () => [] as string[] } as unknown as Parameters<typeof clientErrorHandler>[0];
  return {
    frameworkErrors: frameworkErrorsHandler(CONTRACT_CODES),
    clientErrorHandler: (err, socket) => clientErrorHandler(table() ?? empty, CONTRACT_CODES)(err, socket),
  };
}

/** fastify's own 4xx errors (body parsing and limits) by their fastify code. */
function fastifyClientError(err: FastifyError): { status: number; code: string } {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code: CpCodes.PAYLOAD_TOO_LARGE };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, code: CpCodes.UNSUPPORTED_MEDIA_TYPE };
    default: {
      const status = typeof err.statusCode === 'number' ? err.statusCode : 400;
      const byStatus: Record<number, string> = {
        404: CpCodes.NOT_FOUND,
        405: CpCodes.METHOD_NOT_ALLOWED,
        408: CpCodes.REQUEST_TIMEOUT,
        413: CpCodes.PAYLOAD_TOO_LARGE,
        414: CpCodes.URI_TOO_LONG,
        415: CpCodes.UNSUPPORTED_MEDIA_TYPE,
        429: CpCodes.RATE_LIMITED,
        431: CpCodes.HEADERS_TOO_LARGE,
      };
      // bad JSON, empty JSON body, bad content-length, ...: the request's input is invalid
      return { status, code: byStatus[status] ?? CpCodes.VALIDATION_FAILED };
    }
  }
}

/** Installs the strict input contract (call before any route), the error handler and the 404/405 handler. */
export function installErrorHandler(app: FastifyInstance): ReturnType<typeof installContract> {
  const contract = installContract(app, {
    codes: CONTRACT_CODES,
    errorResponses: (route) => {
      const pub = (route.config as { public?: boolean } | undefined)?.public === true;
      const { 401: _unauthenticated, ...rest } = Errors;
      return pub ? rest : Errors;
    },
    exempt: (route) => route.url === '/docs' || route.url.startsWith('/docs/'),
  });
  app.setErrorHandler((err: FastifyError & { validationContext?: string }, req, reply) => {
    const unrouted = isConsortiaError(err) ? null : unroutedReply(contract.routes, CONTRACT_CODES, req, reply, err);
    if (unrouted) return unrouted;
    const e = err.validation ? fastifyValidationError(CpCodes.VALIDATION_FAILED, err) : err;
    if (isConsortiaError(e)) {
      const status = httpStatusFor(e.code);
      if (status >= 500) req.log.error({ code: e.code, msg: e.message }, 'request failed');
      return reply.code(status).send(errorShape(e.code, e.message, e.details ?? {}));
    }
    const sc = typeof err.statusCode === 'number' ? err.statusCode : 500;
    if (sc >= 400 && sc < 500) {
      const { status, code } = fastifyClientError(err);
      const details: Record<string, unknown> = { fastifyCode: err.code };
      if (status === 413) Object.assign(details, { limit: req.routeOptions.bodyLimit, unit: 'bytes' });
      return reply.code(status).send(errorShape(code, err.message, details));
    }
    req.log.error({ err: { message: err.message, stack: err.stack } }, 'unhandled error');
    return reply.code(500).send(errorShape(CpCodes.INTERNAL, 'internal error'));
  });
  app.setNotFoundHandler(notFoundOrMethodNotAllowed(contract.routes, CONTRACT_CODES));
  return contract;
}
