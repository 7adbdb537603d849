/**
 * In-test Runtime. `FakeWorld` outlives runtime/reconciler instances the way real
 * processes outlive a killed control plane; nodes are keyed by nodeId like real runtimes.
 */
import { generateKeyPair, proofOfPossessionPayload, signDomain, toHex, type KeyPair } from '../../src/chain/index.js';
import type { NodeObservation, NodeSpec, Runtime } from '../../src/control-plane/runtimes/runtime.js';

export interface FakeNode {
  key: KeyPair;
  spec: NodeSpec;
  port: number;
}

export class FakeWorld {
  nodes = new Map<string, FakeNode>();
  creates = 0;
  applies = 0;
  deletes = 0;
  /** apply() creates the node and then never returns (the control plane is "killed" mid-call). */
  hangAfterCreate = false;
  /** apply() throws this many times before succeeding. */
  failApplies = 0;
  private port = 30000;

  secretKeysHex(): string[] {
    return [...this.nodes.values()].map((n) => toHex(n.key.secretKey));
  }
}

export class FakeRuntime implements Runtime {
  readonly kind = 'local' as const;
  constructor(readonly world: FakeWorld) {}

  async apply(spec: NodeSpec): Promise<void> {
    const w = this.world;
    w.applies++;
    if (w.failApplies > 0) {
      w.failApplies--;
      throw new Error('transient runtime failure');
    }
    const existing = w.nodes.get(spec.nodeId);
    if (existing) {
      existing.spec = spec;
      return;
    }
    w.creates++;
    w.nodes.set(spec.nodeId, { key: generateKeyPair(), spec, port: 30000 + w.nodes.size });
    if (w.hangAfterCreate) await new Promise<void>(() => undefined);
  }

  async delete(ref: Pick<NodeSpec, 'nodeId' | 'consortiumId'>): Promise<void> {
    if (this.world.nodes.delete(ref.nodeId)) this.world.deletes++;
  }

  async observe(ref: Pick<NodeSpec, 'nodeId' | 'consortiumId'>): Promise<NodeObservation> {
    const n = this.world.nodes.get(ref.nodeId);
    if (!n) return { phase: 'Absent', ready: false };
    const pk = n.key.publicKey;
    const pop = signDomain('consortia/pop/v1', n.key.secretKey, proofOfPossessionPayload(n.spec.chainId, pk));
    return {
      phase: 'Running',
      identity: { publicKey: toHex(pk), proofOfPossession: toHex(pop) },
      endpoints: {
        api: `http://127.0.0.9:${n.port}`,
        p2p: `127.0.0.9:${n.port + 1000}`,
        metrics: `http://127.0.0.9:${n.port}/metrics`,
      },
      ready: n.spec.mode === 'run',
    };
  }

  async close(): Promise<void> {}
}
