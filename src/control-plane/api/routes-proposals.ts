/** Proposals and signed votes (AWS Managed Blockchain-style voting policy). */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ConsortiaError } from '../../lib/errors.js';
import { checkEndorsement, checkNewAdminKeys, memberAdminKeys, requireCurrentAdminKey } from '../domain/admin-keys.js';
import { CpCodes } from '../domain/errors.js';
import { actionHashHex, verifyVoteSignature } from '../domain/governance.js';
import { newId } from '../domain/ids.js';
import { actorOf, type Principal } from '../domain/tokens.js';
import type { ApiAction, ChainActionJson, Consortium, Member, Proposal } from '../domain/types.js';
import { awaitsAcceptance, decide, isExpired } from '../domain/voting.js';
import { recordChange, repositories, type Repositories } from '../store/index.js';
import { principalOf, requireActingFor, requireMember, requireOrg, visibleConsortium } from './auth.js';
import type { ApiContext } from './context.js';
import { mutate } from './mutate.js';
import { resolveValidatorKeyRotation } from './validator-key.js';
import * as S from './schemas.js';

const PidParams = Type.Object({ cid: Type.String(), pid: Type.String() });

function invalid(msg: string, field = 'action'): ConsortiaError {
  return new ConsortiaError(CpCodes.INVALID_ACTION, msg, { field });
}

/** Recovery: the member whose keys are replaced without its endorsement does not vote (docs/trust-model.md). */
export function recoveredMemberOf(a: ChainActionJson): string | undefined {
  return a.type === 'replace_admin_keys' && a.endorsement === null ? a.memberId : undefined;
}

/** rotate_admin_keys / recover_admin_keys -> replace_admin_keys, checked as the chain will check it. */
async function resolveKeyReplacement(
  repo: Repositories,
  c: Consortium,
  a: Extract<ApiAction, { type: 'rotate_admin_keys' | 'recover_admin_keys' }>,
  proposer: string | null,
  members: Member[],
  open: Proposal[],
): Promise<ChainActionJson> {
  if (c.status !== 'ACTIVE')
    throw new ConsortiaError(
      CpCodes.INVALID_STATE,
      `consortium ${c.id} is ${c.status}: admin keys are replaced on its running chain; before the genesis is sealed, change the organization's keys (PATCH /v1/organizations/${a.memberId})`,
      { field: 'action.type' },
    );
  if (a.type === 'rotate_admin_keys' && proposer !== a.memberId)
    throw new ConsortiaError(
      CpCodes.FORBIDDEN,
      `only ${a.memberId} proposes the rotation of its own admin keys; the other members use recover_admin_keys`,
      { field: 'action.memberId', reason: 'organization' },
    );
  const m = await repo.members.get(c.id, a.memberId);
  if (!m || m.status !== 'ACTIVE') throw invalid(`${a.memberId} is not a member`, 'action.memberId');
  const org = await repo.orgs.get(a.memberId);
  const current = memberAdminKeys(m, org);
  const others = new Map<string, string>();
  for (const x of members) {
    if (x.memberId === a.memberId || x.status !== 'ACTIVE') continue;
    for (const k of memberAdminKeys(x, await repo.orgs.get(x.orgId))) others.set(k, x.memberId);
  }
  checkNewAdminKeys(a.memberId, m, current, a.newAdminKeys, others);
  if (a.type === 'rotate_admin_keys')
    checkEndorsement(c.chainId, a.memberId, m, current, a.newAdminKeys, a.endorsement);
  else if (members.filter((x) => x.status === 'ACTIVE' && x.memberId !== a.memberId).length === 0)
    throw invalid(`${a.memberId} is the only member: nobody else can vote on recovering its keys`, 'action.memberId');
  // A second replacement would be signed against keys the first one retires: one at a time.
  const pending = open.find(
    (x) => x.chainAction.type === 'replace_admin_keys' && x.chainAction.memberId === a.memberId,
  );
  if (pending)
    throw new ConsortiaError(
      CpCodes.INVALID_STATE,
      `proposal ${pending.id} already replaces the admin keys of ${a.memberId} (${pending.status})`,
      { field: 'action.memberId', proposalId: pending.id },
    );
  return {
    type: 'replace_admin_keys',
    memberId: a.memberId,
    newAdminKeys: [...a.newAdminKeys],
    endorsement: a.type === 'rotate_admin_keys' ? { ...a.endorsement } : null,
  };
}

