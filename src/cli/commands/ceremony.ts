import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ConsortiaError } from '../../lib/errors.js';
import type { ApiClient } from '../api-client.js';
import { verifyTranscript, type TranscriptEntry } from '../chain-port.js';
import { CliCodes, usage } from '../errors.js';
import type { CliIo } from '../io.js';
import { printObject } from '../output.js';
import { choiceFlag, enc, seconds } from '../parse.js';
import { Progress, sleep } from '../progress.js';
import { computeGenesisHash, genesisOf, signGenesisApproval } from '../signing.js';
import { action } from './action.js';

type CeremonyView = {
  status: 'COLLECTING_KEYS' | 'AWAITING_APPROVALS' | 'SEALED';
  genesisHash?: string;
  nodeIds?: string[];
  approvals?: { memberId: string }[];
  pendingApprovals?: string[];
  pendingNodes?: string[];
};
const STAGES = ['keys', 'approvals', 'sealed'] as const;
const ORDER = { COLLECTING_KEYS: 0, AWAITING_APPROVALS: 1, SEALED: 2 } as const;

async function waitCeremony(
  api: ApiClient,
  io: CliIo,
  cid: string,
  until: (typeof STAGES)[number],
  timeoutS: number,
  show: boolean,
): Promise<CeremonyView> {
  const target = until === 'keys' ? 1 : until === 'approvals' ? 1 : 2;
  const progress = new Progress(io, 'ceremony', show);
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const c = await api.get<CeremonyView>(`/v1/consortia/${enc(cid)}/ceremony`);
    const approved = c.approvals?.length ?? 0;
    const members = approved + (c.pendingApprovals?.length ?? 0);
    const nodes = c.nodeIds?.length ?? 0;
    if (c.status === 'COLLECTING_KEYS')
      progress.update(nodes - (c.pendingNodes?.length ?? 0), nodes, 'validator keys reported');
    else progress.update(approved, members, `${c.status}: genesis approvals`);
    if (ORDER[c.status] >= target) {
      progress.done(`ceremony ${c.status}${c.genesisHash ? ` (genesis ${c.genesisHash})` : ''}`);
      return c;
    }
    if (Date.now() > deadline)
      throw new ConsortiaError(CliCodes.TIMEOUT, `timed out after ${timeoutS}s: ceremony still ${c.status}`);
    await sleep(500);
  }
}

function transcriptEntries(doc: unknown): TranscriptEntry[] {
  const d = doc as { entries?: unknown; transcript?: unknown };
  const list = Array.isArray(doc)
    ? doc
    : Array.isArray(d?.entries)
      ? d.entries
      : Array.isArray(d?.transcript)
        ? d.transcript
        : undefined;
  if (!list)
    throw new ConsortiaError(
      CliCodes.TRANSCRIPT_INVALID,
      'not a transcript: expected an array of entries (or {entries:[...]})',
    );
  return list as TranscriptEntry[];
}

