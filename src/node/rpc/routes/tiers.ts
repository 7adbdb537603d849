import { Type } from 'typebox';
import { ConsortiaError } from '../../../lib/errors.js';
import type { TxLookup } from '../backend.js';
import type { NodeApiContext, NodeApp } from '../context.js';
import { NodeApiCodes } from '../errors.js';
import { hex, parseHex, toJsonValue } from '../json.js';
import { ACCOUNT_TXS_PER_PAGE_MAX, HEADERS_PER_PAGE_MAX, SNAPSHOTS_IN_FLIGHT_MAX } from '../limits.js';
import { jsonListStream } from '../stream.js';
import { HeightParam, PublicKeyParam, notFound, requireGenesis, supported } from './common.js';

const RangeQuery = Type.Object({
  from: Type.Integer({ minimum: 1 }),
  count: Type.Optional(Type.Integer({ minimum: 1, maximum: HEADERS_PER_PAGE_MAX })),
});
const TxsQuery = Type.Object({
  fromHeight: Type.Optional(Type.Integer({ minimum: 1 })),
  fromIndex: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 999_999,
      description: 'position in block fromHeight to start at (paging inside a block)',
    }),
  ),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: ACCOUNT_TXS_PER_PAGE_MAX })),
});

function renderAccountTx(t: TxLookup): unknown {
  return {
    hash: hex(t.hash),
    height: t.height,
    index: t.index,
    code: t.code,
    tx: hex(t.tx),
    proof: toJsonValue(t.proof),
  };
}

/**
 * Tiered-storage routes (docs/storage-tiers.md): header ranges and epoch records for light clients, an
 * account's txs with inclusion proofs, and the state snapshot a joining ordinary node starts from.
 * Bytes travel as canonical encodings in hex, so the client verifies exactly what was signed.
 */
export function registerTierRoutes(app: NodeApp, ctx: NodeApiContext): void {
  const { backend } = ctx;
  const pre = requireGenesis(backend);

  app.get('/v1/headers', { preHandler: pre, schema: { querystring: RangeQuery } }, async (req) => {
    const list = await supported(backend.getHeaders, 'header ranges').call(
      backend,
      req.query.from,
      req.query.count ?? 100,
    );
    return { headers: list.map((h) => ({ height: h.height, header: hex(h.header), commit: hex(h.commit) })) };
  });

  app.get('/v1/epochs/:height', { preHandler: pre, schema: { params: HeightParam } }, async (req) => {
    const e = await supported(backend.getEpoch, 'epoch records').call(backend, req.params.height);
    if (e === null) throw notFound(`validator-set change at height ${req.params.height}`);
    return e;
  });

  // A page of up to ACCOUNT_TXS_PER_PAGE_MAX txs of up to maxTxBytes each can be tens of MB of JSON:
  // rendered as a stream in slices, never in one call.
  app.get(
    '/v1/accounts/:publicKey/txs',
    { preHandler: pre, schema: { params: PublicKeyParam, querystring: TxsQuery } },
    async (req, reply) => {
      const pk = parseHex(req.params.publicKey, 'publicKey', NodeApiCodes.INVALID_REQUEST, 32);
      const limit = req.query.limit ?? 200;
      const r = await supported(backend.getAccountTxs, 'account tx index').call(
        backend,
        pk,
        req.query.fromHeight ?? 1,
        limit,
        req.query.fromIndex ?? 0,
      );
      const last = r.txs[r.txs.length - 1];
      // a full page may have more behind it, even within one block: where the next page starts
      const next = r.txs.length >= limit && last ? { fromHeight: last.height, fromIndex: last.index + 1 } : null;
      return reply
        .type('application/json; charset=utf-8')
        .send(jsonListStream({ lowestHeight: r.lowestHeight }, 'txs', r.txs, renderAccountTx, { next }));
    },
  );

  // The whole state: at most SNAPSHOTS_IN_FLIGHT_MAX at once (each holds a copy of it), rendered
  // as a stream in slices.
  let snapshotsInFlight = 0;
  app.get('/v1/snapshot', { preHandler: pre }, async (_req, reply) => {
    if (snapshotsInFlight >= SNAPSHOTS_IN_FLIGHT_MAX) {
      throw new ConsortiaError(
        NodeApiCodes.BUSY,
        `${SNAPSHOTS_IN_FLIGHT_MAX} snapshots are being served; retry shortly`,
        {
          limit: SNAPSHOTS_IN_FLIGHT_MAX,
          unit: 'snapshots in flight',
          retryAfterSeconds: 5,
        },
      );
    }
    snapshotsInFlight++;
    let released = false;
    const release = (): void => {
      if (!released) {
        released = true;
        snapshotsInFlight--;
      }
    };
    try {
      const s = await supported(backend.getSnapshot, 'state snapshots').call(backend);
      reply.raw.once('close', release);
      const head = { height: s.height, block: hex(s.block), commit: hex(s.commit), epochs: s.epochs };
      return reply
        .type('application/json; charset=utf-8')
        .send(jsonListStream(head, 'entries', s.entries, ([k, v]) => [k, hex(v)]));
    } catch (err) {
      release();
      throw err;
    }
  });
}
