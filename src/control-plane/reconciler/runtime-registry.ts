/**
 * Runtimes per cluster. `local` is the embedded runtime handed in at start; other kinds
 * come from factories registered by their owners (kubernetes: registerRuntimeFactory
 * ('kubernetes', (cluster) => Runtime)). Credentials are unsealed only here, in memory.
 */
import { ConsortiaError } from '../../lib/errors.js';
import { CpCodes } from '../domain/errors.js';
import { openSecret } from '../domain/secret-box.js';
import type { Cluster } from '../domain/types.js';
import type { Runtime } from '../runtimes/runtime.js';

export interface ClusterRuntimeInput {
  id: string;
  name: string;
  kind: 'kubernetes';
  inCluster: boolean;
  /** Decrypted kubeconfig (never persisted in clear). */
  kubeconfig?: string;
  nodeImage?: string;
}
export type RuntimeFactory = (cluster: ClusterRuntimeInput) => Runtime;

const factories = new Map<string, RuntimeFactory>();

export function registerRuntimeFactory(kind: string, factory: RuntimeFactory): void {
  factories.set(kind, factory);
}

export class RuntimeResolver {
  private readonly cache = new Map<string, Runtime>();

  constructor(private readonly opts: { local?: Runtime; encryptionKey?: Buffer; nodeImage?: string; loadCluster: (id: string) => Promise<Cluster | undefined> }) {}

  async forCluster(clusterId: string): Promise<Runtime> {
    const hit = this.cache.get(clusterId);
    if (hit) return hit;
    const cluster = await this.opts.loadCluster(clusterId);
    if (!cluster) throw new ConsortiaError(CpCodes.NOT_FOUND, `cluster ${clusterId} not found`);
    let rt: Runtime;
    if (cluster.kind === 'local') {
      if (!this.opts.local) throw new ConsortiaError(CpCodes.UNSUPPORTED, 'no local runtime configured');
      rt = this.opts.local;
    } else {
      const f = factories.get(cluster.kind);
      if (!f) throw new ConsortiaError(CpCodes.UNSUPPORTED, `no runtime registered for cluster kind ${cluster.kind}`);
      const kubeconfig = cluster.kubeconfigSealed && this.opts.encryptionKey ? openSecret(this.opts.encryptionKey, cluster.kubeconfigSealed, `cluster/${cluster.id}`) : undefined;
      rt = f({ id: cluster.id, name: cluster.name, kind: 'kubernetes', inCluster: cluster.inCluster, ...(kubeconfig ? { kubeconfig } : {}), ...(this.opts.nodeImage ? { nodeImage: this.opts.nodeImage } : {}) });
    }
    this.cache.set(clusterId, rt);
    return rt;
  }

  async closeAll(): Promise<void> {
    const all = new Set(this.cache.values());
    this.cache.clear();
    for (const rt of all) await rt.close().catch(() => undefined);
  }
}
