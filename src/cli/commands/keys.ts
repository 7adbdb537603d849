import type { Command } from 'commander';
import { toHex } from '../chain-port.js';
import type { CliIo } from '../io.js';
import { createOrgKey, listOrgKeys, loadOrgKey } from '../key-file.js';
import { printObject, printTable } from '../output.js';
import { action } from './action.js';

export function registerKeys(program: Command, io: CliIo): void {
  const keys = program.command('keys').description('organization admin Ed25519 keys, kept only on this machine (mode 0600)');
  keys
    .command('create')
    .description('generate an admin key for an organization; prints the public key to register with `org create`')
    .requiredOption('--org <name>', 'local name of the key (usually the organization name)')
    .option('--force', 'replace an existing key file')
    .action(
      action<{ org: string; force?: boolean }>(io, (ctx, o) => {
        const k = createOrgKey(ctx.home, o.org, Boolean(o.force));
        printObject(io, ctx.json, { org: o.org, publicKey: toHex(k.publicKey), file: k.file });
      }),
    );
  keys
    .command('show')
    .description('print the public key of a local key')
    .requiredOption('--org <name>')
    .action(
      action<{ org: string }>(io, (ctx, o) => {
        const k = loadOrgKey(ctx.home, o.org);
        printObject(io, ctx.json, { org: o.org, publicKey: toHex(k.publicKey), file: k.file });
      }),
    );
  keys
    .command('list')
    .description('list local keys (public halves only)')
    .action(action(io, (ctx) => printTable(io, ctx.json, listOrgKeys(ctx.home), [['ORG', (r) => r.org], ['PUBLIC KEY', (r) => r.publicKey], ['FILE', (r) => r.file]])));
}
