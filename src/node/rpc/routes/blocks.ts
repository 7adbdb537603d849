import { blockHash, type Block, type BlockHeader, type CommitCertificate } from '../../../chain/index.js';
import type { NodeApiContext, NodeApp } from '../context.js';
import { hex, toJsonValue } from '../json.js';
import { HeightParam, notFound, requireGenesis } from './common.js';

export function renderHeader(h: BlockHeader): unknown {
  return toJsonValue(h);
}

export function renderBlock(b: Block): Record<string, unknown> {
  return {
    hash: hex(blockHash(b.header)),
    header: renderHeader(b.header),
    txs: b.txs.map(hex),
    evidence: toJsonValue(b.evidence),
    lastCommit: toJsonValue(b.lastCommit),
  };
}

export function renderCommit(c: CommitCertificate): unknown {
  return toJsonValue(c);
}

export function registerBlockRoutes(app: NodeApp, ctx: NodeApiContext): void {
  const { backend } = ctx;
  const pre = requireGenesis(backend);

  app.get('/v1/blocks/latest', { preHandler: pre }, async () => {
    const height = backend.latestHeight();
    const block = height > 0 ? await backend.getBlock(height) : null;
    if (!block) throw notFound('no block committed yet; latest block');
    return renderBlock(block);
  });

  app.get('/v1/blocks/:height', { preHandler: pre, schema: { params: HeightParam } }, async (req) => {
    const block = await backend.getBlock(req.params.height);
    if (!block) throw notFound(`block ${req.params.height}`);
    return renderBlock(block);
  });

  app.get('/v1/blocks/:height/header', { preHandler: pre, schema: { params: HeightParam } }, async (req) => {
    const header = await backend.getHeader(req.params.height);
    if (!header) throw notFound(`header ${req.params.height}`);
    return { hash: hex(blockHash(header)), header: renderHeader(header) };
  });

  app.get(
    '/v1/blocks/:height/results',
    {
      preHandler: pre,
      schema: {
        params: HeightParam,
        summary: "Each tx's hash and execution result in block order (no proofs: GET /v1/txs/{hash} proves one)",
      },
    },
    async (req) => {
      const results = backend.getBlockResults ? await backend.getBlockResults(req.params.height) : null;
      if (!results) throw notFound(`block ${req.params.height}`);
      return { height: req.params.height, results: results.map((r) => ({ hash: hex(r.hash), code: r.code })) };
    },
  );

  app.get('/v1/blocks/:height/commit', { preHandler: pre, schema: { params: HeightParam } }, async (req) => {
    const commit = await backend.getCommit(req.params.height);
    if (!commit) throw notFound(`commit ${req.params.height}`);
    return renderCommit(commit);
  });
}
