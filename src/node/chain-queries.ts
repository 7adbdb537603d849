import {
  type Block,
  type BlockHeader,
  type CommitCertificate,
  type Hash,
  type WorldState,
  StateKeys,
  decodeAccount,
  decodeAnchor,
  decodeAsset,
  decodeBlock,
  decodeCommit,
  encodeHeader,
  getBalances,
  merkleProof,
  toHex,
  txHash,
} from '../chain/index.js';
import { ConsortiaError } from '../lib/errors.js';
import { ChainNodeCodes } from './chain-node-codes.js';
import type { NodeRoleName } from './config.js';
import type { ChainTip } from './engine/index.js';
import type { StateHistory } from './history/index.js';
import type {
  AccountLookup,
  BlockResult,
  HeaderWithCommit,
  ProvenValue,
  StateLookup,
  StateSnapshot,
  TxLookup,
} from './rpc/backend.js';
import { StoreKeys, epochToJSON, type ChainStore } from './store/index.js';

/** Headers one GET /v1/headers answers at most (each with its commit certificate). */
export const HEADERS_PER_PAGE_MAX = 500;
/** Account txs one GET /v1/accounts/{key}/txs answers at most (each with its inclusion proof). */
export const ACCOUNT_TXS_PER_PAGE_MAX = 1000;

export interface ChainQueriesDeps {
  store: ChainStore;
  role: NodeRoleName;
  /** Past states (super nodes only); null: current state only. */
  history: StateHistory | null;
  /** The chain's tip, null while the node awaits its genesis. */
  tip: () => ChainTip | null;
}

/**
 * Every read the node API serves: blocks, headers, commits, txs, accounts, assets, anchors, epochs
 * and state snapshots, each with the proof a client checks against a committed header. Reads
 * below the retained heights throw PRUNED (with the lowest height kept), so a client asks a super node.
 */
export class ChainQueries {
  constructor(private readonly d: ChainQueriesDeps) {}

  private need(): ChainTip {
    const tip = this.d.tip();
    if (!tip) throw new ConsortiaError(ChainNodeCodes.AWAITING_GENESIS, 'node is awaiting genesis');
    return tip;
  }

  private pruned(what: string): ConsortiaError {
    const lowestHeight = this.d.store.lowestHeight();
    return new ConsortiaError(
      ChainNodeCodes.PRUNED,
      `${what} (this ${this.d.role} node keeps heights >= ${lowestHeight}); ask a super node`,
      {
        lowestHeight,
        hint: 'super nodes keep all history',
      },
    );
  }

  latestHeight(): number {
    return this.d.tip()?.height ?? 0;
  }

  async getTx(hash: Hash): Promise<TxLookup | null> {
    this.need();
    const store = this.d.store;
    const loc = await store.getTx(toHex(hash));
    if (!loc) {
      if (store.lowestHeight() > 1)
        throw this.pruned(`tx ${toHex(hash)} is not in the retained heights; it may be in a pruned block`);
      return null;
    }
    const block = await this.getBlock(loc.height);
    if (!block) return null;
    return {
      hash,
      height: loc.height,
      index: loc.index,
      code: loc.code,
      tx: block.txs[loc.index]!,
      proof: inclusionProof(block, loc.index),
    };
  }

  async getBlock(height: number): Promise<Block | null> {
    const tip = this.d.tip();
    if (!tip || height < 1 || height > tip.height) return null;
    if (height < this.d.store.lowestHeight()) throw this.pruned(`block ${height} was pruned`);
    const b = await this.d.store.getBlockBytes(height);
    return b ? decodeBlock(b) : null;
  }

  /** Each tx's hash and execution result, in block order (from the tx index: no proof built). */
  async getBlockResults(height: number): Promise<BlockResult[] | null> {
    const block = await this.getBlock(height);
    if (!block) return null;
    return Promise.all(
      block.txs.map(async (bytes) => {
        const hash = txHash(bytes);
        const loc = await this.d.store.getTx(toHex(hash));
        // a tx indexed at another height is a later resubmission's entry: it did not execute here
        return { hash, code: loc && loc.height === height ? loc.code : 'UNKNOWN' };
      }),
    );
  }

  async getHeader(height: number): Promise<BlockHeader | null> {
    return (await this.getBlock(height))?.header ?? null;
  }

  async getCommit(height: number): Promise<CommitCertificate | null> {
    const tip = this.d.tip();
    if (!tip || height < 1 || height > tip.height) return null;
    if (height < this.d.store.lowestHeight()) throw this.pruned(`commit ${height} was pruned`);
    const c = await this.d.store.getCommitBytes(height);
    return c ? decodeCommit(c) : null;
  }

  async getHeaders(from: number, count: number): Promise<HeaderWithCommit[]> {
    const tip = this.need();
    const store = this.d.store;
    if (from < store.lowestHeight()) throw this.pruned(`headers from ${from} were pruned`);
    const out: HeaderWithCommit[] = [];
    for (let h = from; h < from + Math.min(count, HEADERS_PER_PAGE_MAX) && h <= tip.height; h++) {
      const [b, c] = [await store.getBlockBytes(h), await store.getCommitBytes(h)];
      if (!b || !c) break;
      out.push({ height: h, header: encodeHeader(decodeBlock(b).header), commit: c });
    }
    return out;
  }

