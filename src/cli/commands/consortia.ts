import type { Command } from 'commander';
import type { CliIo } from '../io.js';
import { printObject, printTable } from '../output.js';
import { choiceFlag, enc, intFlag, listFlag } from '../parse.js';
import { usage } from '../errors.js';
import { action } from './action.js';

type Member = { memberId: string; orgId: string; name: string; status: string; joinedAt?: string };
type Consortium = {
  id: string;
  name: string;
  chainId: string;
  status: string;
  founders: string[];
  params: Record<string, unknown>;
  votingPolicy: Record<string, unknown>;
  members?: Member[];
};

export function registerConsortia(program: Command, io: CliIo): void {
  const c = program.command('consortium').description('consortia: chain params, voting policy, members');
  c.command('create')
    .description('create a consortium with its founding organizations')
    .requiredOption('--name <name>')
    .requiredOption('--founders <orgId,...>', 'founding organization ids, comma separated')
    .option('--block-interval-ms <ms>', 'target block interval', '1000')
    .option('--max-block-bytes <n>', 'maximum block size', '1048576')
    .option('--threshold <percent>', 'voting threshold percentage (0-100)', '50')
    .option('--comparator <cmp>', 'GREATER_THAN or GREATER_THAN_OR_EQUAL_TO', 'GREATER_THAN')
    .option('--proposal-duration <seconds>', 'how long a proposal stays open', '86400')
    .action(
      action<Record<string, string>>(io, async (ctx, o) => {
        const founders = listFlag(o.founders) ?? [];
        if (founders.length === 0) throw usage('--founders needs at least one organization id');
        const body = {
          name: o.name,
          founders,
          params: {
            blockIntervalMs: intFlag('--block-interval-ms', o.blockIntervalMs, 50, 600_000),
            maxBlockBytes: intFlag('--max-block-bytes', o.maxBlockBytes, 1024, 64 * 1024 * 1024),
          },
          votingPolicy: {
            thresholdPercentage: intFlag('--threshold', o.threshold, 0, 100),
            thresholdComparator: choiceFlag('--comparator', o.comparator, [
              'GREATER_THAN',
              'GREATER_THAN_OR_EQUAL_TO',
            ] as const),
            proposalDurationSeconds: intFlag('--proposal-duration', o.proposalDuration, 1, 365 * 86_400),
          },
        };
        const created = await ctx.api().post<Consortium>('/v1/consortia', body);
        printObject(io, ctx.json, created, [
          ['id', (r) => r.id],
          ['name', (r) => r.name],
          ['chainId', (r) => r.chainId],
          ['status', (r) => r.status],
        ]);
      }),
    );
  c.command('list').action(
    action(io, async (ctx) => {
      const rows = await ctx.api().list<Consortium>('/v1/consortia');
      printTable(io, ctx.json, rows, [
        ['ID', (r) => r.id],
        ['NAME', (r) => r.name],
        ['CHAIN', (r) => r.chainId],
        ['STATUS', (r) => r.status],
        ['MEMBERS', (r) => r.members?.length],
      ]);
    }),
  );
  c.command('show')
    .argument('<consortiumId>')
    .action(
      action(io, async (ctx, _o, [id]) => {
        const r = await ctx.api().get<Consortium>(`/v1/consortia/${enc(id!)}`);
        if (ctx.json) return printObject(io, true, r);
        printObject(io, false, r, [
          ['id', (x) => x.id],
          ['name', (x) => x.name],
          ['chainId', (x) => x.chainId],
          ['status', (x) => x.status],
          ['params', (x) => x.params],
          ['votingPolicy', (x) => x.votingPolicy],
          ['members', (x) => (x.members as Member[] | undefined)?.map((m) => m.memberId).join(', ')],
        ]);
      }),
    );
  c.command('set-image')
    .description(
      "roll a new node image through the consortium's nodes (platform-admin): one validator at a time, never below quorum",
    )
    .argument('<consortiumId>')
    .argument('<image>', 'container image reference, e.g. registry.example/consortia-node:2.1.0')
    .action(
      action(io, async (ctx, _o, [id, image]) => {
        const r = await ctx
          .api()
          .request<Consortium & { nodeImage?: string }>('PATCH', `/v1/consortia/${enc(id!)}`, { nodeImage: image });
        printObject(io, ctx.json, r, [
          ['id', (x) => x.id],
          ['nodeImage', (x) => x.nodeImage],
          ['status', (x) => x.status],
        ]);
      }),
    );
  c.command('delete')
    .description('delete the consortium and every node of it (platform-admin); status DELETING, then DELETED')
    .argument('<consortiumId>')
    .action(
      action(io, async (ctx, _o, [id]) => {
        const r = await ctx.api().delete<Consortium>(`/v1/consortia/${enc(id!)}`);
        printObject(io, ctx.json, r, [
          ['id', (x) => x.id],
          ['status', (x) => x.status],
        ]);
      }),
    );

  const m = program.command('member').description('members of a consortium');
  m.command('list')
    .argument('<consortiumId>')
    .action(
      action(io, async (ctx, _o, [id]) => {
        const rows = await ctx.api().list<Member>(`/v1/consortia/${enc(id!)}/members`);
        printTable(io, ctx.json, rows, [
          ['MEMBER', (r) => r.memberId],
          ['ORG', (r) => r.orgId],
          ['NAME', (r) => r.name],
          ['STATUS', (r) => r.status],
          ['JOINED', (r) => r.joinedAt],
        ]);
      }),
    );
}
