import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { ConsortiaError, SdkCodes, verifyAnchorBundle, type AnchorVerdict } from '../../sdk/index.js';
import { usage } from '../errors.js';
import type { CliIo } from '../io.js';
import { printObject } from '../output.js';
import { hexFlag } from '../parse.js';
import { action } from './action.js';
import { openChain, pinnedGenesis, signerOf, withChainOptions, type ChainOpts } from './chain-session.js';

type AnchorOpts = ChainOpts & { metadata?: string; proofOut?: string; proof?: string };

/** SHA-256 of a file, streamed (documents may be large). */
export async function sha256File(file: string): Promise<string> {
  try {
    statSync(file);
  } catch {
    throw usage(`no file at ${file}`);
  }
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

function printVerdict(io: CliIo, json: boolean, file: string, v: AnchorVerdict, pinned: boolean): void {
  if (json) {
    io.out(JSON.stringify({ file, verified: true, genesisPinned: pinned, ...v }, null, 2));
    return;
  }
  const org = v.signerOrganization
    ? `${v.signerOrganization.memberId} (${v.signerOrganization.name})`
    : 'unknown (not a genesis member admin key)';
  io.out(
    [
      `anchor OK: ${file}`,
      `sha256:       ${v.hash}`,
      `height:       ${v.height}`,
      `time:         ${v.timeIso}`,
      `signer:       ${v.signer}`,
      `organization: ${org}`,
      `metadata:     ${v.metadata}`,
      `tx:           ${v.txHash}`,
      `chain:        ${v.chainId} (genesis ${v.genesisHash}${pinned ? ', pinned' : ': NOT pinned, compare it with the hash your organization approved or pass --genesis-hash'})`,
      `certified by: ${v.certifiedBy.map((c) => `${c.memberId}:${c.publicKey.slice(0, 16)}`).join(', ')}`,
    ].join('\n'),
  );
}

export function registerAnchors(program: Command, io: CliIo): void {
  const anchor = program.command('anchor').description('prove that a document existed, and who signed it');
  withChainOptions(anchor.command('put'), true)
    .description('hash FILE locally (SHA-256), anchor the hash with metadata signed by the org key, wait for commit')
    .argument('<file>')
    .option('--metadata <text>', 'metadata stored with the hash (default: {"file":NAME,"bytes":SIZE})')
    .option('--proof-out <path>', 'also write the proof bundle that `anchor verify --proof` checks offline')
    .action(
      action<AnchorOpts>(io, async (ctx, o, [file]) => {
        const hash = await sha256File(file!);
        const metadata = o.metadata ?? JSON.stringify({ file: basename(file!), bytes: statSync(file!).size });
        const signer = signerOf(ctx, o);
        const { client, save } = await openChain(ctx, o);
        const r = await client.anchor(signer, { hash, metadata });
        let proofFile: string | undefined;
        if (o.proofOut) {
          writeFileSync(o.proofOut, JSON.stringify(await client.anchorBundle(hash), null, 2) + '\n');
          proofFile = o.proofOut;
        }
        save();
        printObject(io, ctx.json, {
          file,
          sha256: hash,
          metadata,
          signer: signer.publicKeyHex,
          ...r,
          ...(proofFile ? { proof: proofFile } : {}),
        });
      }),
    );
  withChainOptions(anchor.command('verify'), false)
    .description(
      'check that FILE was anchored: offline from a proof bundle (--proof), else fetch the proof once from the nodes',
    )
    .argument('<file>')
    .option('--proof <path>', 'proof bundle written by `anchor put --proof-out` (no network used)')
    .option('--proof-out <path>', 'when fetching: save the bundle for later offline checks')
    .action(
      action<AnchorOpts>(io, async (ctx, o, [file]) => {
        const hash = await sha256File(file!);
        // the genesis trusted: --genesis-hash, else the one pinned on this machine for the consortium
        const pinned =
          o.genesisHash !== undefined ? hexFlag('--genesis-hash', o.genesisHash, 32) : pinnedGenesis(ctx, o.consortium);
        let bundle: unknown;
        if (o.proof) {
          try {
            bundle = JSON.parse(readFileSync(o.proof, 'utf8'));
          } catch (err) {
            throw new ConsortiaError(
              SdkCodes.BUNDLE_INVALID,
              `cannot read proof bundle ${o.proof}: ${(err as Error).message}`,
            );
          }
        } else {
          const { client, save } = await openChain(ctx, o);
          bundle = await client.anchorBundle(hash);
          save();
          if (o.proofOut) writeFileSync(o.proofOut, JSON.stringify(bundle, null, 2) + '\n');
        }
        printVerdict(
          io,
          ctx.json,
          file!,
          verifyAnchorBundle(bundle, { pinnedGenesisHash: pinned, contentHash: hash }),
          pinned !== undefined,
        );
      }),
    );
}
