import { ConsortiaError } from '../../../lib/errors.js';
import { KubeClient, httpStatus, loadKubeConfig } from './client.js';
import { KubernetesCodes } from './errors.js';

export interface ClusterCheck {
  gitVersion: string;
  major: string;
  minor: string;
  platform: string;
  server: string;
}

/**
 * Registration-time check of a cluster: credentials parse, the API server answers /version,
 * and the credentials can list namespaces. Throws a ConsortiaError with a clear message.
 */
export async function checkCluster(
  src: { kubeconfig?: string; inCluster?: boolean },
  timeoutMs = 10_000,
): Promise<ClusterCheck> {
  const kc = loadKubeConfig(src);
  const server = kc.getCurrentCluster()?.server ?? '';
  const client = new KubeClient(kc, 'consortia');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ConsortiaError(
            KubernetesCodes.K8S_CLUSTER_UNREACHABLE,
            `cluster ${server} did not answer within ${timeoutMs} ms`,
            { server },
          ),
        ),
      timeoutMs,
    );
  });
  try {
    const version = await Promise.race([
      client.serverVersion().catch((err: unknown) => {
        const status = httpStatus(err);
        if (status === 401 || status === 403) {
          throw new ConsortiaError(
            KubernetesCodes.K8S_FORBIDDEN,
            `cluster ${server} rejected the credentials (HTTP ${status})`,
            { server },
          );
        }
        throw new ConsortiaError(
          KubernetesCodes.K8S_CLUSTER_UNREACHABLE,
          `cluster ${server} is unreachable: ${(err as Error)?.message ?? String(err)}`,
          { server },
        );
      }),
      timeout,
    ]);
    // /version is open to anyone; prove the credentials work too.
    await Promise.race([
      client.core.listNamespace({ limit: 1 }).catch((err: unknown) => {
        const status = httpStatus(err);
        throw new ConsortiaError(
          status === 401 || status === 403 ? KubernetesCodes.K8S_FORBIDDEN : KubernetesCodes.K8S_CLUSTER_UNREACHABLE,
          `cluster ${server}: credentials cannot list namespaces (${status ? `HTTP ${status}` : (err as Error)?.message})`,
          { server },
        );
      }),
      timeout,
    ]);
    return { ...version, server };
  } finally {
    clearTimeout(timer);
  }
}
