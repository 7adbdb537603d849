/**
 * The strict HTTP contract both APIs (control plane, chain node) enforce, in one place:
 *
 * - Inputs are checked against the route schema exactly: unknown fields are refused (every object
 *   schema of a body, query or path is closed with `additionalProperties: false`, also in the
 *   OpenAPI document), bodies are never coerced (`"name": false` stays a boolean and is refused),
 *   and path / query strings are parsed strictly: an integer is `^(0|[1-9][0-9]*)$` within
 *   Number.MAX_SAFE_INTEGER (no `1.5`, `0x10`, `1e1`, `0b11`, `+1`, ` 1`), a boolean is `true` / `false`.
 *   A route that declares no query accepts none.
 * - Every problem of the request (path, query and body together) comes back in ONE 400, in
 *   `details.problems` (the first VALIDATION_PROBLEMS_MAX of them) with `details.count`.
 * - Methods a path does not declare are 405 with `Allow`; a malformed URL, a path parameter over
 *   the router's limit (414), a request line or header block over Node's limit (414 / 431), a
 *   request the HTTP parser refuses and a request timeout are answered in the
 *   `{ error: { code, message, details } }` shape too, with stable codes.
 * - Every route documents the error statuses it can answer in its OpenAPI responses.
 *
 * Each API passes its own error codes and its error-response map; the API's error handler renders
 * the ConsortiaError thrown here like any other.
 */
