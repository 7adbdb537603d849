import {
  type Block,
  type CommitCertificate,
  type Genesis,
  type Hash,
  type ValidatorInfo,
  blockHash,
  bytesEqual,
  checkBlockBody,
  checkEvidence,
  encodeBlock,
  encodeCommit,
  genesisHash,
  validatorSetHash,
  verifyCommit,
  toHex,
  fromHex,
  ZERO_HASH,
  StateKeys,
  proveInExecution,
} from '../../chain/index.js';
import { ConsortiaError } from '../../lib/errors.js';
import { encodeEpoch, type ChainStore } from '../store/index.js';
import { accountsOfTx } from './tx-accounts.js';
import { chainOps, type Execution, type State } from './chain-ops.js';

/**
 * The committed tip of the chain: world state, head, and the validator sets needed to
 * validate the next block (V(h+1) proposes/votes it; V(h) signed its lastCommit).
 * Validation and persistence of a block live here so that consensus commits and block
 * sync go through exactly the same checks and the same atomic store batch.
 */
export const NodeCodes = { BLOCK_REJECTED: 'BLOCK_REJECTED' } as const;

function reject(msg: string, details?: Record<string, unknown>): never {
  throw new ConsortiaError(NodeCodes.BLOCK_REJECTED, msg, details);
}

interface ValidatorsJson {
  publicKey: string;
  power: number;
  memberId: string;
}
export const valsToBytes = (vs: ValidatorInfo[]): Uint8Array =>
  Buffer.from(JSON.stringify(vs.map((v) => ({ publicKey: toHex(v.publicKey), power: v.power, memberId: v.memberId }))));
const valsFromBytes = (b: Uint8Array): ValidatorInfo[] =>
  (JSON.parse(Buffer.from(b).toString()) as ValidatorsJson[]).map((v) => ({
    publicKey: fromHex(v.publicKey, 32),
    power: v.power,
    memberId: v.memberId,
  }));

/** What a node keeps beside blocks and current state (by role; see chain-node). */
export interface TipStorage {
  history: boolean;
  accountIndex: boolean;
}

export interface CommittedInfo {
  block: Block;
  hash: Hash;
  cert: CommitCertificate;
  execution: Execution;
}

export class ChainTip {
  height = 0;
  headHash: Hash;
  headTime: number;
  /** Validators of height+1 (after executing the head). */
  validators: ValidatorInfo[];
  /** Validators that signed the head's commit (V(height)). */
  lastValidators: ValidatorInfo[];
  storage: TipStorage = { history: false, accountIndex: true };
  private constructor(
    readonly chainId: string,
    readonly genesis: Genesis,
    public state: State,
    private readonly store: ChainStore,
  ) {
    this.headHash = genesisHash(genesis);
    this.headTime = genesis.genesisTime;
    this.validators = chainOps.validators(state);
    this.lastValidators = this.validators;
  }

  static async load(genesis: Genesis, store: ChainStore, storage?: TipStorage): Promise<ChainTip> {
    const tip = await ChainTip.loadInner(genesis, store, storage?.history ?? false);
    if (storage) tip.storage = storage;
    return tip;
  }

  private static async loadInner(genesis: Genesis, store: ChainStore, history: boolean): Promise<ChainTip> {
    const head = store.head();
    if (!head) {
      await store.initState(chainOps.genesisWrites(genesis), history);
      return new ChainTip(genesis.chainId, genesis, chainOps.fromGenesis(genesis), store);
    }
    const state = chainOps.fromEntries(await store.loadState());
    const tip = new ChainTip(genesis.chainId, genesis, state, store);
    tip.height = head.height;
    tip.headHash = head.hash;
    const block = chainOps.decodeBlock((await store.getBlockBytes(head.height))!);
    tip.headTime = block.header.time;
    const lv = await store.getMeta('lastvals');
    if (lv) tip.lastValidators = valsFromBytes(lv);
    if (!bytesEqual(chainOps.root(state), block.header.stateRoot)) {
      throw new Error(`store corrupt: state root at height ${head.height} does not match the head block`);
    }
    return tip;
  }

  /** Expected prevHash of the next block (genesis hash for block 1). */
  get prevHashForNext(): Hash {
    return this.height === 0 ? genesisHash(this.genesis) : this.headHash;
  }

