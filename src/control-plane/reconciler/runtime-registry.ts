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
  /** This cluster's runtime settings over the platform defaults. */
  runtimeOptions?: Record<string, unknown>;
}
export type RuntimeFactory = (cluster: ClusterRuntimeInput) => Runtime;

const factories = new Map<string, RuntimeFactory>();

export function registerRuntimeFactory(kind: string, factory: RuntimeFactory): void {
  factories.set(kind, factory);
}

export class RuntimeResolver {
  /**
   * One runtime per cluster, cached as a promise: concurrent first calls (a pass reconciles many
   * nodes at once) must share one instance, or stray runtimes would keep watching and repairing.
   */
  private readonly cache = new Map<string, Promise<Runtime>>();

  constructor(
    private readonly opts: {
      local?: Runtime;
      encryptionKey?: Buffer;
      nodeImage?: string;
      loadCluster: (id: string) => Promise<Cluster | undefined>;
    },
  ) {}

  forCluster(clusterId: string): Promise<Runtime> {
    let rt = this.cache.get(clusterId);
    if (!rt) {
      rt = this.create(clusterId);
      this.cache.set(clusterId, rt);
      rt.catch(() => this.cache.delete(clusterId)); // an unknown cluster may be registered later
    }
    return rt;
  }

  private async create(clusterId: string): Promise<Runtime> {
    const cluster = await this.opts.loadCluster(clusterId);
    if (!cluster) throw new ConsortiaError(CpCodes.NOT_FOUND, `cluster ${clusterId} not found`);
    if (cluster.kind === 'local') {
      if (!this.opts.local) throw new ConsortiaError(CpCodes.UNSUPPORTED, 'no local runtime configured');
      return this.opts.local;
    }
    const f = factories.get(cluster.kind);
    if (!f) throw new ConsortiaError(CpCodes.UNSUPPORTED, `no runtime registered for cluster kind ${cluster.kind}`);
    const kubeconfig =
      cluster.kubeconfigSealed && this.opts.encryptionKey
        ? openSecret(this.opts.encryptionKey, cluster.kubeconfigSealed, `cluster/${cluster.id}`)
        : undefined;
    return f({
      id: cluster.id,
      name: cluster.name,
      kind: 'kubernetes',
      inCluster: cluster.inCluster,
      ...(kubeconfig ? { kubeconfig } : {}),
      ...(this.opts.nodeImage ? { nodeImage: this.opts.nodeImage } : {}),
      ...(cluster.runtimeOptions ? { runtimeOptions: cluster.runtimeOptions } : {}),
    });
  }

  async closeAll(): Promise<void> {
    const all = await Promise.allSettled(this.cache.values());
    this.cache.clear();
    for (const r of new Set(all.flatMap((x) => (x.status === 'fulfilled' ? [x.value] : []))))
      await r.close().catch(() => undefined);
  }
}
