import {
  blockHash,
  computeBodyRoots,
  decodeTx,
  generateKeyPair,
  merkleProof,
  sha256,
  signGenesisApproval,
  signProofOfPossession,
  toHex,
  txHash,
  verifySealedGenesis,
  verifyTxSignature,
  DEFAULT_PARAMS,
  type Block,
  type CommitCertificate,
  type Genesis,
  type SealedGenesis,
  type KeyPair,
} from '../../../src/chain/index.js';
import { ConsortiaError } from '../../../src/lib/errors.js';
import type {
  AccountLookup,
  NewBlockEvent,
  NodeApiBackend,
  NodeStatus,
  StateLookup,
  SubmitTxOptions,
  TxLookup,
  TxSubmitResult,
} from '../../../src/node/rpc/backend.js';

/** A sealed genesis with one member and one validator, signed for real. */
export function makeSealedGenesis(chainId = 'test-chain'): {
  sealed: SealedGenesis;
  validator: KeyPair;
  admin: KeyPair;
} {
  const validator = generateKeyPair();
  const admin = generateKeyPair();
  const genesis: Genesis = {
    chainId,
    genesisTime: 1_700_000_000_000,
    params: DEFAULT_PARAMS,
    members: [{ memberId: 'org1', name: 'Org 1', adminKeys: [admin.publicKey] }],
    validators: [
      {
        memberId: 'org1',
        publicKey: validator.publicKey,
        power: 1,
        proofOfPossession: signProofOfPossession(chainId, validator.secretKey, validator.publicKey),
      },
    ],
    nodes: [{ memberId: 'org1', publicKey: validator.publicKey, role: 'validator' }],
    accounts: [],
  };
  return {
    sealed: { genesis, approvals: [signGenesisApproval(genesis, 'org1', admin.secretKey, admin.publicKey)] },
    validator,
    admin,
  };
}

/**
 * In-memory NodeApiBackend for route tests: admission checks signature and nonce, a
 * count-capped mempool, and `commitPending()` to seal a block and notify subscribers.
 */
export class FakeBackend implements NodeApiBackend {
  sealed: SealedGenesis | null;
  readonly nodeKey = generateKeyPair();
  mempool: Uint8Array[] = [];
  mempoolCap = 1000;
  blocks: Block[] = [];
  commits: CommitCertificate[] = [];
  lowestHeight = 1;
  nonces = new Map<string, number>();
  txIndex = new Map<string, { height: number; index: number }>();
  listeners = new Set<(e: NewBlockEvent) => void>();
  waiters = new Map<string, (r: TxSubmitResult) => void>();
  ready = true;

  constructor(
    readonly chainId: string,
    sealed: SealedGenesis | null,
  ) {
    this.sealed = sealed;
  }

  identity() {
    return {
      publicKey: this.nodeKey.publicKey,
      proofOfPossession: signProofOfPossession(this.chainId, this.nodeKey.secretKey, this.nodeKey.publicKey),
      role: 'validator' as const,
      chainId: this.chainId,
    };
  }

  async installGenesis(sealed: SealedGenesis): Promise<void> {
    if (this.sealed) throw new ConsortiaError('GENESIS_ALREADY_SET', 'genesis already installed');
    verifySealedGenesis(sealed);
    this.sealed = sealed;
  }

  genesis(): SealedGenesis | null {
    return this.sealed;
  }

  async submitTx(bytes: Uint8Array, opts: SubmitTxOptions): Promise<TxSubmitResult> {
    const tx = decodeTx(bytes); // throws CODEC_*
    if (tx.chainId !== this.chainId) throw new ConsortiaError('WRONG_CHAIN', 'wrong chain');
    if (!verifyTxSignature(tx)) throw new ConsortiaError('BAD_SIGNATURE', 'bad signature');
    const key = toHex(tx.signer);
    const expected = this.nonces.get(key) ?? 0;
    if (tx.nonce !== expected)
      throw new ConsortiaError('BAD_NONCE', `expected nonce ${expected}`, { expected, got: tx.nonce });
    if (this.mempool.length >= this.mempoolCap)
      throw new ConsortiaError('MEMPOOL_FULL', 'mempool is full', { maxTxs: this.mempoolCap });
    this.nonces.set(key, expected + 1);
    this.mempool.push(bytes);
    const hash = txHash(bytes);
    if (opts.wait === 'commit') {
      return await new Promise<TxSubmitResult>((resolve) => {
        const timer = setTimeout(() => {
          this.waiters.delete(toHex(hash));
          resolve({ status: 'accepted', hash });
        }, opts.timeoutMs);
        this.waiters.set(toHex(hash), (r) => {
          clearTimeout(timer);
          resolve(r);
        });
      });
    }
    return { status: 'accepted', hash };
  }