  /**
   * Full validation of block height+1 against the tip; returns its speculative execution.
   * `verified` = tx hashes (hex) whose signatures this node already checked.
   */
  validateNext(
    block: Block,
    verified: Set<string>,
    opts: { maxFutureMs?: number; now?: number; onVerified?: (hashHex: string) => void } = {},
  ): Execution {
    const h = block.header;
    const next = this.height + 1;
    if (h.chainId !== this.chainId) reject('wrong chain id');
    if (h.height !== next) reject(`height ${h.height}, expected ${next}`);
    if (!bytesEqual(h.prevHash, this.prevHashForNext)) reject('prevHash does not extend the head');
    if (h.time <= this.headTime && next > 1) reject('block time not after previous block');
    if (opts.maxFutureMs !== undefined && h.time > (opts.now ?? Date.now()) + opts.maxFutureMs)
      reject('block time too far in the future');
    if (!bytesEqual(h.validatorSetHash, validatorSetHash(this.validators))) reject('validatorSetHash mismatch');
    if (!this.validators.some((v) => bytesEqual(v.publicKey, h.proposer))) reject('proposer is not a validator');
    const params = chainOps.params(this.state);
    if (block.txs.length > params.maxBlockTxs) reject('too many txs');
    try {
      checkBlockBody(block);
    } catch (e) {
      reject((e as Error).message);
    }
    if (next === 1) {
      if (block.lastCommit !== null) reject('block 1 must not carry a lastCommit');
    } else {
      const lc = block.lastCommit;
      if (!lc || lc.height !== this.height || !bytesEqual(lc.blockHash, this.headHash))
        reject('lastCommit does not certify the head');
      try {
        verifyCommit(this.chainId, this.lastValidators, lc);
      } catch (e) {
        reject(`lastCommit invalid: ${(e as Error).message}`);
      }
    }
    for (const e of block.evidence) {
      const why = checkEvidence(this.chainId, this.validators, e);
      if (why) reject(`invalid evidence: ${why}`);
    }
    const exec = chainOps.execute(this.state, block, verified, opts.onVerified);
    if (!bytesEqual(exec.stateRoot, h.stateRoot)) reject('stateRoot mismatch after execution');
    return exec;
  }

  /** Persists (one atomic batch) then applies a validated block with its commit certificate. */
  async commit(block: Block, cert: CommitCertificate, exec: Execution, blockBytes?: Uint8Array): Promise<Hash> {
    const hash = blockHash(block.header);
    if (block.header.height !== this.height + 1) reject('commit out of order');
    if (!bytesEqual(cert.blockHash, hash) || cert.height !== block.header.height)
      reject('certificate is for another block');
    const commitBytes = encodeCommit(cert);
    let accountTxs: { account: string; index: number }[] | undefined;
    if (this.storage.accountIndex) {
      accountTxs = [];
      block.txs.forEach((t, index) => {
        for (const account of accountsOfTx(t)) accountTxs!.push({ account, index });
      });
    }
    let epoch: Uint8Array | undefined;
    if (!bytesEqual(validatorSetHash(exec.validators), validatorSetHash(this.validators))) {
      const proof = proveInExecution(exec, StateKeys.valset);
      if (proof) epoch = encodeEpoch(block.header, commitBytes, exec.validators, proof);
    }
    await this.store.commitBlock({
      height: block.header.height,
      hash,
      blockBytes: blockBytes ?? encodeBlock(block),
      commitBytes,
      txs: exec.results.map((r) => ({ hash: r.hash, hashHex: r.hashHex, code: r.code })),
      writes: exec.writes,
      meta: new Map([['lastvals', valsToBytes(this.validators)]]),
      history: this.storage.history,
      ...(accountTxs ? { accountTxs } : {}),
      ...(epoch ? { epoch } : {}),
    });
    chainOps.apply(this.state, exec);
    this.lastValidators = this.validators;
    this.validators = exec.validators;
    this.height = block.header.height;
    this.headHash = hash;
    this.headTime = block.header.time;
    return hash;
  }

  /** Builds the unsigned proposal block for height+1 (header stateRoot filled after execution). */
  buildNext(args: {
    proposer: Uint8Array;
    time: number;
    txs: Uint8Array[];
    evidence: Block['evidence'];
    lastCommit: CommitCertificate | null;
    verified: Set<string>;
  }): { block: Block; exec: Execution } {
    const body = { txs: args.txs, evidence: args.evidence, lastCommit: this.height === 0 ? null : args.lastCommit };
    const roots = chainOps.bodyRoots(body);
    const block: Block = {
      header: {
        chainId: this.chainId,
        height: this.height + 1,
        time: Math.max(args.time, this.headTime + 1),
        prevHash: this.prevHashForNext,
        txRoot: roots.txRoot,
        stateRoot: ZERO_HASH,
        validatorSetHash: validatorSetHash(this.validators),
        proposer: args.proposer,
        lastCommitHash: roots.lastCommitHash,
        evidenceRoot: roots.evidenceRoot,
      },
      ...body,
    };
    const exec = chainOps.execute(this.state, block, args.verified);
    block.header.stateRoot = exec.stateRoot;
    return { block, exec };
  }
}
