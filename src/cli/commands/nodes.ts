import type { Command } from 'commander';
import { ConsortiaError } from '../../lib/errors.js';
import { CliCodes, usage } from '../errors.js';
import { signNodeRegistration, type RegistrationView } from '../signing.js';
import type { CliIo } from '../io.js';
import { printObject, printTable } from '../output.js';
import { choiceFlag, enc, hexFlag, intFlag, listFlag, seconds } from '../parse.js';
import { Progress, sleep } from '../progress.js';
import type { ApiClient } from '../api-client.js';
import { action } from './action.js';

export type NodeView = {
  id: string;
  orgId: string;
  role: string;
  clusterId: string;
  mode?: string;
  desired?: string;
  status: {
    phase: string;
    ready: boolean;
    message?: string;
    height?: number;
    identity?: { publicKey: string };
    endpoints?: { api: string; p2p: string };
  };
};
const ROLES = ['validator', 'super', 'ordinary', 'light'] as const;

/** Done provisioning = running with a key (keygen mode) or ready (after genesis). */
export function nodeSettled(n: NodeView, requireReady: boolean): boolean {
  return (
    n.status.phase === 'Running' && (requireReady ? n.status.ready : n.status.ready || n.status.identity !== undefined)
  );
}

export async function waitForNodes(
  api: ApiClient,
  io: CliIo,
  cid: string,
  ids: string[] | undefined,
  requireReady: boolean,
  timeoutS: number,
  show: boolean,
): Promise<NodeView[]> {
  const progress = new Progress(io, requireReady ? 'nodes ready' : 'nodes provisioned', show);
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const all = await api.list<NodeView>(`/v1/consortia/${enc(cid)}/nodes`);
    const nodes = ids ? all.filter((n) => ids.includes(n.id)) : all.filter((n) => n.desired !== 'deleted');
    const done = nodes.filter((n) => nodeSettled(n, requireReady));
    const failed = nodes.filter((n) => n.status.phase === 'Failed');
    progress.update(
      done.length,
      nodes.length,
      nodes.map((n) => `${n.id}:${n.status.phase}${n.status.ready ? '*' : ''}`).join(' '),
    );
    if (nodes.length > 0 && done.length === nodes.length) {
      progress.done(`${nodes.length} node(s) ${requireReady ? 'ready' : 'provisioned'}`);
      return nodes;
    }
    if (Date.now() > deadline) {
      const why = failed.length
        ? `; failed: ${failed.map((n) => `${n.id} (${n.status.message ?? 'no message'})`).join(', ')}`
        : '';
      throw new ConsortiaError(
        CliCodes.TIMEOUT,
        `timed out after ${timeoutS}s waiting for nodes (${done.length}/${nodes.length} done)${why}`,
      );
    }
    await sleep(500);
  }
}

const columns: [string, (r: NodeView) => unknown][] = [
  ['ID', (r) => r.id],
  ['ORG', (r) => r.orgId],
  ['ROLE', (r) => r.role],
  ['PHASE', (r) => r.status.phase],
  ['READY', (r) => r.status.ready],
  ['HEIGHT', (r) => r.status.height],
  ['API', (r) => r.status.endpoints?.api],
  ['MESSAGE', (r) => r.status.message],
];

