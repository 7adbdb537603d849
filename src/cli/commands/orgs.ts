import type { Command } from 'commander';
import { toHex } from '../chain-port.js';
import { usage } from '../errors.js';
import type { CliIo } from '../io.js';
import { loadOrgKey } from '../key-file.js';
import { printObject, printTable } from '../output.js';
import { enc, hexFlag, listFlag } from '../parse.js';
import { action } from './action.js';

type Org = { id: string; name: string; adminPublicKeys?: string[]; createdAt?: string };

export function registerOrgs(program: Command, io: CliIo): void {
  const org = program.command('org').description('organizations (platform-admin creates them)');
  org
    .command('create')
    .description('create an organization with its admin public key(s)')
    .requiredOption('--name <name>')
    .option('--admin-key <hex,...>', 'admin Ed25519 public key(s), comma separated')
    .option('--key-org <name>', 'take the admin public key from the local key made by `keys create --org NAME`')
    .action(
      action<{ name: string; adminKey?: string; keyOrg?: string }>(io, async (ctx, o) => {
        const keys = (listFlag(o.adminKey) ?? []).map((k) => hexFlag('--admin-key', k, 32));
        if (o.keyOrg) keys.push(toHex(loadOrgKey(ctx.home, o.keyOrg).publicKey));
        if (keys.length === 0) throw usage('give the organization an admin key: --admin-key HEX or --key-org NAME');
        const created = await ctx.api().post<Org>('/v1/organizations', { name: o.name, adminPublicKeys: keys });
        printObject(io, ctx.json, created, [
          ['id', (r) => r.id],
          ['name', (r) => r.name],
          ['adminPublicKeys', (r) => (r.adminPublicKeys as string[] | undefined)?.join(',')],
        ]);
      }),
    );
  org
    .command('list')
    .description('list the organizations you can see')
    .action(
      action(io, async (ctx) => {
        const rows = await ctx.api().list<Org>('/v1/organizations');
        printTable(io, ctx.json, rows, [
          ['ID', (r) => r.id],
          ['NAME', (r) => r.name],
          ['ADMIN KEYS', (r) => r.adminPublicKeys?.length ?? 0],
          ['CREATED', (r) => r.createdAt],
        ]);
      }),
    );
  org
    .command('show')
    .argument('<orgId>')
    .action(
      action(io, async (ctx, _o, [id]) =>
        printObject(io, ctx.json, await ctx.api().get(`/v1/organizations/${enc(id!)}`)),
      ),
    );
}
