import type { Command } from 'commander';
import { ConsortiaError } from '../../lib/errors.js';
import { encodeTx, fromHex, signTxWith, toHex, type UnsignedTx } from '../chain-port.js';
import { CliCodes, usage } from '../errors.js';
import type { CliIo } from '../io.js';
import { printObject } from '../output.js';
import { decimalFlag, hexFlag, intFlag } from '../parse.js';
import { action } from './action.js';
import { openChain, plain, withChainOptions, type ChainOpts } from './chain-session.js';
import { SdkCodes } from '../../sdk/index.js';

/** Talks to a chain node's API directly (docs/protocol.md#node-http-api); the key signs locally. */
async function nodeCall<T>(url: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    throw new ConsortiaError(CliCodes.API_UNREACHABLE, `cannot reach the node at ${url}: ${(err as Error).message}`);
  }
  return { status: res.status, body: (await res.json().catch(() => ({}))) as T };
}

export function registerTx(program: Command, io: CliIo): void {
  const tx = program.command('tx').description('sign and submit transactions to a chain node');
  tx.command('transfer')
    .description("transfer an asset from the key's account and wait for commit")
    .requiredOption('--node <url>', 'node API base URL (see `node list`)')
    .requiredOption('--asset <id>')
    .requiredOption('--to <hex>', 'recipient account public key')
    .requiredOption('--amount <n>', 'decimal amount')
    .option('--key-org <name>')
    .option('--key-file <path>')
    .option('--nonce <n>', 'account nonce (default: read from the node)')
    .action(
      action<Record<string, string | undefined>>(io, async (ctx, o) => {
        const key = ctx.signingKey(o);
        const to = fromHex(hexFlag('--to', o.to!, 32), 32);
        const amount = decimalFlag('--amount', o.amount!);
        if (amount === 0n) throw usage('--amount must be greater than 0');
        const base = o.node!.replace(/\/+$/, '');
        const status = await nodeCall<{ chainId?: string }>(`${base}/v1/status`);
        if (!status.body.chainId)
          throw new ConsortiaError(CliCodes.API_UNREACHABLE, `${base}/v1/status did not report a chainId`);
        let nonce = intFlag('--nonce', o.nonce, 0, Number.MAX_SAFE_INTEGER);
        if (nonce === undefined) {
          const acct = await nodeCall<{ account?: { nonce?: number } }>(`${base}/v1/accounts/${toHex(key.publicKey)}`);
          if (acct.status !== 200 || typeof acct.body.account?.nonce !== 'number')
            throw usage(`account ${toHex(key.publicKey)} not found on the node; pass --nonce`);
          nonce = acct.body.account.nonce;
        }
        const u: UnsignedTx = {
          chainId: status.body.chainId,
          signer: key.publicKey,
          nonce,
          body: { type: 'transfer', asset: o.asset!, to, amount },
        };
        const signed = await signTxWith(key.signer, u);
        const res = await nodeCall<{
          hash?: string;
          status?: string;
          height?: number;
          code?: string;
          error?: { code: string; message: string };
        }>(`${base}/v1/txs?wait=commit&timeoutMs=20000`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ tx: toHex(encodeTx(signed)) }),
        });
        if (res.status >= 400 || (res.body.code && res.body.code !== 'OK')) {
          const code = res.body.error?.code ?? res.body.code ?? `HTTP_${res.status}`;
          throw new ConsortiaError(
            code,
            `transfer rejected: ${code}${res.body.error?.message ? `: ${res.body.error.message}` : ''}`,
            { status: res.status },
          );
        }
        printObject(io, ctx.json, res.body);
      }),
    );
  withChainOptions(tx.command('show'), false)
    .description('a committed tx, proven included in a block certified by the validators')
    .argument('<hash>')
    .action(
      action<ChainOpts>(io, async (ctx, o, [hash]) => {
        const h = hexFlag('hash', hash!, 32);
        const { client, save } = await openChain(ctx, o);
        const t = await client.tx(h);
        save();
        if (!t) throw new ConsortiaError(SdkCodes.NOT_FOUND, `tx ${h} not found on any node`);
        const { encoded: _encoded, tx: body, ...rest } = t;
        printObject(
          io,
          ctx.json,
          plain({
            ...rest,
            type: body.body.type,
            signer: toHex(body.signer),
            nonce: body.nonce,
            body: body.body,
            verified: 'inclusion proof against a certified header',
          }),
        );
      }),
    );
}