import { maxHeaderSize, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import AjvModule, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { ConsortiaError } from './errors.js';

/** At most this many problems are listed in one 400 (details.count has them all). */
export const VALIDATION_PROBLEMS_MAX = 20;

/** Strict path / query integers: decimal digits, no sign, no leading zero, within 2^53-1. */
export const STRICT_UINT_RE = /^(0|[1-9][0-9]*)$/;
const STRICT_NUMBER_RE = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/;

/** The error codes an API answers for what this module refuses. */
export interface ContractCodes {
  /** 400: schema violations (all of them in details.problems). */
  validation: string;
  /** 404: no route for this path. */
  notFound: string;
  /** 405 (+ Allow): the path exists, the method does not. */
  methodNotAllowed: string;
  /** 400: a URL that cannot be decoded (e.g. `%zz`). */
  badUrl: string;
  /** 414: a path parameter over the router's limit, or a request line over Node's header limit. */
  uriTooLong: string;
  /** 431: request headers over Node's header limit. */
  headersTooLarge: string;
  /** 400: a request Node's HTTP parser refuses (malformed request line, bad header, ...). */
  badRequest: string;
  /** 408: the request was not received in time. */
  requestTimeout: string;
  /** 500. */
  internal: string;
}

export interface ErrorShape {
  error: { code: string; message: string; details: Record<string, unknown> };
}

export function errorShape(code: string, message: string, details: Record<string, unknown> = {}): ErrorShape {
  return { error: { code, message, details } };
}

// ---------------------------------------------------------------------------------------------
// Schemas: closed objects, and the validators compiled once per route

type JsonSchema = Record<string, unknown>;
const isObj = (v: unknown): v is JsonSchema => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A deep copy of `schema` in which every object schema that does not say otherwise is closed
 * (`additionalProperties: false`). Open maps (`patternProperties`, an explicit
 * `additionalProperties`) and `{}` (any value) are kept as they are.
 */
export function closeObjects<T>(schema: T): T {
  const walk = (s: unknown): unknown => {
    if (Array.isArray(s)) return s.map(walk);
    if (!isObj(s)) return s;
    const out: JsonSchema = {};
    for (const [k, v] of Object.entries(s)) {
      if (k === 'properties' && isObj(v)) {
        out[k] = Object.fromEntries(Object.entries(v).map(([pk, pv]) => [pk, walk(pv)]));
      } else if (k === 'default' || k === 'const' || k === 'enum' || k === 'examples' || k === 'example') {
        out[k] = v;
      } else {
        out[k] = walk(v);
      }
    }
    const isObjectSchema = out['type'] === 'object' || (out['type'] === undefined && isObj(out['properties']));
    if (isObjectSchema && out['additionalProperties'] === undefined && out['patternProperties'] === undefined) {
      out['additionalProperties'] = false;
    }
    return taggedUnion(out);
  };
  return walk(schema) as T;
}

/**
 * A union of objects told apart by one constant property (e.g. `type`) becomes
 * `oneOf` + `discriminator`: a request then gets the problems of the variant it names, not
 * those of every variant.
 */
function taggedUnion(s: JsonSchema): JsonSchema {
  const branches = s['anyOf'];
  if (!Array.isArray(branches) || branches.length < 2 || !branches.every(isObj)) return s;
  // a union of literals of one type is an enum (one problem naming the allowed values, not one per literal)
  const consts = branches.map((b) => (b as JsonSchema)['const']);
  const kinds = new Set(branches.map((b) => (b as JsonSchema)['type']));
  if (
    consts.every((c) => c !== undefined && typeof c !== 'object') &&
    kinds.size === 1 &&
    branches.every((b) => Object.keys(b as JsonSchema).every((k) => k === 'const' || k === 'type'))
  ) {
    const { anyOf: _a, ...rest } = s;
    const type = [...kinds][0];
    return { ...rest, ...(type !== undefined ? { type } : {}), enum: consts };
  }
  const constOf = (b: JsonSchema, k: string): unknown => {
    const p = isObj(b['properties']) ? b['properties'][k] : undefined;
    return isObj(p) && Array.isArray(b['required']) && (b['required'] as unknown[]).includes(k)
      ? p['const']
      : undefined;
  };
  const first = branches[0] as JsonSchema;
  const candidates = isObj(first['properties']) ? Object.keys(first['properties']) : [];
  const tag = candidates.find((k) => {
    const values = branches.map((b) => constOf(b as JsonSchema, k));
    return values.every((v) => typeof v === 'string') && new Set(values).size === values.length;
  });
  if (tag === undefined) return s;
  const { anyOf: _anyOf, ...rest } = s;
  return { ...rest, type: 'object', oneOf: branches, discriminator: { propertyName: tag } };
}

type AjvInstance = InstanceType<typeof AjvModule.default>;
// ajv and ajv-formats are CommonJS: their default export is the module object under NodeNext.
const AjvCtor = ((AjvModule as unknown as { default?: unknown }).default ?? AjvModule) as typeof AjvModule.default;
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as unknown as (
  ajv: AjvInstance,
) => AjvInstance;

function newAjv(allErrors: boolean): AjvInstance {
  // No coercion anywhere: path and query strings are converted by strictStrings() first.
  const ajv = new AjvCtor({
    coerceTypes: false,
    useDefaults: true,
    removeAdditional: false,
    allErrors,
    strict: false,
    addUsedSchema: false,
    discriminator: true,
  });
  addFormats(ajv);
  return ajv;
}
/** First pass stops at the first problem (cheap for valid and hostile inputs alike); the second lists all. */
const ajvFirst = newAjv(false);
const ajvAll = newAjv(true);

interface PartValidator {
  schema: JsonSchema;
  first: ValidateFunction;
  all: ValidateFunction;
}

function compilePart(schema: unknown): PartValidator | undefined {
  if (!isObj(schema)) return undefined;
  return { schema, first: ajvFirst.compile(schema), all: ajvAll.compile(schema) };
}

// ---------------------------------------------------------------------------------------------
// Strict conversion of path and query strings

function typesOf(schema: unknown): Set<string> {
  const out = new Set<string>();
  if (!isObj(schema)) return out;
  const t = schema['type'];
  if (typeof t === 'string') out.add(t);
  if (Array.isArray(t)) for (const x of t) if (typeof x === 'string') out.add(x);
  for (const k of ['anyOf', 'oneOf', 'allOf']) {
    const list = schema[k];
    if (Array.isArray(list)) for (const sub of list) for (const x of typesOf(sub)) out.add(x);
  }
  if (schema['const'] !== undefined) out.add(typeof schema['const']);
  return out;
}

/** One path or query string as the schema wants it, or the string itself (then refused as the wrong type). */
export function strictScalar(schema: unknown, s: string): unknown {
  const types = typesOf(schema);
  if (types.size === 0 || types.has('string')) return s;
  if (types.has('integer') && STRICT_UINT_RE.test(s)) {
    const n = Number(s);
    if (Number.isSafeInteger(n)) return n;
  }
  if (types.has('number') && STRICT_NUMBER_RE.test(s)) {
    const n = Number(s);
    if (Number.isFinite(n) && (!s.includes('.') ? Number.isSafeInteger(n) : true)) return n;
  }
  if (types.has('boolean') && (s === 'true' || s === 'false')) return s === 'true';
  return s;
}

function itemSchemaOf(schema: unknown): unknown {
  return isObj(schema) ? schema['items'] : undefined;
}

/** Converts the string values of a path / query object by the properties of its schema. */
export function strictStrings(schema: JsonSchema, input: unknown): unknown {
  if (!isObj(input)) return input;
  const props = isObj(schema['properties']) ? schema['properties'] : {};
  const out = Object.create(Object.getPrototypeOf(input) as object | null) as Record<string, unknown>;
  for (const [k, v] of Object.entries(input)) {
    const ps = Object.hasOwn(props, k) ? props[k] : undefined;
    let value: unknown = v;
    if (ps !== undefined) {
      if (typeof v === 'string') value = strictScalar(ps, v);
      else if (Array.isArray(v) && typesOf(ps).has('array'))
        value = v.map((x) => (typeof x === 'string' ? strictScalar(itemSchemaOf(ps), x) : x));
    }
    Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Problems -> one 400

export interface Problem {
  field: string;
  message: string;
  keyword?: string;
}

type Part = 'params' | 'querystring' | 'body' | 'headers';

/** 'founders/0' + missingProperty 'x' -> 'founders.0.x'; prefixed by the request part unless body. */
function fieldOf(e: ErrorObject | { instancePath?: string; params?: Record<string, unknown> }, part: Part): string {
  const parts = (e.instancePath ?? '')
    .split('/')
    .filter(Boolean)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const params = (e.params ?? {}) as Record<string, unknown>;
  const missing = params['missingProperty'];
  if (typeof missing === 'string') parts.push(missing);
  const extra = params['additionalProperty'];
  if (typeof extra === 'string') parts.push(extra);
  const path = parts.join('.');
  if (part === 'body') return path || 'body';
  return path ? `${part}.${path}` : part;
}

function problemOf(e: ErrorObject, part: Part): Problem {
  const field = fieldOf(e, part);
  let message = e.message ?? 'is invalid';
  if (e.keyword === 'additionalProperties') message = 'is not a known field';
  else if (e.keyword === 'required') message = 'is required';
  else if (e.keyword === 'enum')
    message = `must be one of ${JSON.stringify((e.params as { allowedValues?: unknown[] }).allowedValues ?? [])}`;
  else if (
    e.keyword === 'type' &&
    (part === 'params' || part === 'querystring') &&
    (e.params as { type?: string }).type === 'integer'
  ) {
    message = `must be a decimal integer (digits only, at most ${Number.MAX_SAFE_INTEGER})`;
  }
  return { field, message, keyword: e.keyword };
}

/**
 * The ConsortiaError for a list of schema problems: message names the first one, details list
 * the first VALIDATION_PROBLEMS_MAX with the total count, and the unknown fields by name.
 */
export function validationError(code: string, problems: Problem[]): ConsortiaError {
  // anyOf/oneOf branches repeat themselves; one line per distinct problem
  const seen = new Set<string>();
  const unique = problems.filter((p) => {
    const k = `${p.field}\u0000${p.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  const first = unique[0] ?? { field: '', message: 'is invalid' };
  const unknown = unique.filter((p) => p.keyword === 'additionalProperties').map((p) => p.field);
  const more =
    unique.length > 1
      ? ` (and ${unique.length - 1} more problem${unique.length > 2 ? 's' : ''}: see details.problems)`
      : '';
  return new ConsortiaError(code, `${first.field || 'request'}: ${first.message}${more}`, {
    field: first.field,
    problems: unique.slice(0, VALIDATION_PROBLEMS_MAX).map(({ field, message }) => ({ field, message })),
    count: unique.length,
    ...(unique.length > VALIDATION_PROBLEMS_MAX ? { truncated: true } : {}),
    ...(unknown.length > 0 ? { unknownFields: unknown.slice(0, VALIDATION_PROBLEMS_MAX) } : {}),
  });
}

/** fastify's own `err.validation` (e.g. headers) as the same 400. */
export function fastifyValidationError(
  code: string,
  err: FastifyError & { validationContext?: string },
): ConsortiaError {
  const part = (err.validationContext ?? 'body') as Part;
  return validationError(
    code,
    (err.validation ?? []).map((e) => problemOf(e as unknown as ErrorObject, part)),
  );
}

// ---------------------------------------------------------------------------------------------
// Routes: 405 + Allow

interface RouteEntry {
  re: RegExp;
  /** Static segments: where patterns overlap (/v1/txs/batch, /v1/txs/:hash) the most literal one names the path. */
  literal: number;
  methods: Set<string>;
}

function patternOf(url: string): RegExp {
  const src = url
    .split('/')
    .map((seg) => {
      if (seg === '*') return '.*';
      if (seg.startsWith(':')) return '[^/]+';
      return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${src}$`);
}

export class RouteTable {
  private readonly byUrl = new Map<string, RouteEntry>();

  add(method: string, url: string): void {
    let e = this.byUrl.get(url);
    const literal = url.split('/').filter((seg) => seg !== '' && !seg.startsWith(':') && seg !== '*').length;
    if (!e) this.byUrl.set(url, (e = { re: patternOf(url), literal, methods: new Set() }));
    e.methods.add(method.toUpperCase());
  }

  urls(): IterableIterator<string> {
    return this.byUrl.keys();
  }

  /** Methods declared for any route matching this path (empty: no such path). */
  allowed(path: string): string[] {
    const matches = [...this.byUrl.values()].filter((e) => e.re.test(path));
    const best = Math.max(...matches.map((e) => e.literal));
    const out = new Set<string>();
    for (const e of matches) if (e.literal === best) for (const m of e.methods) out.add(m);
    if (out.has('GET')) out.add('HEAD');
    return [...out].sort();
  }
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

// ---------------------------------------------------------------------------------------------
// Installation

export interface ContractOptions {
  codes: ContractCodes;
  /** Error responses (status -> schema with description) every documented route gets where it names none. */
  errorResponses: (route: RouteOptions) => Record<string, unknown>;
  /** Success responses for a route that documents none (OpenAPI must name every status). */
  successResponses?: (route: RouteOptions) => Record<string, unknown> | undefined;
  /** Routes left as they are (no closed query, no added responses): swagger UI assets and the like. */
  exempt?: (route: RouteOptions) => boolean;
  /** More OpenAPI for a documented route (e.g. its `security`), merged where the route says nothing. */
  extraSchema?: (route: RouteOptions) => Record<string, unknown> | undefined;
}

const kNoQuery = Object.freeze({ type: 'object', properties: {}, additionalProperties: false });

function isHidden(route: RouteOptions): boolean {
  const s = route.schema as { hide?: boolean } | undefined;
  return s?.hide === true;
}

/**
 * Installs the contract on `app`: call it first, before any route, plugin or swagger is
 * registered (its onRoute hook must see the schemas before swagger copies them).
 */
export function installContract(app: FastifyInstance, opts: ContractOptions): { routes: RouteTable } {
  const { codes } = opts;
  const routes = new RouteTable();
  const validators = new Map<string, { params?: PartValidator; querystring?: PartValidator; body?: PartValidator }>();

  // Body, query and path are validated by the preValidation hook below (all parts, all problems);
  // headers keep fastify's check, without coercion.
  app.setValidatorCompiler(({ schema, httpPart }) => {
    if (httpPart !== 'headers') return () => true;
    const v = ajvFirst.compile(schema as JsonSchema);
    return (data: unknown) => v(data) || { error: v.errors as unknown as Error };
  });

  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const m of methods) routes.add(m, route.url);
    if (opts.exempt?.(route)) return;
    const schema: Record<string, unknown> = { ...((route.schema as Record<string, unknown> | undefined) ?? {}) };
    const hidden = isHidden(route);
    for (const part of ['body', 'querystring', 'params'] as const) {
      if (schema[part] !== undefined) schema[part] = closeObjects(schema[part]);
    }
    if (schema['querystring'] === undefined && !hidden) schema['querystring'] = kNoQuery;
    if (!hidden) {
      const response = { ...((schema['response'] as Record<string, unknown> | undefined) ?? {}) };
      const has2xx = Object.keys(response).some((k) => /^2/.test(k));
      if (!has2xx) Object.assign(response, opts.successResponses?.(route) ?? {});
      for (const [status, body] of Object.entries(opts.errorResponses(route)))
        if (response[status] === undefined) response[status] = body;
      schema['response'] = response;
      for (const [k, val] of Object.entries(opts.extraSchema?.(route) ?? {}))
        if (schema[k] === undefined) schema[k] = val;
    }
    route.schema = schema;
    const v = {
      ...(schema['params'] !== undefined ? { params: compilePart(schema['params']) } : {}),
      ...(schema['querystring'] !== undefined ? { querystring: compilePart(schema['querystring']) } : {}),
      ...(schema['body'] !== undefined ? { body: compilePart(schema['body']) } : {}),
    };
    for (const m of methods) validators.set(`${m.toUpperCase()} ${route.url}`, v);
  });

  // A path that a literal route names (/v1/txs/batch) also matches a parameter route of another
  // method (GET /v1/txs/:hash): that method is not allowed on that path (405), whatever the router says.
  const shadowed = new Map<string, boolean>();
  const isShadowable = (url: string): boolean => {
    let v = shadowed.get(url);
    if (v === undefined) {
      const n = url.split('/').length;
      v =
        url.includes(':') &&
        [...routes.urls()].some(
          (other) => other !== url && other.split('/').length === n && patternOf(url).test(other),
        );
      shadowed.set(url, v);
    }
    return v;
  };

  app.addHook('preValidation', async (req, reply) => {
    const url = req.routeOptions.url ?? '';
    if (isShadowable(url)) {
      const allowed = routes.allowed(pathOf(req.url));
      if (allowed.length > 0 && !allowed.includes(req.method)) {
        void reply.header('allow', allowed.join(', '));
        throw new ConsortiaError(
          codes.methodNotAllowed,
          `${req.method} is not allowed on ${pathOf(req.url)}; allowed: ${allowed.join(', ')}`,
          { method: req.method, allowed },
        );
      }
    }
    const v = validators.get(`${req.method} ${url}`);
    if (!v) return;
    const problems: Problem[] = [];
    const check = (part: Part, pv: PartValidator | undefined, data: unknown): unknown => {
      if (!pv) return data;
      const value = part === 'body' ? data : strictStrings(pv.schema, data ?? {});
      if (pv.first(value)) return value;
      pv.all(value);
      for (const e of pv.all.errors ?? []) problems.push(problemOf(e, part));
      return value;
    };
    const params = check('params', v.params, req.params);
    const query = check('querystring', v.querystring, req.query);
    const body = check('body', v.body, req.body);
    if (problems.length > 0) throw validationError(codes.validation, problems);
    (req as { params: unknown }).params = params;
    (req as { query: unknown }).query = query;
    if (v.body) (req as { body: unknown }).body = body;
  });

  return { routes };
}

/** The 404 handler: 405 with Allow when the path exists under other methods. */
export function notFoundOrMethodNotAllowed(routes: RouteTable, codes: ContractCodes) {
  return (req: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const e = unroutedError(routes, codes, req);
    if (e.status === 405) void reply.header('allow', (e.body.error.details['allowed'] as string[]).join(', '));
    return reply.code(e.status).send(e.body);
  };
}

/** What a request that matched no route gets: 405 (+ allowed methods) when the path exists, else 404. */
function unroutedError(
  routes: RouteTable,
  codes: ContractCodes,
  req: FastifyRequest,
): { status: number; body: ErrorShape } {
  const path = pathOf(req.url);
  const allowed = routes.allowed(path);
  if (allowed.length > 0 && !allowed.includes(req.method)) {
    return {
      status: 405,
      body: errorShape(
        codes.methodNotAllowed,
        `${req.method} is not allowed on ${path}; allowed: ${allowed.join(', ')}`,
        { method: req.method, allowed },
      ),
    };
  }
  return { status: 404, body: errorShape(codes.notFound, `no route ${req.method} ${path}`) };
}

/**
 * For the error handler: a request that matched no route can still fail before the 404 handler
 * runs (e.g. fastify wants a Content-Type for a body method such as QUERY, or the body does not
 * parse); it is answered as unrouted (404 / 405 + Allow), not with that error. Null for a routed request,
 * and for a body over the limit (413 wherever it goes).
 */
export function unroutedReply(
  routes: RouteTable,
  codes: ContractCodes,
  req: FastifyRequest,
  reply: FastifyReply,
  err?: { code?: string },
): FastifyReply | null {
  // an oversized body is refused as such wherever it goes (the limit guards the server)
  if (!req.is404 || err?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return null;
  const e = unroutedError(routes, codes, req);
  if (e.status === 405) void reply.header('allow', (e.body.error.details['allowed'] as string[]).join(', '));
  return reply.code(e.status).send(e.body);
}

/** fastify `frameworkErrors`: errors raised before routing (undecodable URL, path parameter too long). */
export function frameworkErrorsHandler(codes: ContractCodes) {
  return (err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void => {
    if (err.code === 'FST_ERR_BAD_URL') {
      void reply.code(400).send(
        errorShape(codes.badUrl, 'the URL is not valid: a path segment cannot be percent-decoded', {
          fastifyCode: err.code,
        }),
      );
    } else if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
      void reply
        .code(414)
        .send(
          errorShape(codes.uriTooLong, 'a path parameter is longer than this API accepts', { fastifyCode: err.code }),
        );
    } else {
      void reply.code(500).send(errorShape(codes.internal, 'internal error', {}));
    }
  };
}

/**
 * fastify `clientErrorHandler`: what Node's HTTP parser refuses before fastify sees a request
 * (no hooks run: the answer is written to the socket, which is then closed).
 * Request line too long: 414; header block too long: 431; unknown method on a known path: 405
 * with Allow; a timeout: 408; anything else malformed: 400.
 */
export function clientErrorHandler(routes: RouteTable, codes: ContractCodes) {
  return function onClientError(err: Error & { code?: string; rawPacket?: unknown }, socket: Socket): void {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const raw = Buffer.isBuffer(err.rawPacket) ? err.rawPacket.toString('latin1') : '';
    const lineEnd = raw.indexOf('\r\n');
    let status: number;
    let body: ErrorShape;
    const extra: Record<string, string> = {};
    if (err.code === 'HPE_HEADER_OVERFLOW') {
      const limit = maxHeaderSize;
      // Node counts the request line and the headers together; a request line that is most of
      // the limit (or that the parser never saw the end of) is a URI that is too long.
      if (lineEnd < 0 || lineEnd >= limit / 2) {
        status = 414;
        body = errorShape(codes.uriTooLong, `the request line is longer than ${limit} bytes`, { limit, unit: 'bytes' });
      } else {
        status = 431;
        body = errorShape(codes.headersTooLarge, `the request headers are larger than ${limit} bytes`, {
          limit,
          unit: 'bytes',
        });
      }
    } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      status = 408;
      body = errorShape(codes.requestTimeout, 'the request was not received in time');
    } else if (
      err.code === 'HPE_INVALID_METHOD' &&
      /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ \/\S* HTTP\/1\.[01]$/.test(raw.slice(0, lineEnd < 0 ? undefined : lineEnd))
    ) {
      const [method, target] = raw.slice(0, lineEnd).split(' ') as [string, string];
      const allowed = routes.allowed(pathOf(target));
      if (allowed.length > 0) {
        status = 405;
        extra['allow'] = allowed.join(', ');
        body = errorShape(
          codes.methodNotAllowed,
          `${method} is not allowed on ${pathOf(target)}; allowed: ${allowed.join(', ')}`,
          { method, allowed },
        );
      } else {
        status = 404;
        body = errorShape(codes.notFound, `no route ${method} ${pathOf(target)}`);
      }
    } else {
      status = 400;
      body = errorShape(codes.badRequest, 'the request is not valid HTTP/1.1', {
        reason: String(err.code ?? 'unknown'),
      });
    }
    if (socket.writable) {
      const text = JSON.stringify(body);
      const headers = Object.entries({
        ...extra,
        'content-type': 'application/json; charset=utf-8',
        'content-length': String(Buffer.byteLength(text)),
        connection: 'close',
      })
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${headers}\r\n${text}`);
    }
    socket.destroy();
  };
}
