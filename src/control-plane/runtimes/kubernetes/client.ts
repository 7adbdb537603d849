import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  loadYaml,
  PatchStrategy,
  VersionApi,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { ConsortiaError } from '../../../lib/errors.js';
import { KubernetesCodes } from './errors.js';
import type { Manifest } from './manifests/types.js';

/** Loads credentials from kubeconfig text or the pod's service account. */
export function loadKubeConfig(src: { kubeconfig?: string; inCluster?: boolean }): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (src.inCluster) kc.loadFromCluster();
    else if (src.kubeconfig) kc.loadFromString(src.kubeconfig);
    else throw new Error('neither kubeconfig nor inCluster given');
    if (!kc.getCurrentCluster()) throw new Error('kubeconfig has no current cluster');
  } catch (err) {
    throw new ConsortiaError(KubernetesCodes.K8S_INVALID_KUBECONFIG, `unusable kubeconfig: ${(err as Error).message}`);
  }
  return kc;
}

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export const refOf = (m: KubernetesObject): ObjectRef => ({
  apiVersion: m.apiVersion ?? '',
  kind: m.kind ?? '',
  name: m.metadata?.name ?? '',
  ...(m.metadata?.namespace ? { namespace: m.metadata.namespace } : {}),
});
export const refKey = (r: ObjectRef): string => `${r.kind}/${r.namespace ?? ''}/${r.name}`;

interface StatusBody {
  message?: string;
  reason?: string;
  details?: { causes?: { type?: string; message?: string; field?: string }[] };
}

function statusBody(err: ApiException<unknown>): StatusBody {
  const b = err.body;
  if (typeof b === 'string') {
    try {
      return JSON.parse(b) as StatusBody;
    } catch {
      return { message: b };
    }
  }
  return (b ?? {}) as StatusBody;
}

export function httpStatus(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

/** Conflicting managers named in a 409 apply answer, e.g. `conflict with "kubectl-edit" using apps/v1: .spec.replicas`. */
export function conflictManagers(details: Record<string, unknown> | undefined): string[] {
  const causes = (details?.['causes'] ?? []) as { message?: string }[];
  const out = new Set<string>();
  for (const c of causes) {
    const m = /conflict with "([^"]+)"/.exec(c.message ?? '');
    if (m?.[1]) out.add(m[1]);
  }
  return [...out];
}

/** Turns an API failure into a ConsortiaError with a stable code. */
export function toConsortiaError(err: unknown, op: string, ref: ObjectRef): ConsortiaError {
  if (err instanceof ConsortiaError) return err;
  const where = `${op} ${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
  if (err instanceof ApiException) {
    const body = statusBody(err);
    const details = { status: err.code, reason: body.reason, causes: body.details?.causes ?? [], object: ref };
    if (err.code === 409 && op === 'apply') {
      return new ConsortiaError(
        KubernetesCodes.K8S_APPLY_CONFLICT,
        `${where}: field conflict: ${body.message ?? ''}`,
        details,
      );
    }
    if (err.code === 401 || err.code === 403) {
      return new ConsortiaError(KubernetesCodes.K8S_FORBIDDEN, `${where}: ${body.message ?? 'forbidden'}`, details);
    }
    return new ConsortiaError(
      KubernetesCodes.K8S_API_ERROR,
      `${where}: HTTP ${err.code}: ${body.message ?? ''}`,
      details,
    );
  }
  const msg = (err as Error)?.message ?? String(err);
  return new ConsortiaError(
    KubernetesCodes.K8S_CLUSTER_UNREACHABLE,
    `${where}: ${msg}`,
    { object: ref },
    { cause: err },
  );
}

/** Thin typed layer over the generic object API: server-side apply, delete, read, list. */
export class KubeClient {
  readonly objects: KubernetesObjectApi;
  readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly version: VersionApi;

  constructor(
    readonly kc: KubeConfig,
    readonly fieldManager: string,
  ) {
    this.objects = KubernetesObjectApi.makeApiClient(kc);
    this.core = kc.makeApiClient(CoreV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.version = kc.makeApiClient(VersionApi);
  }

  /** Server-side apply, force=false: a field owned by another manager yields K8S_APPLY_CONFLICT. */
  async apply<T extends KubernetesObject>(m: Manifest, opts: { force?: boolean; dryRun?: boolean } = {}): Promise<T> {
    try {
      // Manifests are in wire form; patch() serializes through the typed model, which drops
      // wire names it does not map (NetworkPolicy `from`, `x-kubernetes-*`). Map them in first.
      return (await this.objects.patch(
        loadYaml<KubernetesObject>(JSON.stringify(m)),
        undefined,
        opts.dryRun ? 'All' : undefined,
        this.fieldManager,
        opts.force ?? false,
        PatchStrategy.ServerSideApply,
      )) as T;
    } catch (err) {
      throw toConsortiaError(err, 'apply', refOf(m as KubernetesObject));
    }
  }

  /** Deletes; absent is success. Returns whether the object existed. */
  async delete(
    ref: ObjectRef,
    propagationPolicy: 'Background' | 'Foreground' | 'Orphan' = 'Background',
  ): Promise<boolean> {
    try {
      await this.objects.delete(
        {
          apiVersion: ref.apiVersion,
          kind: ref.kind,
          metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) },
        },
        undefined,
        undefined,
        undefined,
        undefined,
        propagationPolicy,
      );
      return true;
    } catch (err) {
      if (httpStatus(err) === 404) return false;
      throw toConsortiaError(err, 'delete', ref);
    }
  }

  async read<T extends KubernetesObject>(ref: ObjectRef): Promise<T | undefined> {
    try {
      return (await this.objects.read({
        apiVersion: ref.apiVersion,
        kind: ref.kind,
        metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) },
      })) as T;
    } catch (err) {
      if (httpStatus(err) === 404) return undefined;
      throw toConsortiaError(err, 'read', ref);
    }
  }

  async list<T extends KubernetesObject>(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    labelSelector: string,
  ): Promise<T[]> {
    try {
      const res = await this.objects.list(
        apiVersion,
        kind,
        namespace,
        undefined,
        undefined,
        undefined,
        undefined,
        labelSelector,
      );
      return res.items as T[];
    } catch (err) {
      if (httpStatus(err) === 404) return [];
      throw toConsortiaError(err, 'list', { apiVersion, kind, name: '*', ...(namespace ? { namespace } : {}) });
    }
  }

  /** Whether the API server serves `resource` in group/version (discovery; no CRD read permission needed). */
  async serves(group: string, version: string, resource: string): Promise<boolean> {
    try {
      const list = await this.custom.getAPIResources({ group, version });
      return list.resources.some((r) => r.name === resource);
    } catch (err) {
      if (httpStatus(err) === 404) return false;
      throw toConsortiaError(err, 'discover', {
        apiVersion: `${group}/${version}`,
        kind: 'APIResourceList',
        name: resource,
      });
    }
  }

  async serverVersion(): Promise<{ gitVersion: string; major: string; minor: string; platform: string }> {
    const v = await this.version.getCode();
    return { gitVersion: v.gitVersion, major: v.major, minor: v.minor, platform: v.platform };
  }

  /** GET through the API server's proxy to one pod, ready or not (for a control plane outside the cluster). */
  async proxyGetPod(namespace: string, pod: string, port: number, path: string): Promise<string> {
    return (await this.core.connectGetNamespacedPodProxyWithPath({
      // Node APIs serve HTTPS only; the API server does not verify the pod's certificate on this hop.
      name: `https:${pod}:${port}`,
      namespace,
      path: path.replace(/^\//, ''),
    })) as string;
  }
}
