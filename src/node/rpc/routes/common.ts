import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { ConsortiaError } from '../../../lib/errors.js';
import type { NodeApiBackend } from '../backend.js';
import { NodeApiCodes } from '../errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Error code for a body over this route's limit (413): TX_TOO_LARGE on tx submission. */
    tooLargeCode?: string;
  }
}

export const HashParam = Type.Object({ hash: Type.String({ pattern: '^[0-9a-fA-F]{64}$' }) });
export const HeightParam = Type.Object({ height: Type.Integer({ minimum: 1 }) });
export const PublicKeyParam = Type.Object({ publicKey: Type.String({ pattern: '^[0-9a-fA-F]{64}$' }) });
export const AssetParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });

/** Chain-data routes answer 503 AWAITING_GENESIS until a sealed genesis is installed. */
export function requireGenesis(backend: NodeApiBackend) {
  return async (_req: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    if (!backend.status().genesisInstalled) {
      throw new ConsortiaError(NodeApiCodes.AWAITING_GENESIS, 'node is awaiting genesis (PUT /v1/genesis)');
    }
  };
}

export function notFound(what: string): ConsortiaError {
  return new ConsortiaError(NodeApiCodes.NOT_FOUND, `${what} not found`);
}

export const AtHeightQuery = Type.Object({ height: Type.Optional(Type.Integer({ minimum: 1 })) });

/** An optional backend capability, or 501 NOT_SUPPORTED (e.g. a light node has no snapshot to serve). */
export function supported<F>(fn: F | undefined, what: string): F {
  if (fn === undefined) throw new ConsortiaError(NodeApiCodes.NOT_SUPPORTED, `${what} is not supported by this node`);
  return fn;
}