  /** Seals the mempool into a block, records a commit certificate and notifies subscribers. */
  commitPending(): Block {
    const height = this.blocks.length + 1;
    const prev = this.blocks[this.blocks.length - 1];
    const txs = this.mempool.splice(0);
    const lastCommit = this.commits[this.commits.length - 1] ?? null;
    const roots = computeBodyRoots({ txs, evidence: [], lastCommit });
    const block: Block = {
      header: {
        chainId: this.chainId,
        height,
        time: 1_700_000_000_000 + height * 1000,
        prevHash: prev ? blockHash(prev.header) : new Uint8Array(32),
        txRoot: roots.txRoot,
        stateRoot: sha256(new Uint8Array([height])),
        validatorSetHash: new Uint8Array(32),
        proposer: this.nodeKey.publicKey,
        lastCommitHash: roots.lastCommitHash,
        evidenceRoot: roots.evidenceRoot,
      },
      txs,
      evidence: [],
      lastCommit,
    };
    this.blocks.push(block);
    const hash = blockHash(block.header);
    this.commits.push({
      height,
      round: 0,
      blockHash: hash,
      signatures: [{ validator: this.nodeKey.publicKey, signature: new Uint8Array(64) }],
    });
    txs.forEach((t, index) => {
      const h = toHex(txHash(t));
      this.txIndex.set(h, { height, index });
      this.waiters.get(h)?.({ status: 'committed', hash: txHash(t), height, index, code: 'OK' });
      this.waiters.delete(h);
    });
    const ev: NewBlockEvent = { height, hash, time: block.header.time, txs: txs.map(txHash) };
    for (const l of this.listeners) l(ev);
    return block;
  }

  async getTx(hash: Uint8Array): Promise<TxLookup | null> {
    const loc = this.txIndex.get(toHex(hash));
    if (!loc) return null;
    if (loc.height < this.lowestHeight)
      throw new ConsortiaError('PRUNED', 'pruned', { lowestHeight: this.lowestHeight });
    const block = this.blocks[loc.height - 1]!;
    const p = merkleProof(block.txs, loc.index);
    return {
      hash,
      height: loc.height,
      index: loc.index,
      code: 'OK',
      tx: block.txs[loc.index]!,
      proof: { txRoot: block.header.txRoot, leafIndex: p.index, treeSize: p.total, path: p.path },
    };
  }

  latestHeight(): number {
    return this.blocks.length;
  }

  private checkHeight(height: number): boolean {
    if (height > this.blocks.length) return false;
    if (height < this.lowestHeight)
      throw new ConsortiaError('PRUNED', `block ${height} was pruned`, { lowestHeight: this.lowestHeight });
    return true;
  }

  async getBlock(height: number): Promise<Block | null> {
    return this.checkHeight(height) ? this.blocks[height - 1]! : null;
  }

  async getHeader(height: number) {
    return this.checkHeight(height) ? this.blocks[height - 1]!.header : null;
  }

  async getCommit(height: number) {
    return this.checkHeight(height) ? this.commits[height - 1]! : null;
  }

  async getAccount(publicKey: Uint8Array): Promise<AccountLookup> {
    const nonce = this.nonces.get(toHex(publicKey));
    return {
      height: this.blocks.length,
      stateRoot: new Uint8Array(32),
      account: nonce === undefined ? null : { publicKey, nonce },
      balances: nonce === undefined ? [] : [{ asset: 'USD', amount: 12345678901234567890n }],
      proofs: [{ key: `acct/${toHex(publicKey)}`, value: null, proof: { siblings: [new Uint8Array(32)], leaf: null } }],
    };
  }

  async getAsset(assetId: string): Promise<StateLookup> {
    const value = assetId === 'USD' ? { id: 'USD', issuer: this.nodeKey.publicKey, supply: 5n } : null;
    return {
      height: this.blocks.length,
      stateRoot: new Uint8Array(32),
      value,
      proof: { key: `asset/${assetId}`, value: null, proof: {} },
    };
  }

  async getAnchor(): Promise<StateLookup> {
    return {
      height: this.blocks.length,
      stateRoot: new Uint8Array(32),
      value: null,
      proof: { key: 'anchor/x', value: null, proof: {} },
    };
  }

  status(): NodeStatus {
    const last = this.blocks[this.blocks.length - 1];
    return {
      chainId: this.chainId,
      role: 'validator',
      nodeKey: this.nodeKey.publicKey,
      genesisInstalled: this.sealed !== null,
      height: this.blocks.length,
      latestBlockHash: last ? blockHash(last.header) : null,
      latestBlockTime: last ? last.header.time : null,
      validators: [{ publicKey: this.nodeKey.publicKey, power: 1, memberId: 'org1' }],
      peers: [{ publicKey: new Uint8Array(32).fill(7), address: '127.0.0.1:1' }],
      syncing: false,
      lowestHeight: this.lowestHeight,
      mempool: { txs: this.mempool.length, bytes: this.mempool.reduce((n, b) => n + b.length, 0) },
    };
  }

  subscribe(listener: (e: NewBlockEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  health() {
    return { ok: true };
  }

  readiness() {
    return this.sealed
      ? this.ready
        ? { ready: true }
        : { ready: false, reason: 'syncing' }
      : { ready: false, reason: 'awaiting genesis' };
  }
}
