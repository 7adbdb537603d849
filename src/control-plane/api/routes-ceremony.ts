/** Key ceremony: start, watch, download genesis, approve (signed), transcript. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ConsortiaError } from '../../lib/errors.js';
import { CpCodes } from '../domain/errors.js';
import { sealedGenesisJson, verifyGenesisApproval } from '../domain/genesis.js';
import { actorOf } from '../domain/tokens.js';
import { appendEntry, GENESIS_PREV_HASH } from '../domain/transcript.js';
import type { Ceremony } from '../domain/types.js';
import { advanceCeremony, pendingApprovals, pendingNodes, sealCeremony } from '../reconciler/ceremony-driver.js';
import { recordChange } from '../store/index.js';
import { principalOf, requireActingFor, requireMember, visibleConsortium } from './auth.js';
import type { ApiContext } from './context.js';
import { mutate } from './mutate.js';
import * as S from './schemas.js';

const CidParams = Type.Object({ cid: Type.String() });

async function ceremonyView(ctx: ApiContext, c: Ceremony) {
  const nodes = await ctx.q.consortiumNodes(c.consortiumId);
  const verified = new Set(
    nodes.filter((n) => n.status.identity?.verified || n.desired === 'deleted').map((n) => n.id),
  );
  const { transcript: _t, genesis: _g, ...rest } = c;
  return {
    ...rest,
    pendingNodes: c.status === 'COLLECTING_KEYS' ? pendingNodes(c, verified) : [],
    pendingApprovals: pendingApprovals(c),
  };
}

export function ceremonyRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const deps = { store: ctx.store, bus: ctx.bus, now: ctx.now };

  async function load(cid: string): Promise<Ceremony> {
    const c = await ctx.q.ceremony(cid);
    if (!c) throw new ConsortiaError(CpCodes.NOT_FOUND, `no ceremony started for ${cid}`);
    return c;
  }

  r.post(
    '/v1/consortia/:cid/ceremony',
    {
      schema: {
        tags: ['ceremony'],
        summary: 'Start the genesis key ceremony (202); needs the validator nodes requested',
        params: CidParams,
        response: { 202: S.Ceremony, ...S.Errors },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const c = await visibleConsortium(ctx, p, req.params.cid);
      await requireMember(ctx, p, c.id, 'org-admin');
      const cer = await mutate(ctx, req, reply, 202, async (repo) => {
        const existing = await repo.ceremonies.get(c.id);
        if (existing) return existing; // starting twice is harmless
        const nodes = (await ctx.q.consortiumNodes(c.id)).filter((n) => n.desired === 'present');
        if (!nodes.some((n) => n.role === 'validator')) {
          throw new ConsortiaError(
            CpCodes.INVALID_STATE,
            'request the validator nodes (POST /v1/consortia/:cid/nodes) before starting the ceremony',
          );
        }
        const at = new Date(ctx.now()).toISOString();
        const members = (await ctx.q.members(c.id)).filter((m) => m.status === 'ACTIVE').map((m) => m.memberId);
        const transcript = appendEntry([], 'ceremony.started', at, {
          consortiumId: c.id,
          chainId: c.chainId,
          members,
          nodeIds: nodes.map((n) => n.id),
          by: actorOf(p),
        });
        const out = await repo.ceremonies.create({
          consortiumId: c.id,
          status: 'COLLECTING_KEYS',
          nodeIds: nodes.map((n) => n.id),
          approvals: [],
          transcript,
          startedAt: at,
          version: 0,
        });
        await recordChange(repo.uow, ctx.bus, ctx.now(), {
          actor: actorOf(p),
          type: 'ceremony.started',
          resource: `consortia/${c.id}/ceremony`,
          orgIds: members,
          data: { status: out.status },
        });
        return out;
      });
      const advanced = (await advanceCeremony(deps, c.id)) ?? cer;
      ctx.kick('ceremony');
      return ceremonyView(ctx, advanced);
    },
  );

  r.get(
    '/v1/consortia/:cid/ceremony',
    {
      schema: { tags: ['ceremony'], params: CidParams, response: { 200: S.Ceremony, ...S.Errors } },
    },
    async (req) => {
      const c = await visibleConsortium(ctx, principalOf(req), req.params.cid);
      return ceremonyView(ctx, await load(c.id));
    },
  );

  r.get(
    '/v1/consortia/:cid/ceremony/genesis',
    {
      schema: {
        tags: ['ceremony'],
        summary: 'Genesis with the approvals collected so far (sealed genesis JSON once SEALED)',
        params: CidParams,
        response: {
          200: Type.Object({ status: Type.String(), genesisHash: Type.String(), sealedGenesis: Type.Unknown() }),
          ...S.Errors,
        },
      },
    },
    async (req) => {
      const c = await visibleConsortium(ctx, principalOf(req), req.params.cid);
      const cer = await load(c.id);
      if (!cer.genesis || !cer.genesisHash)
        throw new ConsortiaError(CpCodes.INVALID_STATE, 'genesis is not assembled yet (waiting for node identities)');
      return { status: cer.status, genesisHash: cer.genesisHash, sealedGenesis: sealedGenesisJson(cer) };
    },
  );

  r.post(
    '/v1/consortia/:cid/ceremony/approvals',
    {
      schema: {
        tags: ['ceremony'],
        summary: 'Approve genesis: signature with tag consortia/genesis-approval/v1 over genesisHash',
        params: CidParams,
        body: S.ApprovalInput,
        response: { 200: S.Ceremony, ...S.Errors },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const c = await visibleConsortium(ctx, p, req.params.cid);
      const { memberId, adminKey, signature } = req.body;
      requireActingFor(p, memberId, 'approve', 'org-admin');
      const cer = await mutate(ctx, req, reply, 200, async (repo) => {
        const cur = await repo.ceremonies.get(c.id);
        if (!cur) throw new ConsortiaError(CpCodes.NOT_FOUND, `no ceremony started for ${c.id}`);
        if (cur.status !== 'AWAITING_APPROVALS' || !cur.genesis || !cur.genesisHash) {
          throw new ConsortiaError(CpCodes.INVALID_STATE, `ceremony is ${cur.status}, not AWAITING_APPROVALS`, {
            status: cur.status,
          });
        }
        verifyGenesisApproval(cur.genesis, cur.genesisHash, { memberId, adminKey, signature });
        if (cur.approvals.some((a) => a.memberId === memberId))
          throw new ConsortiaError(CpCodes.ALREADY_APPROVED, `${memberId} already approved`);
        const at = new Date(ctx.now()).toISOString();
        const next: Ceremony = {
          ...cur,
          approvals: [...cur.approvals, { memberId, adminKey, signature, at }],
          transcript: appendEntry(cur.transcript, 'approval.recorded', at, {
            memberId,
            adminKey,
            signature,
            genesisHash: cur.genesisHash,
          }),
        };
        await recordChange(repo.uow, ctx.bus, ctx.now(), {
          actor: actorOf(p),
          type: 'ceremony.approved',
          resource: `consortia/${c.id}/ceremony`,
          orgIds: cur.genesis.members.map((m) => m.memberId),
          data: { memberId },
        });
        if (pendingApprovals(next).length === 0) return sealCeremony(deps, repo, next);
        return repo.ceremonies.put(next);
      });
      if (cer.status === 'SEALED') ctx.kick('nodes');
      return ceremonyView(ctx, cer);
    },
  );

  r.get(
    '/v1/consortia/:cid/ceremony/transcript',
    {
      schema: {
        tags: ['ceremony'],
        summary: 'Hash-chained transcript (verify with verifyTranscript / `consortia ceremony verify`)',
        params: CidParams,
        response: { 200: S.Transcript, ...S.Errors },
      },
    },
    async (req) => {
      const c = await visibleConsortium(ctx, principalOf(req), req.params.cid);
      const cer = await load(c.id);
      return {
        consortiumId: c.id,
        head: cer.transcript[cer.transcript.length - 1]?.hash ?? GENESIS_PREV_HASH,
        entries: cer.transcript,
      };
    },
  );
}
