/**
 * Partition scenarios on a real 4-validator network (test and bench support, not a test): cuts
 * P2P links with iptables (netfault.ts), keeps clients committing transactions through it, and
 * measures the recovery after each heal. Used by test/e2e/partitions.test.ts (which asserts) and
 * bench/faults.ts (which prints the figures).
 */
import { encodeTx, generateKeyPair, signTx, toHex, type KeyPair } from '../../src/chain/index.js';
import { proposerFor } from '../../src/consensus/index.js';
import { ChainNet, waitUntil, type NetOptions, type NodeHandle } from './chain-net.js';
import { LinkCutter, type P2PEndpoint } from './netfault.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Figures of one scenario; times in seconds from the heal (or from the cut, for stall_s). */
export interface Recovery {
  scenario: string;
  cut_s: number;
  /** Until every node finalized a block above its height at the heal (the cut-off ones are back in consensus or sync). */
  heal_to_block_s: number;
  /** Until every node is at least one block above the highest height at the heal and every link is up again. */
  catchup_s: number;
  /** Until every node is connected to all the others again. */
  reconnect_s: number;
  /** From the cut until the side holding a quorum (if any) finalized its next block. */
  stall_s: number | null;
  heights_at_cut: number[];
  heights_at_heal: number[];
}

/**
 * Clients that commit transfers one at a time per account (`POST /v1/txs?wait=commit`), going
 * round the nodes; a tx that is not committed within the wait is resubmitted (same bytes, so
 * idempotent) to the next node. Every commit acknowledged to a client is recorded with its height.
 */
export class Committer {
  readonly acked = new Map<string, number>();
  private readonly accounts: KeyPair[];
  private running = false;
  private loops: Promise<void>[] = [];
  submitted = 0;

  private net!: ChainNet;

  constructor(accounts: number) {
    this.accounts = Array.from({ length: accounts }, () => generateKeyPair());
  }

  /** The network to commit on (its genesis funds genesisAccounts()). */
  attach(net: ChainNet): void {
    this.net = net;
  }

  genesisAccounts(): { publicKey: Uint8Array; balances: { asset: string; amount: bigint }[] }[] {
    return this.accounts.map((a) => ({ publicKey: a.publicKey, balances: [{ asset: 'USD', amount: 1_000_000_000n }] }));
  }

  start(): void {
    this.running = true;
    this.loops = this.accounts.map((a, i) => this.loop(a, i));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async loop(a: KeyPair, k: number): Promise<void> {
    let nonce = 0;
    let turn = k;
    const to = this.accounts[(k + 1) % this.accounts.length]!.publicKey;
    while (this.running) {
      const bytes = encodeTx(
        signTx(
          {
            chainId: this.net.chainId,
            signer: a.publicKey,
            nonce,
            body: { type: 'transfer', asset: 'USD', to, amount: 1n },
          },
          a.secretKey,
        ),
      );
      this.submitted++;
      // the same signed bytes until some node acknowledges their commit
      while (this.running) {
        const n = this.net.nodes[turn++ % 4]!;
        try {
          const r = await fetch(`${n.api}/v1/txs?wait=commit&timeoutMs=8000`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ tx: toHex(bytes) }),
            signal: AbortSignal.timeout(12_000),
          });
          const body = (await r.json()) as { status?: string; hash?: string; height?: number };
          if (r.status === 200 && body.status === 'committed' && body.hash && typeof body.height === 'number') {
            this.acked.set(body.hash, body.height);
            nonce++;
            break;
          }
        } catch {
          /* node busy or timed out: next node */
        }
        await sleep(100);
      }
    }
  }

  /** Every acknowledged tx is on every node, at the height it was acknowledged at. */
  async missing(nodes: NodeHandle[]): Promise<string[]> {
    const out: string[] = [];
    for (const [hash, height] of this.acked) {
      for (const n of nodes) {
        const r = await fetch(`${n.api}/v1/txs/${hash}`, { signal: AbortSignal.timeout(5_000) });
        const body = r.ok ? ((await r.json()) as { height?: number }) : null;
        if (body?.height !== height)
          out.push(`${hash.slice(0, 12)}@${height} on node${n.index}: ${r.status} ${body?.height ?? ''}`);
      }
    }
    return out;
  }
}

export interface LabOptions {
  /** iptables chain tag (netfault.ts): distinct per kind of run, so a test and a bench do not clean up each other's. */
  tag: string;
  net?: Partial<NetOptions>;
  committers?: number;
}

export class PartitionLab {
  readonly net: ChainNet;
  readonly cutter: LinkCutter;
  readonly committer: Committer;
  private validatorIds: string[] = [];

  constructor(readonly o: LabOptions) {
    this.committer = new Committer(o.committers ?? 4);
    this.net = new ChainNet({
      validators: 4,
      ...o.net,
      accounts: [...this.committer.genesisAccounts(), ...(o.net?.accounts ?? [])],
    });
    this.committer.attach(this.net);
    this.cutter = new LinkCutter(o.tag);
  }