export function registerCeremony(program: Command, io: CliIo): void {
  const cer = program.command('ceremony').description('the genesis key ceremony');
  cer
    .command('start')
    .description('start the ceremony: validators report their keys, then genesis is assembled')
    .argument('<consortiumId>')
    .option('--wait', 'wait until genesis awaits approvals, with progress')
    .option('--timeout <seconds>', 'wait limit', '120')
    .action(
      action<{ wait?: boolean; timeout?: string }>(io, async (ctx, o, [cid]) => {
        const api = ctx.api();
        let c = await api.post<CeremonyView>(`/v1/consortia/${enc(cid!)}/ceremony`, {});
        if (o.wait) c = await waitCeremony(api, io, cid!, 'approvals', seconds('--timeout', o.timeout, 120), !ctx.json);
        printObject(io, ctx.json, c, [
          ['status', (r) => r.status],
          ['genesisHash', (r) => r.genesisHash],
        ]);
      }),
    );
  cer
    .command('status')
    .argument('<consortiumId>')
    .option('--wait <stage>', `wait for a stage: ${STAGES.join(' | ')}`)
    .option('--timeout <seconds>', 'wait limit', '120')
    .action(
      action<{ wait?: string; timeout?: string }>(io, async (ctx, o, [cid]) => {
        const stage = choiceFlag('--wait', o.wait, STAGES);
        const api = ctx.api();
        const c = stage
          ? await waitCeremony(api, io, cid!, stage, seconds('--timeout', o.timeout, 120), !ctx.json)
          : await api.get<CeremonyView>(`/v1/consortia/${enc(cid!)}/ceremony`);
        if (ctx.json) return printObject(io, true, c);
        printObject(io, false, c, [
          ['status', (r) => r.status],
          ['genesisHash', (r) => r.genesisHash],
          ['nodes', (r) => (r.nodeIds as string[] | undefined)?.join(', ')],
          ['approvals', (r) => (r.approvals as { memberId: string }[] | undefined)?.map((a) => a.memberId).join(', ')],
          ['pendingApprovals', (r) => (r.pendingApprovals as string[] | undefined)?.join(', ')],
          ['pendingNodes', (r) => (r.pendingNodes as string[] | undefined)?.join(', ')],
        ]);
      }),
    );
  cer
    .command('approve')
    .description('show the genesis, recompute its hash locally, and sign it with the org admin key')
    .argument('<consortiumId>')
    .option('--member <memberId>', 'approving member (default: configured org)')
    .option('--key-org <name>')
    .option('--key-file <path>')
    .option('--yes', 'do not ask for confirmation')
    .action(
      action<{ member?: string; keyOrg?: string; keyFile?: string; yes?: boolean }>(io, async (ctx, o, [cid]) => {
        const key = ctx.signingKey(o);
        const api = ctx.api();
        const c = await api.get<CeremonyView>(`/v1/consortia/${enc(cid!)}/ceremony`);
        if (c.status !== 'AWAITING_APPROVALS' || !c.genesisHash)
          throw usage(`ceremony is ${c.status}; approvals are taken only while AWAITING_APPROVALS`);
        const doc = await api.get<unknown>(`/v1/consortia/${enc(cid!)}/ceremony/genesis`);
        const local = computeGenesisHash(doc);
        if (local !== c.genesisHash) {
          throw new ConsortiaError(
            CliCodes.GENESIS_HASH_MISMATCH,
            `the control plane reports genesis hash ${c.genesisHash} but the genesis document hashes to ${local}; refusing to sign`,
          );
        }
        const g = genesisOf(doc) as {
          chainId?: string;
          members?: { memberId: string }[];
          validators?: { memberId: string; publicKey: string }[];
        };
        io.err(
          `genesis of chain ${g.chainId}\n  members:    ${(g.members ?? []).map((m) => m.memberId).join(', ')}\n  validators: ${(g.validators ?? []).map((v) => `${v.memberId}:${v.publicKey.slice(0, 12)}…`).join(', ')}\n  hash:       ${local}`,
        );
        if (!o.yes && !(await io.confirm('sign this genesis hash?')))
          throw new ConsortiaError(CliCodes.ABORTED, 'not approved (pass --yes to approve non-interactively)');
        const r = await api.post<CeremonyView>(
          `/v1/consortia/${enc(cid!)}/ceremony/approvals`,
          await signGenesisApproval(key, ctx.orgId(o.member), local),
        );
        printObject(io, ctx.json, r, [
          ['status', (x) => x.status],
          ['genesisHash', (x) => x.genesisHash],
          ['approvals', (x) => (x.approvals as unknown[] | undefined)?.length],
        ]);
      }),
    );
  const tr = cer.command('transcript').description('the hash-chained ceremony transcript');
  tr.command('download')
    .argument('<consortiumId>')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .action(
      action<{ output?: string }>(io, async (ctx, o, [cid]) => {
        const doc = await ctx.api().get<unknown>(`/v1/consortia/${enc(cid!)}/ceremony/transcript`);
        const text = JSON.stringify(doc, null, 2);
        if (o.output) {
          writeFileSync(o.output, text + '\n');
          io.out(
            ctx.json
              ? JSON.stringify({ file: o.output, entries: transcriptEntries(doc).length })
              : `transcript (${transcriptEntries(doc).length} entries) written to ${o.output}`,
          );
        } else io.out(text);
      }),
    );
  tr.command('verify')
    .description('check the hash chain of a transcript file (or download it with --consortium)')
    .argument('[file]')
    .option('--consortium <consortiumId>')
    .action(
      action<{ consortium?: string }>(io, async (ctx, o, [file]) => {
        if (!file === !o.consortium) throw usage('give a transcript file or --consortium ID (not both)');
        let doc: unknown;
        if (file) {
          try {
            doc = JSON.parse(readFileSync(file, 'utf8'));
          } catch (err) {
            throw new ConsortiaError(
              CliCodes.TRANSCRIPT_INVALID,
              `cannot read transcript ${file}: ${(err as Error).message}`,
            );
          }
        } else doc = await ctx.api().get(`/v1/consortia/${enc(o.consortium!)}/ceremony/transcript`);
        const verdict = verifyTranscript(transcriptEntries(doc));
        if (!verdict.ok)
          throw new ConsortiaError(
            CliCodes.TRANSCRIPT_INVALID,
            `transcript INVALID at entry ${verdict.index}: ${verdict.reason}`,
            { index: verdict.index },
          );
        if (ctx.json) io.out(JSON.stringify(verdict));
        else io.out(`transcript OK: ${verdict.length} entries, head ${verdict.head}`);
      }),
    );
}