  async getAccount(publicKey: Uint8Array): Promise<AccountLookup> {
    const tip = this.need();
    return accountIn(tip.state, publicKey, tip.height, tip.state.root());
  }

  async getAccountAt(publicKey: Uint8Array, height: number): Promise<AccountLookup> {
    const tip = this.need();
    if (height === tip.height) return this.getAccount(publicKey);
    if (height > tip.height || height < 1)
      throw new ConsortiaError(ChainNodeCodes.NOT_FOUND, `height ${height} not committed`);
    if (!this.d.history) {
      throw new ConsortiaError(
        ChainNodeCodes.PRUNED,
        `state at height ${height} is not kept by this ${this.d.role} node (current state only); ask a super node`,
        {
          lowestHeight: tip.height,
          hint: 'super nodes keep all history',
        },
      );
    }
    const { state, stateRoot } = await this.d.history.stateAt(height);
    return accountIn(state, publicKey, height, stateRoot);
  }

  async getAccountTxs(
    publicKey: Uint8Array,
    fromHeight: number,
    limit: number,
    fromIndex = 0,
  ): Promise<{ lowestHeight: number; txs: TxLookup[] }> {
    this.need();
    const store = this.d.store;
    const lowestHeight = store.lowestHeight();
    const acct = toHex(publicKey);
    const start =
      fromHeight >= lowestHeight
        ? StoreKeys.accountTx(acct, fromHeight, fromIndex)
        : StoreKeys.accountTxsFrom(acct, lowestHeight);
    const rows = await store.scan(start, StoreKeys.accountTxsEnd(acct), Math.min(limit, ACCOUNT_TXS_PER_PAGE_MAX));
    const blocks = new Map<number, Block>();
    const txs: TxLookup[] = [];
    for (const [k, v] of rows) {
      const parts = k.split('/');
      const height = Number(parts[2]);
      const index = Number(parts[3]);
      let block = blocks.get(height);
      if (!block) {
        const bytes = await store.getBlockBytes(height);
        if (!bytes) continue; // pruned meanwhile
        block = decodeBlock(bytes);
        blocks.set(height, block);
      }
      const loc = await store.getTx(toHex(v));
      txs.push({
        hash: v,
        height,
        index,
        code: loc?.code ?? 'OK',
        tx: block.txs[index]!,
        proof: inclusionProof(block, index),
      });
    }
    return { lowestHeight, txs };
  }

  async getAsset(assetId: string): Promise<StateLookup> {
    return this.lookup(StateKeys.asset(assetId), (b) => {
      const a = decodeAsset(b);
      return {
        id: assetId,
        issuer: a.issuer,
        supply: a.supply,
        ...(a.ledger ? { issued: a.ledger.issued, burned: a.ledger.burned } : {}),
      };
    });
  }

  async getAnchor(hash: Hash): Promise<StateLookup> {
    return this.lookup(StateKeys.anchor(hash), (b) => ({ hash, ...decodeAnchor(b) }));
  }

  async getEpoch(height: number): Promise<unknown | null> {
    this.need();
    const rows = await this.d.store.scan(StoreKeys.epoch(height), StoreKeys.epoch(height + 1), 1);
    return rows[0] ? epochToJSON(rows[0][1]) : null;
  }

  async getSnapshot(): Promise<StateSnapshot> {
    const tip = this.need();
    const store = this.d.store;
    // state and height are read in one synchronous step, so they agree
    const height = tip.height;
    const entries: [string, Uint8Array][] = [...tip.state.entries()];
    if (height < 1) throw new ConsortiaError(ChainNodeCodes.NOT_FOUND, 'no block committed yet');
    const [block, commit] = [await store.getBlockBytes(height), await store.getCommitBytes(height)];
    if (!block || !commit)
      throw new ConsortiaError(ChainNodeCodes.NOT_FOUND, `block ${height} not available for a snapshot`);
    const epochs = (await store.scan(StoreKeys.epochsStart, StoreKeys.epoch(height + 1))).map(([, v]) =>
      epochToJSON(v),
    );
    return { height, block, commit, epochs, entries };
  }

  private lookup(key: string, decode: (b: Uint8Array) => Record<string, unknown>): StateLookup {
    const tip = this.need();
    const p = proven(tip.state, key);
    return { height: tip.height, stateRoot: tip.state.root(), value: p.value ? decode(p.value) : null, proof: p };
  }
}

function proven(s: WorldState, key: string): ProvenValue {
  return { key, value: s.get(key) ?? null, proof: s.prove(key) };
}

/** An account and its balances in state `s` (after block `height`), each proven against `stateRoot`. */
function accountIn(s: WorldState, publicKey: Uint8Array, height: number, stateRoot: Hash): AccountLookup {
  const key = StateKeys.account(publicKey);
  const raw = s.get(key);
  const balances = getBalances(s, publicKey);
  return {
    height,
    stateRoot,
    account: raw ? { publicKey: toHex(publicKey), nonce: decodeAccount(raw).nonce } : null,
    balances,
    proofs: [proven(s, key), ...balances.map((b) => proven(s, StateKeys.balance(publicKey, b.asset)))],
  };
}

function inclusionProof(block: Block, index: number): TxLookup['proof'] {
  const p = merkleProof(block.txs, index);
  return { txRoot: block.header.txRoot, leafIndex: p.index, treeSize: p.total, path: p.path };
}