  get nodes(): NodeHandle[] {
    return this.net.nodes;
  }
  get endpoints(): P2PEndpoint[] {
    return this.net.nodes.map((n) => ({ host: n.host, p2pPort: n.p2pPort }));
  }

  async start(): Promise<void> {
    this.cutter.setup();
    await this.net.init();
    this.validatorIds = this.net.nodes.map((n) => toHex(n.key.publicKey));
    await this.net.startAll();
    await this.net.waitHeight(this.net.nodes, 2);
    await this.waitMesh(30_000);
  }

  async stop(): Promise<void> {
    try {
      this.cutter.teardown();
    } finally {
      await this.net.stop();
    }
  }

  async heights(): Promise<number[]> {
    return Promise.all(this.net.nodes.map((n) => this.net.height(n)));
  }
  async peerCounts(): Promise<number[]> {
    return Promise.all(this.net.nodes.map(async (n) => (await this.net.status(n))?.peers.length ?? -1));
  }
  async meshUp(): Promise<boolean> {
    return (await this.peerCounts()).every((c) => c === this.net.nodes.length - 1);
  }
  async waitMesh(ms: number): Promise<void> {
    await waitUntil(() => this.meshUp(), ms, 'every node connected to every other');
  }

  /** Index of the validator proposing round 0 of `height` (the deterministic rotation). */
  proposerOf(height: number): number {
    const id = proposerFor(
      this.validatorIds.map((id) => ({ id, power: 1 })),
      height,
      0,
    );
    return this.validatorIds.indexOf(id);
  }

  /**
   * Applies `cut` (after `before`, e.g. waiting for the right moment), holds it `holdMs` (the
   * partition's own duration, the only fixed wait), heals, and measures the recovery, polling.
   * `quorumSide`: nodes that keep a quorum during the cut (their next block gives stall_s).
   */
  async scenario(
    name: string,
    cut: () => void | Promise<void>,
    holdMs: number,
    quorumSide: number[] = [],
    limitMs = 120_000,
  ): Promise<Recovery> {
    await cut();
    const cutAt = Date.now();
    const atCut = await this.heights();
    let stall: number | null = null;
    const base = Math.max(...quorumSide.map((i) => atCut[i]!), 0);
    while (Date.now() - cutAt < holdMs) {
      if (stall === null && quorumSide.length > 0) {
        const hs = await Promise.all(quorumSide.map((i) => this.net.height(this.net.nodes[i]!)));
        if (Math.max(...hs) > base) stall = (Date.now() - cutAt) / 1000;
      }
      await sleep(Math.min(100, Math.max(0, holdMs - (Date.now() - cutAt))));
    }
    const atHeal = await this.heights();
    const top = Math.max(...atHeal);
    this.cutter.heal();
    const healAt = Date.now();
    let block: number | null = null,
      catchup: number | null = null,
      reconnect: number | null = null;
    while ((block === null || catchup === null || reconnect === null) && Date.now() - healAt < limitMs) {
      const [hs, mesh] = await Promise.all([this.heights(), this.meshUp()]);
      const t = (Date.now() - healAt) / 1000;
      if (block === null && hs.every((h, i) => h > atHeal[i]!)) block = t;
      if (reconnect === null && mesh) reconnect = t;
      if (catchup === null && reconnect !== null && hs.every((h) => h > top)) catchup = t;
      await sleep(100);
    }
    if (block === null || catchup === null || reconnect === null) {
      throw new Error(
        `${name}: no recovery within ${limitMs / 1000} s after the heal (block ${block}, catch-up ${catchup}, reconnect ${reconnect}); heights ${(await this.heights()).join(',')}, peers ${(await this.peerCounts()).join(',')}`,
      );
    }
    return {
      scenario: name,
      cut_s: holdMs / 1000,
      heal_to_block_s: block,
      catchup_s: catchup,
      reconnect_s: reconnect,
      stall_s: stall,
      heights_at_cut: atCut,
      heights_at_heal: atHeal,
    };
  }

  /** Waits for the moment a block is finalized and returns the proposer of the next height (it is about to propose). */
  async nextProposerAtBlock(): Promise<number> {
    const h0 = Math.max(...(await this.heights()));
    let h = h0;
    await waitUntil(
      async () => {
        h = Math.max(...(await this.heights()));
        return h > h0;
      },
      30_000,
      'a new block',
    );
    return this.proposerOf(h + 1);
  }

  /** Every height up to the lowest common one has one hash on all nodes; returns that height. */
  async checkAgreement(): Promise<number> {
    const h = Math.min(...(await this.heights()));
    await this.net.agreedHashes(this.net.nodes, h);
    return h;
  }
}
