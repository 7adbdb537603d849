import type { StateLookup } from '../backend.js';
import type { NodeApiContext, NodeApp } from '../context.js';
import { NodeApiCodes } from '../errors.js';
import { hex, parseHex, toJsonValue } from '../json.js';
import { AssetParam, AtHeightQuery, HashParam, PublicKeyParam, notFound, requireGenesis, supported } from './common.js';

function renderLookup(r: StateLookup, field: string): Record<string, unknown> {
  return { height: r.height, stateRoot: hex(r.stateRoot), [field]: toJsonValue(r.value), proof: toJsonValue(r.proof) };
}

/** Account, asset and anchor state, each with Merkle proofs against the state root at `height`. */
export function registerStateRoutes(app: NodeApp, ctx: NodeApiContext): void {
  const { backend } = ctx;
  const pre = requireGenesis(backend);

  app.get(
    '/v1/accounts/:publicKey',
    { preHandler: pre, schema: { params: PublicKeyParam, querystring: AtHeightQuery } },
    async (req) => {
      const pk = parseHex(req.params.publicKey, 'publicKey', NodeApiCodes.INVALID_REQUEST, 32);
      const at = req.query.height;
      const r =
        at === undefined
          ? await backend.getAccount(pk)
          : await supported(backend.getAccountAt, 'state at a past height').call(backend, pk, at);
      if (!r.account) throw notFound(`account ${hex(pk)}`);
      return {
        height: r.height,
        stateRoot: hex(r.stateRoot),
        account: toJsonValue(r.account),
        balances: r.balances.map((b) => ({ asset: b.asset, amount: b.amount.toString(10) })),
        proof: toJsonValue(r.proofs),
      };
    },
  );

  app.get('/v1/assets/:id', { preHandler: pre, schema: { params: AssetParam } }, async (req) => {
    const r = await backend.getAsset(req.params.id);
    if (!r.value) throw notFound(`asset ${req.params.id}`);
    return renderLookup(r, 'asset');
  });

  app.get('/v1/anchors/:hash', { preHandler: pre, schema: { params: HashParam } }, async (req) => {
    const h = parseHex(req.params.hash, 'hash', NodeApiCodes.INVALID_REQUEST, 32);
    const r = await backend.getAnchor(h);
    if (!r.value) throw notFound(`anchor ${hex(h)}`);
    return renderLookup(r, 'anchor');
  });
}
