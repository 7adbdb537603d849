/**
 * Runs one request's writes as one atomic batch, with Idempotency-Key support on creates:
 * the stored response is written in the SAME batch as the resource, so a retry either
 * finds it (same body -> same response) or the create never happened. A different body
 * under the same key -> 422 IDEMPOTENCY_KEY_REUSED. Secrets (`token`) are not stored.
 */
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ConsortiaError } from '../../lib/errors.js';
import { CpCodes } from '../domain/errors.js';
import { canonicalJson } from '../domain/transcript.js';
import { K, repositories, type Repositories } from '../store/index.js';
import { principalOf } from './auth.js';
import type { ApiContext } from './context.js';

interface IdemRecord {
  version: number;
  bodyHash: string;
  status: number;
  response: unknown;
}

const SECRET_FIELDS = ['token', 'secret'];

export async function mutate<T>(
  ctx: ApiContext,
  req: FastifyRequest,
  reply: FastifyReply,
  status: number,
  fn: (r: Repositories) => Promise<T>,
  opts: { idempotent?: boolean } = {},
): Promise<T> {
  const key = opts.idempotent ? req.headers['idempotency-key'] : undefined;
  if (typeof key !== 'string' || key === '') {
    const out = await ctx.store.transact((uow) => fn(repositories(uow)));
    void reply.code(status);
    return out;
  }
  const p = principalOf(req);
  const scope = p.orgId ?? 'platform';
  const bodyHash = createHash('sha256')
    .update(
      canonicalJson({ method: req.method, route: req.routeOptions.url, params: req.params, body: req.body ?? null }),
    )
    .digest('hex');
  const result = await ctx.store.transact(async (uow) => {
    const prior = await uow.get<IdemRecord>(K.idempotency(scope, key));
    if (prior) {
      if (prior.bodyHash !== bodyHash) {
        throw new ConsortiaError(
          CpCodes.IDEMPOTENCY_KEY_REUSED,
          'Idempotency-Key was already used with a different request',
          { idempotencyKey: key },
        );
      }
      return { status: prior.status, body: prior.response as T, replay: true };
    }
    const body = await fn(repositories(uow));
    const stored = redact(body);
    await uow.create<IdemRecord>(K.idempotency(scope, key), { version: 0, bodyHash, status, response: stored });
    return { status, body, replay: false };
  });
  void reply.code(result.status);
  if (result.replay) void reply.header('idempotent-replay', 'true');
  return result.body;
}

function redact<T>(body: T): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return body;
  const copy: Record<string, unknown> = { ...(body as Record<string, unknown>) };
  for (const f of SECRET_FIELDS) delete copy[f];
  return copy;
}
