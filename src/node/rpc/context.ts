import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Registry } from 'prom-client';
import type { NodeApiBackend } from './backend.js';

/** The fastify instance type of the node API (TypeBox-typed routes). */
export type NodeApp = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** Limits the API enforces itself (from NodeConfig). */
export interface NodeApiLimits {
  /** Largest encoded tx; a bigger tx gets 413 TX_TOO_LARGE. */
  maxTxBytes: number;
  /** Largest body of any request (the genesis; batches are capped lower by BATCH_BODY_BYTES_MAX); bigger gets 413. */
  bodyLimitBytes: number;
  /** Upper bound applied to ?timeoutMs of wait=commit. */
  maxWaitMs: number;
  sseKeepAliveMs: number;
  /** Per-client (IP) requests per window, 429 RATE_LIMITED beyond; max 0 disables. Defaults: limits.ts RATE_LIMIT_*_DEFAULT. */
  rateLimit?: { max: number; windowMs: number };
}

export interface NodeApiContext {
  backend: NodeApiBackend;
  registry: Registry;
  limits: NodeApiLimits;
}
