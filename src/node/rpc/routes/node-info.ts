import { genesisHash, sealedGenesisFromJSON, sealedGenesisToJSON } from '../../../chain/index.js';
import { ConsortiaError } from '../../../lib/errors.js';
import type { NodeApiContext, NodeApp } from '../context.js';
import { NodeApiCodes } from '../errors.js';
import { hex, toJsonValue } from '../json.js';
import { notFound } from './common.js';

/** Identity, status, genesis (read + the awaiting-genesis install), health, readiness, metrics. */
export function registerNodeInfoRoutes(app: NodeApp, ctx: NodeApiContext): void {
  const { backend, registry, limits } = ctx;

  app.get('/v1/identity', async () => {
    const id = backend.identity();
    return {
      publicKey: hex(id.publicKey),
      proofOfPossession: hex(id.proofOfPossession),
      role: id.role,
      chainId: id.chainId,
    };
  });

  app.get('/v1/status', async () => {
    const s = backend.status();
    return {
      chainId: s.chainId,
      role: s.role,
      nodeKey: hex(s.nodeKey),
      consensusKey: hex(s.consensusKey ?? s.nodeKey),
      genesisInstalled: s.genesisInstalled,
      height: s.height,
      latestBlockHash: s.latestBlockHash ? hex(s.latestBlockHash) : null,
      latestBlockTime: s.latestBlockTime,
      validators: toJsonValue(s.validators),
      peers: s.peers.map((p) => ({ publicKey: hex(p.publicKey), address: p.address })),
      syncing: s.syncing,
      lowestHeight: s.lowestHeight,
      mempool: s.mempool,
      ...(s.storage ? { storage: s.storage } : {}),
    };
  });

  app.get('/v1/genesis', async () => {
    const g = backend.genesis();
    if (!g) throw notFound('genesis (node is awaiting genesis)');
    return { genesisHash: hex(genesisHash(g.genesis)), ...(sealedGenesisToJSON(g) as Record<string, unknown>) };
  });

  // Sealed genesis JSON (sealedGenesisToJSON form, docs/protocol.md#genesis); verified by the node before use.
  // The only large body besides batches (up to api.bodyLimitBytes): once a genesis is installed it
  // is refused before the body is read, so a running node never parses (or verifies) one.
  app.put(
    '/v1/genesis',
    {
      bodyLimit: limits.bodyLimitBytes,
      onRequest: async () => {
        if (backend.status().genesisInstalled)
          throw new ConsortiaError(NodeApiCodes.GENESIS_ALREADY_SET, 'genesis already installed');
      },
    },
    async (req) => {
      const sealed = sealedGenesisFromJSON(req.body);
      await backend.installGenesis(sealed);
      return { status: 'installed', chainId: sealed.genesis.chainId, genesisHash: hex(genesisHash(sealed.genesis)) };
    },
  );

  app.get('/healthz', async (_req, reply) => {
    const h = backend.health();
    return reply
      .code(h.ok ? 200 : 503)
      .send({ status: h.ok ? 'ok' : 'unhealthy', ...(h.details ? { details: h.details } : {}) });
  });

  app.get('/readyz', async (_req, reply) => {
    const r = backend.readiness();
    return reply.code(r.ready ? 200 : 503).send({ ready: r.ready, ...(r.reason ? { reason: r.reason } : {}) });
  });

  app.get('/metrics', async (_req, reply) => {
    const body = await registry.metrics();
    return reply.header('content-type', registry.contentType).send(body);
  });
}
