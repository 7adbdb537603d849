import type { Command } from 'commander';
import type { CliIo } from '../io.js';
import { printObject } from '../output.js';
import { hexFlag } from '../parse.js';
import { action } from './action.js';
import { openChain, plain, signerOf, withChainOptions, type ChainOpts } from './chain-session.js';
import { ConsortiaError, SdkCodes } from '../../sdk/index.js';

export function registerAccounts(program: Command, io: CliIo): void {
  const account = program
    .command('account')
    .description('chain accounts (an account is a public key; its key signs its txs)');
  withChainOptions(account.command('create'), true)
    .description('create the account of the signing key and wait for commit')
    .action(
      action<ChainOpts>(io, async (ctx, o) => {
        const signer = signerOf(ctx, o);
        const { client, save } = await openChain(ctx, o);
        const r = await client.createAccount(signer);
        save();
        printObject(io, ctx.json, { account: signer.publicKeyHex, ...r });
      }),
    );
  withChainOptions(account.command('show'), true)
    .description(
      "an account's nonce and balances, proven against a certified header (default: the signing key's account)",
    )
    .argument('[publicKey]')
    .action(
      action<ChainOpts>(io, async (ctx, o, [pk]) => {
        const key = pk !== undefined ? hexFlag('publicKey', pk, 32) : signerOf(ctx, o).publicKeyHex;
        const { client, save } = await openChain(ctx, o);
        const a = await client.account(key);
        save();
        if (!a) throw new ConsortiaError(SdkCodes.NOT_FOUND, `account ${key} not found on any node`);
        printObject(io, ctx.json, plain(a));
      }),
    );
}
