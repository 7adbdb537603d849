import type { Command } from 'commander';
import { ASSET_ID_RE, ConsortiaError, SdkCodes, toHex } from '../../sdk/index.js';
import { usage } from '../errors.js';
import type { CliIo } from '../io.js';
import { printObject } from '../output.js';
import { decimalFlag, hexFlag } from '../parse.js';
import { action } from './action.js';
import { openChain, plain, signerOf, withChainOptions, type ChainOpts } from './chain-session.js';

type AssetOpts = ChainOpts & { amount?: string; to?: string };

function assetArg(id: string): string {
  if (!ASSET_ID_RE.test(id)) throw usage(`asset id ${JSON.stringify(id)}: 1..64 characters of A-Z a-z 0-9 . _ : -`);
  return id;
}
function amountOf(o: AssetOpts): bigint {
  const n = decimalFlag('--amount', o.amount!);
  if (n === 0n) throw usage('--amount must be greater than 0');
  return n;
}

export function registerAssets(program: Command, io: CliIo): void {
  const asset = program
    .command('asset')
    .description('assets: a gateway issues, holders transfer, the gateway redeems by burning');
  withChainOptions(asset.command('create'), true)
    .description(
      'declare an asset and its gateway issuer (it alone issues and redeems; issued and burned totals are kept)',
    )
    .argument('<asset>')
    .option('--issuer <publicKey>', "the issuer account (default: the signing key's account)")
    .action(
      action<AssetOpts & { issuer?: string }>(io, async (ctx, o, [id]) => {
        const a = assetArg(id!);
        const issuer = o.issuer !== undefined ? hexFlag('--issuer', o.issuer, 32) : undefined;
        const signer = signerOf(ctx, o);
        const { client, save } = await openChain(ctx, o);
        const r = await client.createAsset(signer, { asset: a, issuer });
        save();
        printObject(io, ctx.json, { asset: a, issuer: issuer ?? signer.publicKeyHex, ...r });
      }),
    );
  withChainOptions(asset.command('issue'), true)
    .description('issue units (the first issuer of an asset becomes its only issuer) and wait for commit')
    .argument('<asset>')
    .requiredOption('--amount <n>', 'decimal amount')
    .option('--to <publicKey>', "recipient account (default: the issuer's own account)")
    .action(
      action<AssetOpts>(io, async (ctx, o, [id]) => {
        const a = assetArg(id!);
        const amount = amountOf(o);
        const to = o.to !== undefined ? hexFlag('--to', o.to, 32) : undefined;
        const signer = signerOf(ctx, o);
        const { client, save } = await openChain(ctx, o);
        const r = await client.issueAsset(signer, { asset: a, amount, to });
        save();
        printObject(io, ctx.json, { asset: a, amount: amount.toString(), to: to ?? signer.publicKeyHex, ...r });
      }),
    );
  withChainOptions(asset.command('burn'), true)
    .description('redeem: the issuer burns units from its own balance (supply goes down) and waits for commit')
    .argument('<asset>')
    .requiredOption('--amount <n>', 'decimal amount')
    .action(
      action<AssetOpts>(io, async (ctx, o, [id]) => {
        const a = assetArg(id!);
        const amount = amountOf(o);
        const signer = signerOf(ctx, o);
        const { client, save } = await openChain(ctx, o);
        const r = await client.burnAsset(signer, { asset: a, amount });
        save();
        printObject(io, ctx.json, { asset: a, amount: amount.toString(), ...r });
      }),
    );
  withChainOptions(asset.command('transfer'), true)
    .description("transfer units from the signing key's account and wait for commit")
    .argument('<asset>')
    .requiredOption('--to <publicKey>', 'recipient account')
    .requiredOption('--amount <n>', 'decimal amount')
    .action(
      action<AssetOpts>(io, async (ctx, o, [id]) => {
        const a = assetArg(id!);
        const amount = amountOf(o);
        const to = hexFlag('--to', o.to!, 32);
        const signer = signerOf(ctx, o);
        const { client, save } = await openChain(ctx, o);
        const r = await client.transfer(signer, { asset: a, to, amount });
        save();
        printObject(io, ctx.json, { asset: a, amount: amount.toString(), to, ...r });
      }),
    );
  withChainOptions(asset.command('show'), false)
    .description("an asset's issuer, supply and issued/burned ledger, proven against a certified header")
    .argument('<asset>')
    .action(
      action<ChainOpts>(io, async (ctx, o, [id]) => {
        const a = assetArg(id!);
        const { client, save } = await openChain(ctx, o);
        const v = await client.asset(a);
        save();
        if (!v) throw new ConsortiaError(SdkCodes.NOT_FOUND, `asset ${a} not found on any node`);
        const member = client.genesis.members.find((m) => m.adminKeys.some((k) => toHex(k) === v.issuer));
        printObject(io, ctx.json, plain({ ...v, issuerOrganization: member ? member.memberId : null }));
      }),
    );
}
