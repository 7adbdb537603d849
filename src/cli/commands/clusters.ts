import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { usage } from '../errors.js';
import type { CliIo } from '../io.js';
import { printObject, printTable } from '../output.js';
import { action } from './action.js';

type Cluster = { id: string; name: string; kind: string; status?: string; serverVersion?: string };

export function registerClusters(program: Command, io: CliIo): void {
  const cluster = program.command('cluster').description('deployment targets (`local` always exists)');
  cluster.command('list').action(
    action(io, async (ctx) => {
      const rows = await ctx.api().list<Cluster>('/v1/clusters');
      printTable(io, ctx.json, rows, [
        ['ID', (r) => r.id],
        ['NAME', (r) => r.name],
        ['KIND', (r) => r.kind],
        ['STATUS', (r) => r.status],
        ['VERSION', (r) => r.serverVersion],
      ]);
    }),
  );
  cluster
    .command('register')
    .description('register a Kubernetes cluster (platform-admin)')
    .requiredOption('--name <name>')
    .option('--kubeconfig <file>', 'kubeconfig file to upload (stored sealed)')
    .option('--in-cluster', "use the control plane's own service account")
    .action(
      action<{ name: string; kubeconfig?: string; inCluster?: boolean }>(io, async (ctx, o) => {
        if (!o.kubeconfig === !o.inCluster) throw usage('give exactly one of --kubeconfig FILE or --in-cluster');
        let kubeconfig: string | undefined;
        if (o.kubeconfig) {
          try {
            kubeconfig = readFileSync(o.kubeconfig, 'utf8');
          } catch (err) {
            throw usage(`--kubeconfig: cannot read ${o.kubeconfig}: ${(err as Error).message}`);
          }
        }
        const body = { name: o.name, kind: 'kubernetes', ...(kubeconfig ? { kubeconfig } : { inCluster: true }) };
        printObject(io, ctx.json, await ctx.api().post('/v1/clusters', body));
      }),
    );
}
