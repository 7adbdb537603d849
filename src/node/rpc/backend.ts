import type { Block, BlockHeader, CommitCertificate, Hash, SealedGenesis, ValidatorInfo } from '../../chain/index.js';
import type { NodeRoleName } from '../config.js';

/**
 * The seam between the HTTP API (src/node/rpc) and the chain node (src/node/chain-node.ts).
 * The node implements this with domain values (Uint8Array, bigint, chain types); the API layer
 * renders them as JSON (bytes -> lowercase hex, bigint -> decimal string) and maps thrown
 * ConsortiaError codes to HTTP statuses in one handler:
 *   INVALID_TX, CODEC_*, GENESIS_* -> 400 · TX_TOO_LARGE -> 413 · chain rejection codes -> 422 ·
 *   MEMPOOL_FULL -> 429 · NOT_FOUND -> 404 · PRUNED (details.lowestHeight) -> 410 ·
 *   GENESIS_ALREADY_SET -> 409 · AWAITING_GENESIS / NOT_READY -> 503.
 * The API's own limits (rpc/limits.ts): BODY_TOO_LARGE / BATCH_TOO_LARGE -> 413 ·
 *   RATE_LIMITED -> 429 (Retry-After) · BUSY -> 503; each with details.limit.
 * "Not found" is returned as null where the signature says so (the API turns it into 404).
 */

export interface NodeIdentity {
  publicKey: Uint8Array;
  /** Ed25519 signature (tag consortia/pop/v1) over proofOfPossessionPayload(chainId, publicKey). */
  proofOfPossession: Uint8Array;
  role: NodeRoleName;
  chainId: string;
}

export interface ConsensusKeyView {
  publicKey: string;
  backend: 'file' | 'pkcs11' | 'aws-kms';
  nodeKey: boolean;
  active: boolean;
  pending: boolean;
  activeFromHeight?: number;
  createdAt?: string;
}

export interface SubmitTxOptions {
  /** 'none': return once admitted to the mempool; 'commit': also wait for the including block. */
  wait: 'none' | 'commit';
  /** Only for wait 'commit': after this the result is { status: 'accepted' } (still pending). */
  timeoutMs: number;
}

/**
 * Admission / commit result. A refused tx is NOT a result: submitTx throws ConsortiaError with
 * INVALID_TX / CODEC_* (undecodable), TX_TOO_LARGE, a chain rejection code (BAD_SIGNATURE,
 * BAD_NONCE, WRONG_CHAIN, ...), MEMPOOL_FULL, or AWAITING_GENESIS. A tx already in the mempool
 * is accepted again idempotently (same hash); a tx already committed returns 'committed'.
 */
export type TxSubmitResult =
  | { status: 'accepted'; hash: Hash }
  /** `code` is the execution result in the block: 'OK' or a rejection code. */
  | { status: 'committed'; hash: Hash; height: number; index: number; code: string };

/** Per-tx outcome of a batch submission (one refused tx never fails the others). */
export type TxBatchItemResult =
  | { status: 'accepted'; hash: Hash }
  | {
      status: 'rejected';
      hash: Hash | null;
      code: string;
      message: string;
      /** A load-shedding refusal (MEMPOOL_BUSY): when to submit it again, seconds. */
      retryAfterSeconds?: number;
    };

/** RFC 6962 inclusion proof of a tx in its block's txRoot. */
export interface BlockResult {
  hash: Hash;
  code: string;
}

export interface TxInclusionProof {
  txRoot: Hash;
  leafIndex: number;
  treeSize: number;
  /** Sibling hashes from the leaf upwards. */
  path: Uint8Array[];
}

export interface TxLookup {
  hash: Hash;
  height: number;
  index: number;
  /** Execution result: 'OK' or a rejection code. */
  code: string;
  /** The encoded signed tx. */
  tx: Uint8Array;
  proof: TxInclusionProof;
}

/**
 * A state value with its Merkle proof against `stateRoot` (the state root in the header at `height`).
 * `proof` is the chain's StateProof, rendered generically (bytes -> hex).
 */