/** Resolves the API action into the chain action it will execute (snapshotting keys/identities now). */
async function resolveAction(
  repo: Repositories,
  c: Consortium,
  a: ApiAction,
  proposer: string | null,
  members: Member[],
  proposals: Proposal[],
): Promise<ChainActionJson> {
  switch (a.type) {
    case 'rotate_admin_keys':
    case 'recover_admin_keys': {
      const open = proposals.filter((x) => x.status === 'IN_PROGRESS' || x.status === 'APPROVED');
      return resolveKeyReplacement(repo, c, a, proposer, members, open);
    }
    case 'invite_member': {
      const org = await repo.orgs.get(a.orgId);
      if (!org) throw invalid(`organization ${a.orgId} does not exist`, 'action.orgId');
      const m = await repo.members.get(c.id, a.orgId);
      if (m?.status === 'ACTIVE') throw invalid(`${a.orgId} is already a member`, 'action.orgId');
      return { type: 'add_member', memberId: org.id, name: org.name, adminKeys: [...org.adminPublicKeys] };
    }
    case 'remove_member': {
      const m = await repo.members.get(c.id, a.memberId);
      if (!m || m.status !== 'ACTIVE') throw invalid(`${a.memberId} is not a member`, 'action.memberId');
      return { type: 'remove_member', memberId: a.memberId };
    }
    case 'add_validator':
    case 'remove_validator': {
      const n = await repo.nodes.get(c.id, a.nodeId);
      if (!n || n.desired === 'deleted')
        throw invalid(`node ${a.nodeId} not found in this consortium`, 'action.nodeId');
      if (n.role !== 'validator') throw invalid(`node ${a.nodeId} has role ${n.role}, not validator`, 'action.nodeId');
      const id = n.status.identity;
      if (!id?.verified) throw invalid(`node ${a.nodeId} has not reported a verified identity yet`, 'action.nodeId');
      return a.type === 'add_validator'
        ? {
            type: 'add_validator',
            memberId: n.orgId,
            publicKey: id.publicKey,
            power: 1,
            proofOfPossession: id.proofOfPossession,
          }
        : { type: 'remove_validator', publicKey: id.publicKey };
    }
    case 'change_params':
      return { type: 'change_params', params: a.params };
    case 'rotate_validator_key': // resolved before the transaction: it asks the node for its key
      throw new ConsortiaError(CpCodes.INTERNAL, 'rotate_validator_key is resolved by resolveValidatorKeyRotation');
  }
}

export function proposalView(c: Consortium, p: Proposal) {
  return { ...p, chainId: c.chainId };
}

/** Persists EXPIRED for a proposal past its deadline; returns the fresh record. */
export async function expireIfDue(ctx: ApiContext, cid: string, pid: string): Promise<Proposal | undefined> {
  return ctx.store.transact(async (uow) => {
    const repo = repositories(uow);
    const p = await repo.proposals.get(cid, pid);
    if (!p || !isExpired(p, ctx.now())) return p;
    const saved = await repo.proposals.put({ ...p, status: 'EXPIRED', decidedAt: new Date(ctx.now()).toISOString() });
    await recordChange(uow, ctx.bus, ctx.now(), {
      actor: 'control-plane',
      type: 'proposal.expired',
      resource: `consortia/${cid}/proposals/${pid}`,
      orgIds: p.eligibleMemberIds,
      data: saved,
    });
    return saved;
  });
}

