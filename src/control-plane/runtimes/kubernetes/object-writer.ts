import type { KubernetesObject } from '@kubernetes/client-node';
import { ConsortiaError } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/logging.js';
import { conflictManagers, refKey, refOf, type KubeClient, type ObjectRef } from './client.js';
import { KubernetesCodes } from './errors.js';
import type { Manifest } from './manifests/index.js';
import type { KubernetesRuntimeOptions } from './options.js';

/** Marker of the last state we wrote: generation for kinds with one (spec edits only), else resourceVersion. */
export function writeMarker(o: KubernetesObject): string {
  return o.metadata?.generation !== undefined && o.kind === 'StatefulSet'
    ? `g${o.metadata.generation}`
    : `rv${o.metadata?.resourceVersion ?? ''}`;
}

/**
 * Writes the runtime's objects (server-side apply honoring the drift policy, deletes) and
 * remembers what it last wrote to each, so that its own writes coming back as watch events are
 * told apart from changes made by others.
 */
export class ObjectWriter {
  private readonly lastWritten = new Map<string, string>();

  constructor(
    private readonly client: KubeClient,
    private readonly opts: KubernetesRuntimeOptions,
    private readonly log: Logger,
  ) {}

  /** Server-side apply: imperative edits are reclaimed (driftRepair), other Apply owners are never forced. */
  async apply(m: Manifest): Promise<KubernetesObject> {
    let res: KubernetesObject;
    try {
      res = await this.client.apply(m);
    } catch (err) {
      if (
        !(err instanceof ConsortiaError) ||
        err.code !== KubernetesCodes.K8S_APPLY_CONFLICT ||
        this.opts.driftRepair !== 'reclaim-updates'
      )
        throw err;
      const managers = conflictManagers(err.details);
      const live = await this.client.read(refOf(m as KubernetesObject));
      const appliers = new Set(
        (live?.metadata?.managedFields ?? []).filter((f) => f.operation === 'Apply').map((f) => f.manager),
      );
      if (managers.length === 0 || managers.some((mgr) => appliers.has(mgr))) throw err;
      this.log.warn('reclaiming fields changed imperatively (drift)', {
        object: refKey(refOf(m as KubernetesObject)),
        managers,
      });
      res = await this.client.apply(m, { force: true });
    }
    this.lastWritten.set(refKey(refOf(res)), writeMarker(res));
    return res;
  }

  async delete(ref: ObjectRef): Promise<void> {
    await this.client.delete(ref);
    this.lastWritten.delete(refKey(ref));
  }

  /** Whether `o` (of `kind`) is exactly the state this runtime last wrote. */
  isOwnWrite(kind: string, o: KubernetesObject): boolean {
    return this.lastWritten.get(refKey({ ...refOf(o), kind })) === writeMarker({ ...o, kind });
  }

  /** The object is gone: whatever comes next is not ours until we write it. */
  forget(kind: string, o: KubernetesObject): void {
    this.lastWritten.delete(refKey({ ...refOf(o), kind }));
  }
}

/** Whether the cluster serves ServiceMonitors (Prometheus Operator), re-checked every crdCheckIntervalMs. */
export class ServiceMonitorDiscovery {
  private cached: { value: boolean; at: number } | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly checkIntervalMs: number,
    private readonly log: Logger,
  ) {}

  async available(): Promise<boolean> {
    const now = Date.now();
    if (this.cached && now - this.cached.at < this.checkIntervalMs) return this.cached.value;
    let value = false;
    try {
      value = await this.client.serves('monitoring.coreos.com', 'v1', 'servicemonitors');
    } catch (err) {
      this.log.warn('ServiceMonitor discovery failed', { error: (err as Error).message });
    }
    this.cached = { value, at: now };
    return value;
  }
}