export interface ProvenValue {
  key: string;
  /** Raw canonical bytes, or null when the proof shows absence. */
  value: Uint8Array | null;
  proof: unknown;
}

export interface AccountLookup {
  height: number;
  stateRoot: Hash;
  /** Decoded account record (e.g. { publicKey, nonce }), or null if the account does not exist. */
  account: Record<string, unknown> | null;
  balances: { asset: string; amount: bigint }[];
  /** Proof for 'acct/<hex>' plus one per balance key. */
  proofs: ProvenValue[];
}

export interface StateLookup {
  height: number;
  stateRoot: Hash;
  /** Decoded record, or null if absent (the API answers 404 for null). */
  value: Record<string, unknown> | null;
  proof: ProvenValue;
}

export interface PeerInfo {
  publicKey: Uint8Array;
  address: string;
}

export interface NodeStatus {
  chainId: string;
  role: NodeRoleName;
  nodeKey: Uint8Array;
  /** The key this node signs consensus messages with, when a rotation made it differ from nodeKey (src/node/consensus-keys.ts). */
  consensusKey?: Uint8Array;
  /** false while awaiting genesis (height 0, no validators). */
  genesisInstalled: boolean;
  /** Latest committed height (0 before the first block). */
  height: number;
  latestBlockHash: Hash | null;
  latestBlockTime: number | null;
  validators: ValidatorInfo[];
  peers: PeerInfo[];
  /** The bound P2P address (host:port, port 0 resolved); printed by main in its 'listening' line. */
  p2pAddress?: string;
  syncing: boolean;
  /** Lowest height whose block (or header, for light nodes) is still available. */
  lowestHeight: number;
  mempool: { txs: number; bytes: number };
  /** Retained range and bytes on disk of the node's level DB (docs/storage-tiers.md). */
  storage?: StorageStatus;
}

export interface StorageStatus {
  lowestHeight: number;
  highestHeight: number;
  bytes: number;
}

/** Canonical header + commit certificate bytes of one height (what light clients verify). */
export interface HeaderWithCommit {
  height: number;
  header: Uint8Array;
  commit: Uint8Array;
}

/** Everything a joining node needs to start at `height` without history (verified by the joiner). */
export interface StateSnapshot {
  height: number;
  /** Canonical block at `height` (its header carries the state root) and its commit certificate. */
  block: Uint8Array;
  commit: Uint8Array;
  /** Epoch records (validator-set changes) from genesis up to `height`, as stored (JSON). */
  epochs: unknown[];
  /** The whole state after `height`: [state key, value]. */
  entries: [string, Uint8Array][];
}

/** Pushed to subscribers after each block is committed and persisted, in height order. */
export interface NewBlockEvent {
  height: number;
  hash: Hash;
  time: number;
  /** Hashes of the block's txs, in block order. */
  txs: Hash[];
}

export interface TxRoom {
  /** Txs of the request that may go on to admission (the first ones, in order). */
  granted: number;
  /** Pending txs the node allows at its current committed rate. */
  bound: number;
  retryAfterSeconds: number;
}

export interface HealthReport {
  /** Process is alive and its event loop answers (liveness). */
  ok: boolean;
  details?: Record<string, unknown>;
}

export interface ReadinessReport {
  /** Serving chain data: genesis installed, store open, not far behind (readiness). */
  ready: boolean;
  reason?: string;
}

export interface NodeApiBackend {
  identity(): NodeIdentity;

  /** Verifies (verifySealedGenesis), persists into dataDir and starts the node. Throws GENESIS_* (400) or GENESIS_ALREADY_SET (409). */
  installGenesis(sealed: SealedGenesis): Promise<void>;
  /** The sealed genesis in use, or null while awaiting genesis. */
  genesis(): SealedGenesis | null;

