import {
  AppsV1Api,
  CoreV1Api,
  NetworkingV1Api,
  PolicyV1Api,
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesObject,
  type ObjectCache,
} from '@kubernetes/client-node';
import type { Logger } from '../../../lib/logging.js';
import { MANAGED_SELECTOR } from './names.js';

export type WatchedKind = 'StatefulSet' | 'Service' | 'ConfigMap' | 'Pod' | 'NetworkPolicy' | 'PodDisruptionBudget';
export type WatchEvent = 'add' | 'update' | 'delete';
export type WatchHandler = (kind: WatchedKind, event: WatchEvent, obj: KubernetesObject) => void;

type Cached = Informer<KubernetesObject> & ObjectCache<KubernetesObject>;

/**
 * One list+watch informer per kind this runtime owns, cluster-wide, filtered by the
 * managed-by label. Informers keep a cache (read by observe()) and call `onEvent`; a broken
 * watch is restarted with backoff (the informer relists, so no event is lost for good).
 */
export class OwnedInformers {
  private readonly informers = new Map<WatchedKind, Cached>();
  private readonly restartTimers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly kc: KubeConfig,
    private readonly onEvent: WatchHandler,
    private readonly log: Logger,
    private readonly backoff: { baseMs: number; maxMs: number },
  ) {}

  async start(): Promise<void> {
    const apps = this.kc.makeApiClient(AppsV1Api);
    const core = this.kc.makeApiClient(CoreV1Api);
    const net = this.kc.makeApiClient(NetworkingV1Api);
    const policy = this.kc.makeApiClient(PolicyV1Api);
    const labelSelector = MANAGED_SELECTOR;
    const defs: [
      WatchedKind,
      string,
      () => Promise<{ items: KubernetesObject[]; metadata?: { resourceVersion?: string } }>,
    ][] = [
      ['StatefulSet', '/apis/apps/v1/statefulsets', () => apps.listStatefulSetForAllNamespaces({ labelSelector })],
      ['Service', '/api/v1/services', () => core.listServiceForAllNamespaces({ labelSelector })],
      ['ConfigMap', '/api/v1/configmaps', () => core.listConfigMapForAllNamespaces({ labelSelector })],
      ['Pod', '/api/v1/pods', () => core.listPodForAllNamespaces({ labelSelector })],
      [
        'NetworkPolicy',
        '/apis/networking.k8s.io/v1/networkpolicies',
        () => net.listNetworkPolicyForAllNamespaces({ labelSelector }),
      ],
      [
        'PodDisruptionBudget',
        '/apis/policy/v1/poddisruptionbudgets',
        () => policy.listPodDisruptionBudgetForAllNamespaces({ labelSelector }),
      ],
    ];
    await Promise.all(
      defs.map(async ([kind, path, list]) => {
        const inf = makeInformer(this.kc, path, list as never, labelSelector) as Cached;
        inf.on('add', (o) => this.onEvent(kind, 'add', o));
        inf.on('update', (o) => this.onEvent(kind, 'update', o));
        inf.on('delete', (o) => this.onEvent(kind, 'delete', o));
        let failures = 0;
        inf.on('connect', () => {
          failures = 0;
        });
        inf.on('error', (err) => {
          if (this.stopped) return;
          failures++;
          const delay = Math.min(this.backoff.maxMs, this.backoff.baseMs * 2 ** Math.min(failures, 16));
          this.log.warn('watch failed; restarting', {
            kind,
            delayMs: delay,
            error: String((err as Error)?.message ?? err),
          });
          const t = setTimeout(() => {
            this.restartTimers.delete(t);
            if (!this.stopped) inf.start().catch(() => undefined);
          }, delay);
          this.restartTimers.add(t);
        });
        this.informers.set(kind, inf);
        await inf.start();
      }),
    );
  }

  get(kind: WatchedKind, namespace: string, name: string): KubernetesObject | undefined {
    return this.informers.get(kind)?.get(name, namespace);
  }

  list(kind: WatchedKind, namespace?: string): readonly KubernetesObject[] {
    return this.informers.get(kind)?.list(namespace) ?? [];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.restartTimers) clearTimeout(t);
    this.restartTimers.clear();
    await Promise.all([...this.informers.values()].map((i) => i.stop().catch(() => undefined)));
    this.informers.clear();
  }
}
