/** Node requests: desired state only; the reconciler provisions and reports status. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { keyRetiredError, memberAdminKeys, retiredKey } from '../domain/admin-keys.js';
import { ConsortiaError } from '../../lib/errors.js';
import { CpCodes } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { needsRegistration, pendingRegistration, verifyRegistrationSignature } from '../domain/node-registration.js';
import { chooseNodeKey } from '../domain/key-providers.js';
import { validateTier } from '../domain/tier.js';
import { actorOf } from '../domain/tokens.js';
import type { NodeRecord } from '../domain/types.js';
import { recordChange } from '../store/index.js';
import { isPlatform, principalOf, requireActingFor, requireRole, visibleConsortium } from './auth.js';
import type { ApiContext } from './context.js';
import { mutate } from './mutate.js';
import * as S from './schemas.js';

const NodeParams = Type.Object({ cid: Type.String(), nodeId: Type.String() });

export function nodeRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.post(
    '/v1/consortia/:cid/nodes',
    {
      schema: {
        tags: ['nodes'],
        summary: 'Request a node (202; provisioning is reported in status.phase)',
        params: Type.Object({ cid: Type.String() }),
        headers: S.IdempotencyHeaders,
        body: S.NodeCreate,
        response: { 202: S.Node, ...S.Errors },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const c = await visibleConsortium(ctx, p, req.params.cid);
      const { orgId, role } = req.body;
      requireActingFor(p, orgId, 'request nodes', 'org-operator');
      const clusterId = req.body.clusterId ?? 'local';
      const tier = req.body.tier ?? {};
      validateTier(role, tier);
      const keyRequest = req.body.key;
      // Checked before anything is written; the label default needs the node id, made below.
      if (keyRequest !== undefined) chooseNodeKey(keyRequest, role, 'id', ctx.keyProviders);
      const saved = await mutate(
        ctx,
        req,
        reply,
        202,
        async (repo) => {
          if (c.status === 'DELETING' || c.status === 'DELETED')
            throw new ConsortiaError(CpCodes.INVALID_STATE, `consortium ${c.id} is ${c.status}`);
          const m = await repo.members.get(c.id, orgId);
          if (!m || m.status !== 'ACTIVE')
            throw new ConsortiaError(CpCodes.NOT_A_MEMBER, `${orgId} is not a member of ${c.id}`);
          if (!(await repo.clusters.get(clusterId)))
            throw new ConsortiaError(CpCodes.VALIDATION_FAILED, `cluster ${clusterId} does not exist`, {
              field: 'clusterId',
            });
          const ceremony = await repo.ceremonies.get(c.id);
          const id = newId('node');
          // outside the genesis, a non-validator node joins only once its organization admits it on chain
          const admit = needsRegistration(role, ceremony);
          const n: NodeRecord = {
            id,
            consortiumId: c.id,
            orgId,
            role,
            clusterId,
            tier,
            resources: req.body.resources ?? { cpu: '500m', memory: '512Mi' },
            desired: 'present',
            mode: ceremony?.status === 'SEALED' && !admit ? 'run' : 'keygen',
            generation: 1,
            status: { phase: 'Pending', ready: false },
            ...(admit ? { registration: pendingRegistration(id) } : {}),
            ...(keyRequest !== undefined ? { key: chooseNodeKey(keyRequest, role, id, ctx.keyProviders) } : {}),
            createdAt: new Date(ctx.now()).toISOString(),
            version: 0,
          };
          const out = await repo.nodes.create(n);
          await recordChange(repo.uow, ctx.bus, ctx.now(), {
            actor: actorOf(p),
            type: 'node.requested',
            resource: `consortia/${c.id}/nodes/${n.id}`,
            orgIds: [orgId],
            data: out,
          });
          return out;
        },
        { idempotent: true },
      );
      ctx.kick('nodes');
      return saved;
    },
  );

  r.get(
    '/v1/consortia/:cid/nodes',
    {
      schema: {
        tags: ['nodes'],
        params: Type.Object({ cid: Type.String() }),
        querystring: S.PageQuery,
        response: { 200: S.PageOf(S.Node), ...S.Errors },
      },
    },
    async (req) => {
      const c = await visibleConsortium(ctx, principalOf(req), req.params.cid);
      return ctx.q.nodes(c.id, req.query);
    },
  );

  r.get(
    '/v1/consortia/:cid/nodes/:nodeId',
    {
      schema: { tags: ['nodes'], params: NodeParams, response: { 200: S.Node, ...S.Errors } },
    },
    async (req) => {
      const c = await visibleConsortium(ctx, principalOf(req), req.params.cid);
      const n = await ctx.q.node(c.id, req.params.nodeId);
      if (!n) throw new ConsortiaError(CpCodes.NOT_FOUND, `node ${req.params.nodeId} not found`);
      return n;
    },
  );

  r.post(
    '/v1/consortia/:cid/nodes/:nodeId/registration',
    {
      schema: {
        tags: ['nodes'],
        summary:
          'Admit a node outside the genesis on chain: a YES vote signed client-side by an admin key of its organization over governanceVotePayload(chainId, registration.proposalId, registration.actionHash, "YES")',
        params: NodeParams,
        body: S.ApprovalInput,
        response: { 200: S.Node, ...S.Errors },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const c = await visibleConsortium(ctx, p, req.params.cid);
      const { memberId, adminKey, signature } = req.body;
      requireActingFor(p, memberId, 'sign', 'org-admin');
      const saved = await mutate(ctx, req, reply, 200, async (repo) => {
        const n = await repo.nodes.get(c.id, req.params.nodeId);
        if (!n || n.desired === 'deleted')
          throw new ConsortiaError(CpCodes.NOT_FOUND, `node ${req.params.nodeId} not found`);
        if (n.orgId !== memberId)
          throw new ConsortiaError(CpCodes.FORBIDDEN, `node ${n.id} belongs to ${n.orgId}, not ${memberId}`);
        const org = await repo.orgs.get(memberId);
        const member = await repo.members.get(c.id, memberId);
        const retired = retiredKey(member, adminKey);
        if (retired) throw keyRetiredError(memberId, retired);
        verifyRegistrationSignature(c.chainId, n, memberAdminKeys(member, org), { adminKey, signature });
        const vote = { memberId, adminKey, vote: 'YES' as const, signature, at: new Date(ctx.now()).toISOString() };
        const out = await repo.nodes.put({ ...n, registration: { ...n.registration!, status: 'SIGNED', vote } });
        await recordChange(repo.uow, ctx.bus, ctx.now(), {
          actor: actorOf(p),
          type: 'node.registration_signed',
          resource: `consortia/${c.id}/nodes/${n.id}`,
          orgIds: [n.orgId],
          data: out,
        });
        return out;
      });
      ctx.kick('governance');
      return saved;
    },
  );

  r.delete(
    '/v1/consortia/:cid/nodes/:nodeId',
    {
      schema: {
        tags: ['nodes'],
        summary: 'Delete a node (202; phase Terminating -> Deleted)',
        params: NodeParams,
        response: { 202: S.Node, ...S.Errors },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const c = await visibleConsortium(ctx, p, req.params.cid);
      const saved = await mutate(ctx, req, reply, 202, async (repo) => {
        const n = await repo.nodes.get(c.id, req.params.nodeId);
        if (!n) throw new ConsortiaError(CpCodes.NOT_FOUND, `node ${req.params.nodeId} not found`);
        if (!isPlatform(p) && p.orgId !== n.orgId)
          throw new ConsortiaError(CpCodes.FORBIDDEN, `node ${n.id} belongs to ${n.orgId}`);
        requireRole(p, 'org-operator');
        if (n.desired === 'deleted') return n;
        const out = await repo.nodes.put({
          ...n,
          desired: 'deleted',
          status: { ...n.status, phase: 'Terminating', ready: false },
        });
        await recordChange(repo.uow, ctx.bus, ctx.now(), {
          actor: actorOf(p),
          type: 'node.deleting',
          resource: `consortia/${c.id}/nodes/${n.id}`,
          orgIds: [n.orgId],
          data: out,
        });
        return out;
      });
      ctx.kick('nodes');
      return saved;
    },
  );
}