  submitTx(encodedTx: Uint8Array, opts: SubmitTxOptions): Promise<TxSubmitResult>;
  /** Optional fast path for load generators; the API falls back to submitTx per item. */
  submitTxBatch?(encodedTxs: Uint8Array[]): Promise<TxBatchItemResult[]>;
  /**
   * Load shedding: how many of `wanted` more txs may be taken now, with `queuedTxs` already waiting
   * in the API's admission queue; the rest are refused MEMPOOL_BUSY (and counted as such by the node).
   * Absent: no shedding (test doubles).
   */
  takeTxRoom?(wanted: number, queuedTxs: number): TxRoom;
  /**
   * Load shedding: `n` txs of the admission queue were refused MEMPOOL_BUSY for waiting too long;
   * the node counts them and sheds as when takeTxRoom refuses. Returns the Retry-After, seconds.
   */
  shedQueuedTxs?(n: number): number;
  /** True while the node refuses submissions to shed load (its Retry-After has not passed). */
  sheddingLoad?(): boolean;
  /** True when tx signatures are verified off the API's thread (admission then takes bigger steps). */
  verifiesOffThread?(): boolean;

  /** Committed tx by hash with its inclusion proof; null if unknown. Throws PRUNED if its block was pruned. */
  getTx(hash: Hash): Promise<TxLookup | null>;

  /** Latest committed height (0 before the first block). */
  latestHeight(): number;
  /** null when height > latest (404); throws PRUNED {lowestHeight} when pruned or not kept (light). */
  getBlock(height: number): Promise<Block | null>;
  getHeader(height: number): Promise<BlockHeader | null>;
  /**
   * Each tx's hash and execution result ('OK' or a rejection code) in block order, without proofs
   * (event delivery reads one per block instead of one GET /v1/txs/{hash} per tx); null when height >
   * latest; throws PRUNED like getBlock. Optional: test doubles.
   */
  getBlockResults?(height: number): Promise<BlockResult[] | null>;
  /** The commit certificate that finalized block `height` (2f+1 precommits). */
  getCommit(height: number): Promise<CommitCertificate | null>;

  /** Account state at the latest height with proofs. Light nodes throw NOT_FOUND for unfollowed accounts. */
  getAccount(publicKey: Uint8Array): Promise<AccountLookup>;
  getAsset(assetId: string): Promise<StateLookup>;
  getAnchor(hash: Hash): Promise<StateLookup>;

  status(): NodeStatus;

  // ---- tiered storage (docs/storage-tiers.md); optional so that test doubles need not implement them

  /** Headers with commit certificates from `from` (at most `count`); throws PRUNED below the lowest retained height. */
  getHeaders?(from: number, count: number): Promise<HeaderWithCommit[]>;
  /** Committed txs touching an account, in chain order from position `fromIndex` of block `fromHeight`, each with its inclusion proof. */
  getAccountTxs?(
    publicKey: Uint8Array,
    fromHeight: number,
    limit: number,
    fromIndex?: number,
  ): Promise<{ lowestHeight: number; txs: TxLookup[] }>;
  /** Account state after block `height` with proofs against that header's state root (archive: super). */
  getAccountAt?(publicKey: Uint8Array, height: number): Promise<AccountLookup>;
  /** Proven value of the `valset` key after block `height` plus that set (a validator-set change); null if none. */
  getEpoch?(height: number): Promise<unknown | null>;
  /** Current state snapshot (full nodes). */
  getSnapshot?(): Promise<StateSnapshot>;

  // ---- consensus key rotation (src/node/consensus-keys.ts); optional: a light node does not vote

  /** A new consensus key generated in the node key's backend (or the pending one again): public key and proof of possession only. */
  prepareConsensusKey?(): {
    publicKey: Uint8Array;
    proofOfPossession: Uint8Array;
    created: boolean;
    currentKey: Uint8Array;
  };
  /** The keys the node holds (public keys only), which one signs now, and which one a rotation may name. */
  consensusKeys?(): ConsensusKeyView[];

  /** Registers a listener for committed blocks; returns an unsubscribe function. Must not throw into the node. */
  subscribe(listener: (event: NewBlockEvent) => void): () => void;

  health(): HealthReport;
  readiness(): ReadinessReport;
}
