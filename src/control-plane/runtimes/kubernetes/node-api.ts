import type { V1Pod } from '@kubernetes/client-node';
import { Agent, fetch } from 'undici';
import type { KubeClient } from './client.js';
import type { OwnedInformers } from './informers.js';
import { namespaceName, nodeObjectNames } from './names.js';
import { nodePodServerName } from './node-tls.js';
import type { KubernetesRuntimeOptions } from './options.js';
import { NodeMap, type NodeRef } from './reconcile-request.js';
import type { NodeReport } from './status.js';

type Identity = NonNullable<NodeReport['identity']>;

/**
 * A node's own API, asked of its pod and not of its client Service: a Service routes only to
 * ready pods, and a node in key-generation mode is not ready (no genesis) while its identity is
 * exactly what the ceremony needs. A node's identity never changes, so it is asked once.
 */
export class NodeApi {
  private readonly identities = new NodeMap<Identity>();
  /** Per node: trusts only the node CA and expects the pod's DNS name in the certificate (it is called by IP). */
  private readonly agents = new NodeMap<Agent>();

  constructor(
    private readonly client: KubeClient,
    private readonly opts: KubernetesRuntimeOptions,
    private readonly informers: OwnedInformers,
    private readonly timeoutMs: number,
    /** PEM certificate of the node CA. */
    private readonly nodeCa: () => Promise<string>,
  ) {}

  pod(r: NodeRef): V1Pod | undefined {
    return this.informers.get(
      'Pod',
      namespaceName(this.opts.namespacePrefix, r.consortiumId),
      nodeObjectNames(r.nodeId).pod,
    ) as V1Pod | undefined;
  }

  identity(r: NodeRef): Identity | undefined {
    return this.identities.get(r);
  }

  /** The node is deleted: a node re-created under its id has a new key. */
  forget(r: NodeRef): void {
    this.identities.delete(r);
    void this.agents.get(r)?.close();
    this.agents.delete(r);
  }

  /** Closes every connection (runtime closed). */
  async close(): Promise<void> {
    await Promise.all([...this.agents.values()].map((a) => a.close().catch(() => undefined)));
  }

  private async agent(r: NodeRef, namespace: string): Promise<Agent> {
    let a = this.agents.get(r);
    if (!a) {
      // servername: the pod's DNS name, which the certificate carries (node-tls.ts), is what is
      // verified, though the connection goes to the pod IP the API server reports.
      a = new Agent({
        connect: { ca: await this.nodeCa(), servername: nodePodServerName(r.nodeId, namespace, this.opts) },
      });
      this.agents.set(r, a);
    }
    return a;
  }

  private async get(r: NodeRef, path: string): Promise<unknown> {
    const ns = namespaceName(this.opts.namespacePrefix, r.consortiumId);
    if (this.opts.nodeAccess === 'proxy') {
      const text = await Promise.race([
        this.client.proxyGetPod(ns, nodeObjectNames(r.nodeId).pod, this.opts.ports.api, path),
        new Promise<never>((_, rej) => setTimeout(() => rej(new Error('timeout')), this.timeoutMs).unref()),
      ]);
      return typeof text === 'string' ? (JSON.parse(text) as unknown) : text;
    }
    const ip = this.pod(r)?.status?.podIP;
    if (!ip) throw new Error('pod has no IP yet');
    const host = ip.includes(':') ? `[${ip}]` : ip;
    const res = await fetch(`https://${host}:${this.opts.ports.api}${path}`, {
      signal: AbortSignal.timeout(this.timeoutMs),
      dispatcher: await this.agent(r, ns),
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return res.json();
  }

  /** Best effort: the node's own view, when it answers. */
  async report(r: NodeRef): Promise<NodeReport> {
    const report: NodeReport = {};
    const cached = this.identities.get(r);
    if (cached) report.identity = cached;
    try {
      if (!cached) {
        const id = (await this.get(r, '/v1/identity')) as { publicKey?: string; proofOfPossession?: string };
        if (typeof id.publicKey === 'string' && typeof id.proofOfPossession === 'string') {
          report.identity = { publicKey: id.publicKey, proofOfPossession: id.proofOfPossession };
          this.identities.set(r, report.identity);
        }
      }
      const st = (await this.get(r, '/v1/status')) as NodeReport['status'];
      if (st && typeof st === 'object') report.status = st;
    } catch {
      // unreachable (keygen mode has no /v1/status; API not up yet): fall back to what the API server says
    }
    return report;
  }
}
