import { createHash } from 'node:crypto';
import { issueServerCert, type CertificateAuthority } from '../../../lib/tls-ca.js';
import type { NodeTlsMaterial } from './manifests/types.js';
import { nodeObjectNames } from './names.js';
import type { KubernetesRuntimeOptions } from './options.js';
import { NodeMap, type NodeRef } from './reconcile-request.js';

/**
 * DNS names a node's certificate is valid for: its client Service in every form a pod's resolver
 * accepts (svc, svc.ns, svc.ns.svc, svc.ns.svc.<domain>) and its pod's stable name behind the
 * headless Service (what the control plane and other clients verify when they reach one pod).
 */
export function nodeCertNames(
  nodeId: string,
  namespace: string,
  opts: Pick<KubernetesRuntimeOptions, 'clusterDomain'>,
): string[] {
  const n = nodeObjectNames(nodeId);
  const svc = n.clientService;
  const pod = `${n.pod}.${n.headlessService}.${namespace}.svc`;
  return [
    `${svc}.${namespace}.svc.${opts.clusterDomain}`,
    svc,
    `${svc}.${namespace}`,
    `${svc}.${namespace}.svc`,
    `${pod}.${opts.clusterDomain}`,
    pod,
  ];
}

/** The name the control plane expects in a node's certificate when it calls the node's pod directly. */
export function nodePodServerName(
  nodeId: string,
  namespace: string,
  opts: Pick<KubernetesRuntimeOptions, 'clusterDomain'>,
): string {
  const n = nodeObjectNames(nodeId);
  return `${n.pod}.${n.headlessService}.${namespace}.svc.${opts.clusterDomain}`;
}

/**
 * Issues each node its server certificate, signed by the node CA, and keeps it for as long as the
 * CA and the names stay the same. The runtime may not read Secrets back (the chart's RBAC), so after
 * a control-plane restart a node gets a fresh certificate in its Secret: a running node keeps
 * serving the one it loaded (still signed by the same CA) and loads the new one at its next start.
 * The pod template carries `digest` (CA + names), not the certificate, so a re-issue alone never
 * restarts a pod; a new CA or new names do.
 */
export class NodeCertificates {
  private readonly issued = new NodeMap<NodeTlsMaterial>();

  constructor(private readonly ca: () => Promise<CertificateAuthority>) {}

  async forNode(
    r: NodeRef,
    namespace: string,
    opts: Pick<KubernetesRuntimeOptions, 'clusterDomain'>,
  ): Promise<NodeTlsMaterial> {
    const ca = await this.ca();
    const names = nodeCertNames(r.nodeId, namespace, opts);
    const digest = createHash('sha256')
      .update(ca.fingerprint)
      .update('\0')
      .update(names.join(','))
      .digest('hex')
      .slice(0, 16);
    const have = this.issued.get(r);
    if (have?.digest === digest) return have;
    const made = await issueServerCert(ca, names);
    const material: NodeTlsMaterial = { cert: made.cert, key: made.key, ca: ca.cert, digest };
    this.issued.set(r, material);
    return material;
  }

  /** The node is deleted: a node re-created under its id gets a new certificate. */
  forget(r: NodeRef): void {
    this.issued.delete(r);
  }
}