export function proposalRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const iso = () => new Date(ctx.now()).toISOString();

  r.post(
    '/v1/consortia/:cid/proposals',
    {
      schema: {
        tags: ['proposals'],
        summary: 'Propose a governance action (org-admin of a member)',
        params: Type.Object({ cid: Type.String() }),
        headers: S.IdempotencyHeaders,
        body: S.ProposalCreate,
        response: { 201: S.Proposal, ...S.Errors },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const c = await visibleConsortium(ctx, p, req.params.cid);
      await requireMember(ctx, p, c.id, 'org-admin');
      const action = req.body.action as ApiAction;
      const rotation =
        action.type === 'rotate_validator_key' ? await resolveValidatorKeyRotation(ctx, c, action, p.orgId) : undefined;
      const saved = await mutate(
        ctx,
        req,
        reply,
        201,
        async (repo) => {
          const members = await ctx.q.members(c.id);
          const chainAction =
            rotation ??
            (await resolveAction(
              repo,
              c,
              req.body.action as ApiAction,
              p.orgId,
              members,
              await ctx.q.allProposals(c.id),
            ));
          const recovered = recoveredMemberOf(chainAction);
          const eligible = members
            .filter((m) => m.status === 'ACTIVE' && m.memberId !== recovered)
            .map((m) => m.memberId);
          const now = ctx.now();
          const id = newId('prop');
          const outcome = decide(c.votingPolicy, 0, 0, eligible.length);
          const prop: Proposal = {
            id,
            consortiumId: c.id,
            action: req.body.action as ApiAction,
            chainAction,
            actionHash: actionHashHex(chainAction),
            status: outcome,
            proposedBy: p.orgId,
            eligibleMemberIds: eligible,
            votes: [],
            yesVotes: 0,
            noVotes: 0,
            createdAt: new Date(now).toISOString(),
            expiresAt: new Date(now + c.votingPolicy.proposalDurationSeconds * 1000).toISOString(),
            ...(outcome !== 'IN_PROGRESS' ? { decidedAt: new Date(now).toISOString() } : {}),
            ...(chainAction.type === 'add_member' ? { invitation: { status: 'PENDING' as const } } : {}),
            version: 0,
          };
          const out = await repo.proposals.create(prop);
          await recordChange(repo.uow, ctx.bus, now, {
            actor: actorOf(p),
            type: 'proposal.created',
            resource: `consortia/${c.id}/proposals/${id}`,
            orgIds: eligible,
            data: out,
          });
          return out;
        },
        { idempotent: true },
      );
      if (saved.status === 'APPROVED') ctx.kick('governance');
      return proposalView(c, saved);
    },
  );

  r.get(
    '/v1/consortia/:cid/proposals',
    {
      schema: {
        tags: ['proposals'],
        params: Type.Object({ cid: Type.String() }),
        querystring: S.PageQuery,
        response: { 200: S.PageOf(S.Proposal), ...S.Errors },
      },
    },
    async (req) => {
      const c = await visibleConsortium(ctx, principalOf(req), req.params.cid);
      const page = await ctx.q.proposals(c.id, req.query);
      const items = [];
      for (const x of page.items)
        items.push(proposalView(c, isExpired(x, ctx.now()) ? (await expireIfDue(ctx, c.id, x.id))! : x));
      return { items, nextCursor: page.nextCursor };
    },
  );

  r.get(
    '/v1/consortia/:cid/proposals/:pid',
    {
      schema: { tags: ['proposals'], params: PidParams, response: { 200: S.Proposal, ...S.Errors } },
    },
    async (req) => {
      const c = await visibleConsortium(ctx, principalOf(req), req.params.cid);
      const prop = await expireIfDue(ctx, c.id, req.params.pid);
      if (!prop) throw new ConsortiaError(CpCodes.NOT_FOUND, `proposal ${req.params.pid} not found`);
      return proposalView(c, prop);
    },
  );

  r.post(
    '/v1/consortia/:cid/proposals/:pid/votes',
    {
      schema: {
        tags: ['proposals'],
        summary:
          'Cast a vote signed with the member admin key over governanceVotePayload(chainId, proposalId, actionHash, vote)',
        params: PidParams,
        body: S.VoteInput,
        response: { 200: S.Proposal, ...S.Errors },
      },
    },
    async (req, reply) => {
      const p: Principal = principalOf(req);
      const c = await visibleConsortium(ctx, p, req.params.cid);
      const { memberId, vote, adminKey, signature } = req.body;
      requireActingFor(p, memberId, 'vote', 'org-admin');
      const expired = await expireIfDue(ctx, c.id, req.params.pid);
      if (!expired) throw new ConsortiaError(CpCodes.NOT_FOUND, `proposal ${req.params.pid} not found`);
      const saved = await mutate(ctx, req, reply, 200, async (repo) => {
        const prop = await repo.proposals.get(c.id, req.params.pid);
        if (!prop) throw new ConsortiaError(CpCodes.NOT_FOUND, `proposal ${req.params.pid} not found`);
        if (!prop.eligibleMemberIds.includes(memberId))
          throw new ConsortiaError(
            CpCodes.NOT_A_MEMBER,
            recoveredMemberOf(prop.chainAction) === memberId
              ? `${memberId} does not vote on the recovery of its own admin keys: the other members decide`
              : `${memberId} is not a voting member of this proposal`,
          );
        requireCurrentAdminKey(
          memberId,
          await repo.members.get(c.id, memberId),
          await repo.orgs.get(memberId),
          adminKey,
        );
        verifyVoteSignature(c.chainId, prop.id, prop.actionHash, { adminKey, vote, signature });
        // A replayed vote is named as such even once the proposal is decided.
        if (prop.votes.some((v) => v.memberId === memberId))
          throw new ConsortiaError(CpCodes.ALREADY_VOTED, `${memberId} already voted on ${prop.id}`, {
            status: prop.status,
          });
        // Decided by the policy (e.g. REJECTED once enough NO votes make approval impossible) or expired:
        // the error names the proposal's status and tally so the voter sees the outcome.
        if (prop.status !== 'IN_PROGRESS' || isExpired(prop, ctx.now())) {
          const status = isExpired(prop, ctx.now()) ? 'EXPIRED' : prop.status;
          throw new ConsortiaError(
            CpCodes.PROPOSAL_CLOSED,
            `proposal ${prop.id} is already ${status}; votes are no longer accepted`,
            {
              status,
              yesVotes: prop.yesVotes,
              noVotes: prop.noVotes,
              eligibleMembers: prop.eligibleMemberIds.length,
              ...(prop.decidedAt ? { decidedAt: prop.decidedAt } : {}),
            },
          );
        }
        const votes = [...prop.votes, { memberId, adminKey, vote, signature, at: iso() }];
        const yes = votes.filter((v) => v.vote === 'YES').length;
        const no = votes.length - yes;
        const outcome = decide(c.votingPolicy, yes, no, prop.eligibleMemberIds.length);
        const next: Proposal = {
          ...prop,
          votes,
          yesVotes: yes,
          noVotes: no,
          status: outcome,
          ...(outcome !== 'IN_PROGRESS' ? { decidedAt: iso() } : {}),
        };
        const out = await repo.proposals.put(next);
        await recordChange(repo.uow, ctx.bus, ctx.now(), {
          actor: actorOf(p),
          type: outcome === 'IN_PROGRESS' ? 'proposal.voted' : `proposal.${outcome.toLowerCase()}`,
          resource: `consortia/${c.id}/proposals/${prop.id}`,
          orgIds: prop.eligibleMemberIds,
          data: out,
          details: { memberId, vote },
        });
        return out;
      });
      if (saved.status === 'APPROVED') ctx.kick('governance');
      return proposalView(c, saved);
    },
  );

  r.get(
    '/v1/organizations/:orgId/invitations',
    {
      schema: {
        tags: ['proposals'],
        summary:
          'Open invitations of an organization: invite_member proposals naming it that it has not answered and that have not expired',
        params: Type.Object({ orgId: Type.String() }),
        response: { 200: S.PageOf(S.Proposal), ...S.Errors },
      },
    },
    async (req) => {
      requireOrg(principalOf(req), req.params.orgId, 'org-viewer');
      const items = [];
      for (const c of await ctx.q.allConsortia()) {
        for (const x of await ctx.q.allProposals(c.id)) {
          const open = (x.status === 'IN_PROGRESS' || awaitsAcceptance(x)) && !isExpired(x, ctx.now());
          if (
            open &&
            x.action.type === 'invite_member' &&
            x.action.orgId === req.params.orgId &&
            x.invitation?.status === 'PENDING'
          )
            items.push(proposalView(c, x));
        }
      }
      return { items, nextCursor: null };
    },
  );

  r.post(
    '/v1/consortia/:cid/proposals/:pid/invitation',
    {
      schema: {
        tags: ['proposals'],
        summary:
          'The invited organization accepts (YES) or declines (NO) an invite_member proposal, signed with one of its admin keys over governanceVotePayload(chainId, proposalId, actionHash, vote). It becomes a member once the proposal is approved AND accepted; a decline rejects the proposal.',
        params: PidParams,
        body: S.InvitationAnswerInput,
        response: { 200: S.Proposal, ...S.Errors },
      },
    },
    async (req, reply) => {
      const p: Principal = principalOf(req);
      const c = await visibleConsortium(ctx, p, req.params.cid);
      const { orgId, vote, adminKey, signature } = req.body;
      requireActingFor(p, orgId, 'answer an invitation', 'org-admin');
      const expired = await expireIfDue(ctx, c.id, req.params.pid);
      if (!expired) throw new ConsortiaError(CpCodes.NOT_FOUND, `proposal ${req.params.pid} not found`);
      const saved = await mutate(ctx, req, reply, 200, async (repo) => {
        const prop = await repo.proposals.get(c.id, req.params.pid);
        if (!prop) throw new ConsortiaError(CpCodes.NOT_FOUND, `proposal ${req.params.pid} not found`);
        if (prop.action.type !== 'invite_member' || prop.action.orgId !== orgId || !prop.invitation) {
          throw new ConsortiaError(CpCodes.INVALID_STATE, `proposal ${prop.id} is not an invitation of ${orgId}`, {
            field: 'orgId',
          });
        }
        const org = await repo.orgs.get(orgId);
        if (!org || !org.adminPublicKeys.includes(adminKey)) {
          throw new ConsortiaError(CpCodes.INVALID_SIGNATURE, `adminKey is not an admin key of ${orgId}`, {
            field: 'adminKey',
          });
        }
        verifyVoteSignature(c.chainId, prop.id, prop.actionHash, { adminKey, vote, signature });
        const open = (prop.status === 'IN_PROGRESS' || awaitsAcceptance(prop)) && !isExpired(prop, ctx.now());
        if (prop.invitation.status !== 'PENDING' || !open) {
          const status = isExpired(prop, ctx.now()) ? 'EXPIRED' : prop.status;
          throw new ConsortiaError(
            CpCodes.PROPOSAL_CLOSED,
            `invitation ${prop.id} is already answered or closed (${prop.invitation.status}, proposal ${status})`,
            {
              status,
              invitation: prop.invitation.status,
            },
          );
        }
        const at = iso();
        const invitation = {
          status: vote === 'YES' ? ('ACCEPTED' as const) : ('DECLINED' as const),
          adminKey,
          signature,
          at,
        };
        // Declining ends the proposal: there is nothing left to vote on.
        const next: Proposal = {
          ...prop,
          invitation,
          ...(vote === 'NO' ? { status: 'REJECTED' as const, decidedAt: prop.decidedAt ?? at } : {}),
        };
        const out = await repo.proposals.put(next);
        await recordChange(repo.uow, ctx.bus, ctx.now(), {
          actor: actorOf(p),
          type: `proposal.invitation_${invitation.status.toLowerCase()}`,
          resource: `consortia/${c.id}/proposals/${prop.id}`,
          orgIds: [...new Set([...prop.eligibleMemberIds, orgId])],
          data: out,
          details: { orgId },
        });
        return out;
      });
      if (saved.status === 'APPROVED') ctx.kick('governance');
      return proposalView(c, saved);
    },
  );
}
