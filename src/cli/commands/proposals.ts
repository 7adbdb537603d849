import type { Command } from 'commander';
import { usage } from '../errors.js';
import type { CliIo } from '../io.js';
import { printObject, printTable } from '../output.js';
import { enc } from '../parse.js';
import { signVote } from '../signing.js';
import { action } from './action.js';

type Proposal = {
  id: string;
  status: string;
  action: Record<string, unknown>;
  actionHash: string;
  yesVotes?: number;
  noVotes?: number;
  expiresAt?: string;
  eligibleMemberIds?: string[];
  execution?: Record<string, unknown>;
  invitation?: { status: string };
};

export function registerProposals(program: Command, io: CliIo): void {
  const p = program.command('proposal').description('governance proposals of a consortium');
  p.command('create')
    .description('propose exactly one action')
    .argument('<consortiumId>')
    .option('--invite <orgId>', 'invite an organization as a member')
    .option('--remove-member <memberId>')
    .option('--add-validator <nodeId>', 'add a provisioned node to the validator set')
    .option('--remove-validator <nodeId>')
    .option('--change-params <json>', 'chain params to change, e.g. \'{"blockIntervalMs":500}\'')
    .action(
      action<Record<string, string | undefined>>(io, async (ctx, o, [cid]) => {
        const actions: Record<string, unknown>[] = [];
        if (o.invite) actions.push({ type: 'invite_member', orgId: o.invite });
        if (o.removeMember) actions.push({ type: 'remove_member', memberId: o.removeMember });
        if (o.addValidator) actions.push({ type: 'add_validator', nodeId: o.addValidator });
        if (o.removeValidator) actions.push({ type: 'remove_validator', nodeId: o.removeValidator });
        if (o.changeParams) {
          let params: unknown;
          try {
            params = JSON.parse(o.changeParams);
          } catch {
            throw usage(`--change-params must be a JSON object, got ${JSON.stringify(o.changeParams)}`);
          }
          if (typeof params !== 'object' || params === null || Array.isArray(params))
            throw usage('--change-params must be a JSON object');
          actions.push({ type: 'change_params', params });
        }
        if (actions.length !== 1)
          throw usage(
            'give exactly one of --invite, --remove-member, --add-validator, --remove-validator, --change-params',
          );
        const created = await ctx.api().post<Proposal>(`/v1/consortia/${enc(cid!)}/proposals`, { action: actions[0] });
        printObject(io, ctx.json, created, [
          ['id', (r) => r.id],
          ['status', (r) => r.status],
          ['action', (r) => r.action],
          ['actionHash', (r) => r.actionHash],
          ['expiresAt', (r) => r.expiresAt],
        ]);
      }),
    );
  p.command('list')
    .argument('<consortiumId>')
    .action(
      action(io, async (ctx, _o, [cid]) => {
        const rows = await ctx.api().list<Proposal>(`/v1/consortia/${enc(cid!)}/proposals`);
        printTable(io, ctx.json, rows, [
          ['ID', (r) => r.id],
          ['ACTION', (r) => r.action?.type],
          ['STATUS', (r) => r.status],
          ['YES', (r) => r.yesVotes],
          ['NO', (r) => r.noVotes],
          ['EXPIRES', (r) => r.expiresAt],
        ]);
      }),
    );
  p.command('show')
    .argument('<consortiumId>')
    .argument('<proposalId>')
    .action(
      action(io, async (ctx, _o, [cid, pid]) =>
        printObject(io, ctx.json, await ctx.api().get(`/v1/consortia/${enc(cid!)}/proposals/${enc(pid!)}`)),
      ),
    );

  program
    .command('vote')
    .description('sign a YES/NO vote with the local org admin key and submit it (the key never leaves this machine)')
    .argument('<consortiumId>')
    .argument('<proposalId>')
    .option('--yes', 'vote YES')
    .option('--no', 'vote NO')
    .option('--member <memberId>', 'voting member (default: configured org)')
    .option('--key-org <name>', 'local key name')
    .option('--key-file <path>', 'key file path')
    .action(
      action<{ yes?: boolean; no?: boolean; member?: string; keyOrg?: string; keyFile?: string }>(
        io,
        async (ctx, o, [cid, pid]) => {
          if (Boolean(o.yes) === Boolean(o.no)) throw usage('give exactly one of --yes or --no');
          const key = ctx.signingKey(o);
          const api = ctx.api();
          const consortium = await api.get<{ chainId: string }>(`/v1/consortia/${enc(cid!)}`);
          const proposal = await api.get<Proposal>(`/v1/consortia/${enc(cid!)}/proposals/${enc(pid!)}`);
          const body = await signVote(
            key,
            ctx.orgId(o.member),
            consortium.chainId,
            proposal.id,
            proposal.actionHash,
            o.yes ? 'YES' : 'NO',
          );
          const after = await api.post<Proposal>(`/v1/consortia/${enc(cid!)}/proposals/${enc(pid!)}/votes`, body);
          printObject(io, ctx.json, after, [
            ['proposal', (r) => r.id ?? pid],
            ['vote', () => body.vote],
            ['status', (r) => r.status],
            ['yes', (r) => r.yesVotes],
            ['no', (r) => r.noVotes],
          ]);
        },
      ),
    );

  const inv = program
    .command('invitation')
    .description(
      "an organization's invitations to join consortia: it becomes a member once the members approved AND it accepted",
    );
  inv
    .command('list')
    .description('open invitations of your organization (or --org)')
    .option('--org <orgId>', 'invited organization (default: configured org)')
    .action(
      action<{ org?: string }>(io, async (ctx, o) => {
        const rows = await ctx
          .api()
          .list<Proposal & { consortiumId: string }>(`/v1/organizations/${enc(ctx.orgId(o.org))}/invitations`);
        printTable(io, ctx.json, rows, [
          ['CONSORTIUM', (r) => r.consortiumId],
          ['PROPOSAL', (r) => r.id],
          ['STATUS', (r) => r.status],
          ['YES', (r) => r.yesVotes],
          ['EXPIRES', (r) => r.expiresAt],
        ]);
      }),
    );
  for (const [verb, vote] of [
    ['accept', 'YES'],
    ['decline', 'NO'],
  ] as const) {
    inv
      .command(verb)
      .description(`${verb} an invitation, signed with the local org admin key (the key never leaves this machine)`)
      .argument('<consortiumId>')
      .argument('<proposalId>')
      .option('--org <orgId>', 'invited organization (default: configured org)')
      .option('--key-org <name>', 'local key name')
      .option('--key-file <path>', 'key file path')
      .action(
        action<{ org?: string; keyOrg?: string; keyFile?: string }>(io, async (ctx, o, [cid, pid]) => {
          const key = ctx.signingKey(o);
          const api = ctx.api();
          const consortium = await api.get<{ chainId: string }>(`/v1/consortia/${enc(cid!)}`);
          const proposal = await api.get<Proposal>(`/v1/consortia/${enc(cid!)}/proposals/${enc(pid!)}`);
          const { memberId: orgId, ...signed } = await signVote(
            key,
            ctx.orgId(o.org),
            consortium.chainId,
            proposal.id,
            proposal.actionHash,
            vote,
          );
          const after = await api.post<Proposal>(`/v1/consortia/${enc(cid!)}/proposals/${enc(pid!)}/invitation`, {
            orgId,
            ...signed,
          });
          printObject(io, ctx.json, after, [
            ['proposal', (r) => r.id ?? pid],
            ['invitation', (r) => (r.invitation as { status?: string } | undefined)?.status],
            ['status', (r) => r.status],
          ]);
        }),
      );
  }
}
