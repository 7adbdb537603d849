import { Type } from 'typebox';
import type { NodeApiContext, NodeApp } from '../context.js';
import { NodeApiCodes } from '../errors.js';
import { hex, parseHex, toJsonValue } from '../json.js';
import { HeightParam, PublicKeyParam, notFound, requireGenesis, supported } from './common.js';

const RangeQuery = Type.Object({ from: Type.Integer({ minimum: 1 }), count: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })) });
const TxsQuery = Type.Object({
  fromHeight: Type.Optional(Type.Integer({ minimum: 1 })),
  fromIndex: Type.Optional(Type.Integer({ minimum: 0, maximum: 999_999, description: 'position in block fromHeight to start at (paging inside a block)' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
});

/**
 * Tiered-storage routes (issue 5): header ranges and epoch records for light clients, an
 * account's txs with inclusion proofs, and the state snapshot a joining ordinary node starts from.
 * Bytes travel as canonical encodings in hex, so the client verifies exactly what was signed.
 */
export function registerTierRoutes(app: NodeApp, ctx: NodeApiContext): void {
  const { backend } = ctx;
  const pre = requireGenesis(backend);

  app.get('/v1/headers', { preHandler: pre, schema: { querystring: RangeQuery } }, async (req) => {
    const list = await supported(backend.getHeaders, 'header ranges').call(backend, req.query.from, req.query.count ?? 100);
    return { headers: list.map((h) => ({ height: h.height, header: hex(h.header), commit: hex(h.commit) })) };
  });

  app.get('/v1/epochs/:height', { preHandler: pre, schema: { params: HeightParam } }, async (req) => {
    const e = await supported(backend.getEpoch, 'epoch records').call(backend, req.params.height);
    if (e === null) throw notFound(`validator-set change at height ${req.params.height}`);
    return e;
  });

  app.get('/v1/accounts/:publicKey/txs', { preHandler: pre, schema: { params: PublicKeyParam, querystring: TxsQuery } }, async (req) => {
    const pk = parseHex(req.params.publicKey, 'publicKey', NodeApiCodes.INVALID_REQUEST, 32);
    const limit = req.query.limit ?? 200;
    const r = await supported(backend.getAccountTxs, 'account tx index').call(backend, pk, req.query.fromHeight ?? 1, limit, req.query.fromIndex ?? 0);
    const last = r.txs[r.txs.length - 1];
    return {
      lowestHeight: r.lowestHeight,
      txs: r.txs.map((t) => ({ hash: hex(t.hash), height: t.height, index: t.index, code: t.code, tx: hex(t.tx), proof: toJsonValue(t.proof) })),
      // a full page may have more behind it, even within one block: where the next page starts
      next: r.txs.length >= limit && last ? { fromHeight: last.height, fromIndex: last.index + 1 } : null,
    };
  });

  app.get('/v1/snapshot', { preHandler: pre }, async () => {
    const s = await supported(backend.getSnapshot, 'state snapshots').call(backend);
    return { height: s.height, block: hex(s.block), commit: hex(s.commit), epochs: s.epochs, entries: s.entries.map(([k, v]) => [k, hex(v)]) };
  });
}
