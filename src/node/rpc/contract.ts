/**
 * The node API's side of the strict HTTP contract (lib/http-contract.ts): its error codes for what
 * the contract refuses, the error statuses each route documents, and the OpenAPI document of the
 * node API (GET /openapi.json), which names every status each route can answer.
 */
import swagger from '@fastify/swagger';
import type { FastifyServerOptions, RouteOptions } from 'fastify';
import {
  clientErrorHandler,
  frameworkErrorsHandler,
  installContract,
  notFoundOrMethodNotAllowed,
  type ContractCodes,
  type RouteTable,
} from '../../lib/http-contract.js';
import { isAdminRoute } from './admin-auth.js';
import type { NodeApp } from './context.js';
import { NodeApiCodes } from './errors.js';

export const NODE_CONTRACT_CODES: ContractCodes = {
  validation: NodeApiCodes.INVALID_REQUEST,
  notFound: NodeApiCodes.NOT_FOUND,
  methodNotAllowed: NodeApiCodes.METHOD_NOT_ALLOWED,
  badUrl: NodeApiCodes.BAD_URL,
  uriTooLong: NodeApiCodes.URI_TOO_LONG,
  headersTooLarge: NodeApiCodes.HEADERS_TOO_LARGE,
  badRequest: NodeApiCodes.BAD_REQUEST,
  requestTimeout: NodeApiCodes.REQUEST_TIMEOUT,
  internal: NodeApiCodes.INTERNAL,
};

const ErrorBody = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'details'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        details: { type: 'object', additionalProperties: true },
      },
    },
  },
} as const;
const err = (description: string) => ({ ...ErrorBody, description });

/** Statuses any route can answer. */
const COMMON = {
  400: err(
    'INVALID_REQUEST (every schema problem in details.problems, the first 20, with details.count), BAD_URL, BAD_REQUEST, INVALID_TX, CODEC_*',
  ),
  404: err('NOT_FOUND'),
  405: err('METHOD_NOT_ALLOWED: the path does not take this method; the Allow header lists those it takes'),
  408: err('REQUEST_TIMEOUT'),
  414: err('URI_TOO_LONG: a path parameter or the request line is too long'),
  429: err('RATE_LIMITED: too many requests from this client (Retry-After), MEMPOOL_FULL, ACCOUNT_MEMPOOL_FULL'),
  431: err('HEADERS_TOO_LARGE'),
  500: err('INTERNAL'),
  503: err('AWAITING_GENESIS (no genesis installed yet), NOT_READY, BUSY (retry later), or the node is shutting down'),
};
/** Statuses of routes that serve chain data (history may be pruned, or not kept by this kind of node). */
const CHAIN_DATA = {
  410: err(
    'PRUNED: this node no longer keeps that history (details name the lowest height it keeps); ask a super node',
  ),
  501: err('NOT_SUPPORTED: this kind of node does not serve it (e.g. a light node)'),
};
/** Statuses of routes that take a body. */
const WITH_BODY = {
  409: err('GENESIS_ALREADY_SET, CONFLICT'),
  413: err('BODY_TOO_LARGE, TX_TOO_LARGE, BATCH_TOO_LARGE (details.limit)'),
  415: err('UNSUPPORTED_MEDIA_TYPE'),
  422: err(
    'the tx was refused: BAD_SIGNATURE, BAD_NONCE, NONCE_TOO_FAR_AHEAD, INSUFFICIENT_BALANCE, GOV_* ... (chain rejection codes)',
  ),
};
const ADMIN = { 401: err('UNAUTHORIZED: this endpoint needs the node admin credential (details.reason)') };

function methodsOf(route: RouteOptions): string[] {
  return (Array.isArray(route.method) ? route.method : [route.method]).map((m) => m.toUpperCase());
}

function errorResponses(route: RouteOptions): Record<string, unknown> {
  const methods = methodsOf(route);
  const body = methods.some((m) => m !== 'GET' && m !== 'HEAD');
  const chainData = route.url.startsWith('/v1/') && route.url !== '/v1/identity' && route.url !== '/v1/status';
  return {
    ...COMMON,
    ...(chainData ? CHAIN_DATA : {}),
    ...(body ? WITH_BODY : {}),
    ...(methods.some((m) => isAdminRoute(m, route.url)) ? ADMIN : {}),
  };
}

const json = (description: string) => ({ description, content: { 'application/json': { schema: {} } } });
const SUCCESS: Record<string, Record<string, unknown>> = {
  'POST /v1/txs': {
    200: json('committed (also ?wait=commit once it commits)'),
    202: json("accepted into this node's mempool"),
  },
  'GET /v1/events': {
    200: {
      description: 'an endless text/event-stream of `block` events',
      content: { 'text/event-stream': { schema: { type: 'string' } } },
    },
  },
  'GET /metrics': {
    200: { description: 'Prometheus text exposition', content: { 'text/plain': { schema: { type: 'string' } } } },
  },
  'GET /healthz': { 200: json('healthy'), 503: json('unhealthy: { status, details }') },
  'GET /readyz': { 200: json('ready'), 503: json('not ready: { ready: false, reason }') },
};

function successResponses(route: RouteOptions): Record<string, unknown> {
  const key = `${methodsOf(route)[0]} ${route.url}`;
  return SUCCESS[key] ?? { 200: json('OK') };
}

/** Fastify options that shape what is refused before routing (bad URL, 414, 431, malformed HTTP). */
export function nodeContractServerOptions(
  table: () => RouteTable | undefined,
): Pick<FastifyServerOptions, 'frameworkErrors' | 'clientErrorHandler' | 'routerOptions'> {
  const empty = { allowed: () => [] as string[] } as unknown as RouteTable;
  return {
    // a path parameter the schemas allow (asset ids up to 128 characters, percent-encoded) must
    // reach its route; longer is 414 URI_TOO_LONG
    routerOptions: { maxParamLength: 1600 },
    frameworkErrors: frameworkErrorsHandler(NODE_CONTRACT_CODES),
    clientErrorHandler: (e, socket) => clientErrorHandler(table() ?? empty, NODE_CONTRACT_CODES)(e, socket),
  };
}

/**
 * Installs the strict contract, the 404/405 handler and the OpenAPI document on the node API.
 * Call right after creating the app, before any route.
 */
export async function installNodeContract(app: NodeApp): Promise<RouteTable> {
  const { routes } = installContract(app, {
    codes: NODE_CONTRACT_CODES,
    errorResponses,
    successResponses,
    extraSchema: (route) =>
      methodsOf(route).some((m) => isAdminRoute(m, route.url)) ? { security: [{ admin: [] }] } : undefined,
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Consortia chain node',
        version: '1',
        description:
          'Errors are { "error": { "code", "message", "details" } } with a stable code. Mutating routes other than tx submission need the node admin credential (Authorization: Bearer).',
      },
      components: { securitySchemes: { admin: { type: 'http', scheme: 'bearer' } } },
    },
  });
  app.get('/openapi.json', { schema: { hide: true } as Record<string, unknown> }, async () => app.swagger());
  app.setNotFoundHandler(notFoundOrMethodNotAllowed(routes, NODE_CONTRACT_CODES));
  return routes;
}