export function registerNodes(program: Command, io: CliIo): void {
  const node = program.command('node').description('chain nodes of a consortium');
  node
    .command('create')
    .argument('<consortiumId>')
    .option('--org <orgId>', 'owning organization (default: configured org)')
    .option('--role <role>', ROLES.join(' | '), 'validator')
    .option('--cluster <clusterId>', 'deployment target', 'local')
    .option('--count <n>', 'how many identical nodes to create', '1')
    .option('--retention-blocks <n>', 'ordinary: keep this many recent blocks')
    .option('--retention-seconds <n>', 'ordinary: keep blocks this recent')
    .option('--follow <hex,...>', 'light: account public keys to follow')
    .option('--cpu <quantity>', 'CPU request', '500m')
    .option('--memory <quantity>', 'memory request', '512Mi')
    .option('--storage <quantity>', 'volume size override')
    .option(
      '--key-provider <name>',
      "keep the node key in this key provider of the platform (PKCS#11 or AWS KMS; default: a key file on the node's volume)",
    )
    .option(
      '--key-label <label>',
      'pkcs11 provider: label of the key in the token (default consortia-<nodeId>, generated there)',
    )
    .option('--key-id <id>', 'aws-kms provider: the KMS key (id, ARN or alias) the node signs with')
    .option('--wait', 'wait until provisioned, with progress')
    .option('--timeout <seconds>', 'wait limit', '120')
    .action(
      action<Record<string, string | undefined> & { wait?: boolean }>(io, async (ctx, o, [cid]) => {
        const role = choiceFlag('--role', o.role, ROLES)!;
        const count = intFlag('--count', o.count, 1, 64)!;
        const tier: Record<string, unknown> = {};
        const rb = intFlag('--retention-blocks', o.retentionBlocks, 1, 1e9);
        const rs = intFlag('--retention-seconds', o.retentionSeconds, 1, 1e9);
        const follow = listFlag(o.follow)?.map((k) => hexFlag('--follow', k, 32));
        if ((rb !== undefined || rs !== undefined) && role !== 'ordinary')
          throw usage('--retention-blocks/--retention-seconds apply to --role ordinary only');
        if (follow && role !== 'light') throw usage('--follow applies to --role light only');
        if (rb !== undefined) tier.retentionBlocks = rb;
        if (rs !== undefined) tier.retentionSeconds = rs;
        if (follow) tier.followAccounts = follow;
        const resources: Record<string, string> = { cpu: o.cpu!, memory: o.memory! };
        if (o.storage) resources.storage = o.storage;
        if ((o.keyLabel !== undefined || o.keyId !== undefined) && o.keyProvider === undefined)
          throw usage('--key-label and --key-id need --key-provider');
        if (o.keyLabel !== undefined && count > 1) throw usage('--key-label names one key: use it with --count 1');
        if (o.keyId !== undefined && count > 1) throw usage('--key-id names one key: use it with --count 1');
        const key =
          o.keyProvider === undefined
            ? undefined
            : {
                provider: o.keyProvider,
                ...(o.keyLabel !== undefined ? { keyLabel: o.keyLabel } : {}),
                ...(o.keyId !== undefined ? { keyId: o.keyId } : {}),
              };
        const api = ctx.api();
        const created: NodeView[] = [];
        for (let i = 0; i < count; i++) {
          created.push(
            await api.post<NodeView>(`/v1/consortia/${enc(cid!)}/nodes`, {
              orgId: ctx.orgId(o.org),
              role,
              clusterId: o.cluster,
              tier,
              resources,
              ...(key !== undefined ? { key } : {}),
            }),
          );
        }
        const result = o.wait
          ? await waitForNodes(
              api,
              io,
              cid!,
              created.map((n) => n.id),
              false,
              seconds('--timeout', o.timeout, 120),
              !ctx.json,
            )
          : created;
        printTable(io, ctx.json, result, columns);
      }),
    );
  node
    .command('register')
    .description(
      'admit your node outside the genesis on chain: waits for its key, signs its registration with the local org admin key (it never leaves this machine), submits it and waits until the chain executed it',
    )
    .argument('<consortiumId>')
    .argument('<nodeId>')
    .option('--member <memberId>', 'owning organization (default: configured org)')
    .option('--key-org <name>', 'local key name')
    .option('--key-file <path>', 'key file path')
    .option('--timeout <seconds>', 'wait limit', '120')
    .action(
      action<{ member?: string; keyOrg?: string; keyFile?: string; timeout?: string }>(
        io,
        async (ctx, o, [cid, nid]) => {
          const key = ctx.signingKey(o);
          const api = ctx.api();
          const url = `/v1/consortia/${enc(cid!)}/nodes/${enc(nid!)}`;
          const consortium = await api.get<{ chainId: string }>(`/v1/consortia/${enc(cid!)}`);
          const deadline = Date.now() + seconds('--timeout', o.timeout, 120) * 1000;
          const progress = new Progress(io, 'registration', !ctx.json);
          let signed = false;
          for (;;) {
            const n = await api.get<NodeView & RegistrationView>(url);
            const st = n.registration?.status ?? 'NOT_NEEDED';
            progress.update(st === 'REGISTERED' ? 1 : 0, 1, `${n.id}: ${st}`);
            if (st === 'REGISTERED' || st === 'NOT_NEEDED') {
              progress.done(`node ${n.id} ${st === 'REGISTERED' ? 'registered on chain' : 'needs no registration'}`);
              printObject(io, ctx.json, n, [
                ['node', () => n.id],
                ['registration', () => st],
                ['tx', () => n.registration?.txHash],
              ]);
              return;
            }
            if (st === 'FAILED')
              throw new ConsortiaError(
                CliCodes.INVALID_STATE,
                `registration of ${n.id} failed on chain: ${JSON.stringify(n.registration)}`,
              );
            if (st === 'AWAITING_SIGNATURE' && !signed) {
              await api.post(
                `${url}/registration`,
                await signNodeRegistration(key, ctx.orgId(o.member), consortium.chainId, n),
              );
              signed = true;
            }
            if (Date.now() > deadline)
              throw new ConsortiaError(CliCodes.TIMEOUT, `timed out waiting for the registration of ${n.id} (${st})`);
            await sleep(500);
          }
        },
      ),
    );
  node
    .command('rotate-key')
    .description(
      "replace a validator's consensus key: the node makes a new key in its own key backend and a rotate_validator_key proposal is filed; members vote on it, and the node signs with the new key from the height after it executes",
    )
    .argument('<consortiumId>')
    .argument('<nodeId>')
    .action(
      action(io, async (ctx, _o, [cid, nid]) => {
        type Rotation = {
          id: string;
          status: string;
          actionHash: string;
          expiresAt?: string;
          chainAction: { oldPublicKey?: string; newPublicKey?: string };
        };
        const p = await ctx.api().post<Rotation>(`/v1/consortia/${enc(cid!)}/proposals`, {
          action: { type: 'rotate_validator_key', nodeId: nid },
        });
        printObject(io, ctx.json, p, [
          ['proposal', (r) => r.id],
          ['status', (r) => r.status],
          ['oldKey', (r) => (r.chainAction as Rotation['chainAction']).oldPublicKey],
          ['newKey', (r) => (r.chainAction as Rotation['chainAction']).newPublicKey],
          ['actionHash', (r) => r.actionHash],
          ['expiresAt', (r) => r.expiresAt],
        ]);
        if (!ctx.json)
          io.out(
            `next: each member votes with \`consortia vote ${cid} ${p.id} --yes\`; once it executes, \`consortia node show ${cid} ${nid}\` shows consensusKey`,
          );
      }),
    );
  node
    .command('list')
    .argument('<consortiumId>')
    .action(
      action(io, async (ctx, _o, [cid]) =>
        printTable(io, ctx.json, await ctx.api().list<NodeView>(`/v1/consortia/${enc(cid!)}/nodes`), columns),
      ),
    );
  node
    .command('show')
    .argument('<consortiumId>')
    .argument('<nodeId>')
    .action(
      action(io, async (ctx, _o, [cid, nid]) =>
        printObject(io, ctx.json, await ctx.api().get(`/v1/consortia/${enc(cid!)}/nodes/${enc(nid!)}`)),
      ),
    );
  node
    .command('delete')
    .argument('<consortiumId>')
    .argument('<nodeId>')
    .action(
      action(io, async (ctx, _o, [cid, nid]) => {
        const r = await ctx.api().delete(`/v1/consortia/${enc(cid!)}/nodes/${enc(nid!)}`);
        if (ctx.json) io.out(JSON.stringify(r ?? { deleted: nid }));
        else io.out(`node ${nid} is being deleted`);
      }),
    );
  node
    .command('wait')
    .description('wait (with progress) until every node of the consortium is provisioned, or ready with --ready')
    .argument('<consortiumId>')
    .option('--ready', 'require readiness (genesis applied and synced)')
    .option('--timeout <seconds>', 'wait limit', '120')
    .action(
      action<{ ready?: boolean; timeout?: string }>(io, async (ctx, o, [cid]) => {
        const nodes = await waitForNodes(
          ctx.api(),
          io,
          cid!,
          undefined,
          Boolean(o.ready),
          seconds('--timeout', o.timeout, 120),
          !ctx.json,
        );
        printTable(io, ctx.json, nodes, columns);
      }),
    );
}
