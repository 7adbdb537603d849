import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  decodeCommit,
  decodeHeader,
  fromHex,
  sealedGenesisToJSON,
  signProofOfPossession,
  verifySealedGenesis,
  stateProofFromJSON,
  type Block,
  type BlockHeader,
  type CommitCertificate,
  type KeyPair,
  type SealedGenesis,
} from '../../chain/index.js';
import { ConsortiaError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logging.js';
import type { NodeConfig } from '../config.js';
import { checkProvisionedGenesis, startupGenesis } from '../genesis-policy.js';
import { loadOrCreateNodeKey } from '../keygen.js';
import type { NodeMetrics } from '../metrics.js';
import type {
  AccountLookup,
  HealthReport,
  NewBlockEvent,
  NodeApiBackend,
  NodeIdentity,
  NodeStatus,
  ReadinessReport,
  StateLookup,
  TxLookup,
  TxSubmitResult,
} from '../rpc/backend.js';
import { diskUsage, writeDurably } from '../store/index.js';
import { genesisTrust } from '../snapshot/index.js';
import { LightClient, type FetchJson, type VerifiedAccount } from './light-client.js';
import { LightStore } from './light-store.js';

/**
 * A light node: no P2P, no consensus, no blocks. It follows verified headers from the full
 * nodes in `syncFrom` and keeps the proven state and txs of `followAccounts`; its API serves
 * exactly that (blocks and unfollowed state answer PRUNED / NOT_FOUND / NOT_SUPPORTED).
 */
const NOT_SUPPORTED = 'NOT_SUPPORTED';

export class LightNode implements NodeApiBackend {
  private client: LightClient | null = null;
  private sealed: SealedGenesis | null = null;
  private readonly listeners = new Set<(e: NewBlockEvent) => void>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private diskBytes = 0;
  private lastAccountSync = 0;
  private readonly startedAt = Date.now();
  private readonly popSig: Uint8Array;

  private constructor(
    private readonly config: NodeConfig,
    private readonly key: KeyPair,
    private readonly store: LightStore,
    private readonly logger: Logger,
    private readonly metrics: NodeMetrics | undefined,
    private readonly fetchJson: FetchJson | undefined,
  ) {
    this.popSig = signProofOfPossession(config.chainId, key.secretKey, key.publicKey);
  }

  static async open(
    config: NodeConfig,
    deps: { logger: Logger; metrics?: NodeMetrics; fetchJson?: FetchJson },
  ): Promise<LightNode> {
    mkdirSync(config.dataDir, { recursive: true });
    const { keyPair } = loadOrCreateNodeKey(config.keyFile);
    const store = await LightStore.open(join(config.dataDir, 'light'));
    const node = new LightNode(config, keyPair, store, deps.logger, deps.metrics, deps.fetchJson);
    const gfile = join(config.dataDir, 'genesis.json');
    let stored: string | undefined;
    try {
      stored = readFileSync(gfile, 'utf8');
    } catch {
      stored = undefined;
    }
    let sealed: SealedGenesis | undefined;
    try {
      // The stored genesis never silently wins over the configured one: a difference is fatal (GENESIS_MISMATCH).
      sealed = startupGenesis(
        {
          stored,
          configured: config.genesisFile ? readFileSync(config.genesisFile, 'utf8') : undefined,
          configuredFrom: config.genesisFile,
        },
        config,
        keyPair.publicKey,
      );
    } catch (err) {
      await store.close().catch(() => undefined);
      throw err;
    }
    if (sealed) await node.start(sealed);
    if (config.syncFrom.length === 0) deps.logger.warn('light node without syncFrom: it has no full node to follow');
    return node;
  }

  private async start(sealed: SealedGenesis): Promise<void> {
    checkProvisionedGenesis(sealed, this.config, this.key.publicKey);
    verifySealedGenesis(sealed);
    writeDurably(join(this.config.dataDir, 'genesis.json'), JSON.stringify(sealedGenesisToJSON(sealed)));
    this.sealed = sealed;
    const trust = (await this.store.trust()) ?? genesisTrust(sealed.genesis);
    this.client = new LightClient({
      store: this.store,
      trust,
      sources: this.config.syncFrom,
      follow: this.config.followAccounts,
      logger: this.logger,
      ...(this.metrics ? { metrics: this.metrics } : {}),
      ...(this.fetchJson ? { fetchJson: this.fetchJson } : {}),
      onHeader: (h, hash) => this.emit(h, hash),
    });
    this.loop();
  }

  private emit(h: BlockHeader, hash: Uint8Array): void {
    const ev: NewBlockEvent = { height: h.height, hash, time: h.time, txs: [] };
    for (const l of this.listeners) {
      try {
        l(ev);
      } catch {
        /* never breaks the node */
      }
    }
  }

  /** One sync round: catch up headers (bounded), then followed accounts about once a second. */
  async syncOnce(): Promise<void> {
    const c = this.client;
    if (!c) return;
    for (let i = 0; i < 10 && !this.closed; i++) if ((await c.syncHeaders()) < 200) break;
    if (Date.now() - this.lastAccountSync >= 1_000) {
      this.lastAccountSync = Date.now();
      for (const a of this.config.followAccounts) {
        await c.syncAccount(a);
        await c.syncAccountTxs(a);
      }
    }
    this.diskBytes = diskUsage(join(this.config.dataDir, 'light'));
    this.metrics?.chainHeight.set(c.trust.height);
    this.metrics?.storageBytes.set({ kind: 'headers' }, this.diskBytes);
    this.metrics?.storageBytes.set({ kind: 'total' }, this.diskBytes);
  }

  private loop(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      void this.syncOnce()
        .catch((err) => this.logger.warn('light sync round failed', { err: (err as Error).message }))
        .finally(() => this.loop());
    }, 250);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await new Promise((r) => setTimeout(r, 50));
    await this.store.close();
  }

  private need(): LightClient {
    if (!this.client) throw new ConsortiaError('AWAITING_GENESIS', 'node is awaiting genesis');
    return this.client;
  }

  // ------------------------------------------------------------------ NodeApiBackend

  identity(): NodeIdentity {
    return {
      publicKey: this.key.publicKey,
      proofOfPossession: this.popSig,
      role: 'light',
      chainId: this.config.chainId,
    };
  }
  async installGenesis(sealed: SealedGenesis): Promise<void> {
    if (this.client) throw new ConsortiaError('GENESIS_ALREADY_SET', 'genesis already installed');
    await this.start(sealed);
  }
  genesis(): SealedGenesis | null {
    return this.sealed;
  }
  async submitTx(): Promise<TxSubmitResult> {
    throw new ConsortiaError(NOT_SUPPORTED, 'a light node does not accept txs; submit to a full node');
  }
  async getTx(): Promise<TxLookup | null> {
    throw new ConsortiaError(
      NOT_SUPPORTED,
      "a light node keeps only followed accounts' txs: GET /v1/accounts/{pk}/txs",
    );
  }
  latestHeight(): number {
    return this.client?.trust.height ?? 0;
  }
  async getBlock(height: number): Promise<Block | null> {
    if (height > this.latestHeight()) return null;
    throw new ConsortiaError('PRUNED', 'a light node keeps headers only; ask a super node for blocks', {
      lowestHeight: this.latestHeight() + 1,
      hint: 'super nodes keep all history',
    });
  }
  async getHeader(height: number): Promise<BlockHeader | null> {
    const b = height <= this.latestHeight() ? await this.store.header(height) : undefined;
    return b ? decodeHeader(b) : null;
  }
  async getCommit(height: number): Promise<CommitCertificate | null> {
    const b = height <= this.latestHeight() ? await this.store.commit(height) : undefined;
    return b ? decodeCommit(b) : null;
  }
  async getAccount(publicKey: Uint8Array): Promise<AccountLookup> {
    this.need();
    const acct = Buffer.from(publicKey).toString('hex');
    if (!this.config.followAccounts.includes(acct))
      throw new ConsortiaError('NOT_FOUND', `account ${acct} is not followed by this light node`);
    const v = (await this.store.account(acct)) as VerifiedAccount | undefined;
    if (!v)
      return { height: this.latestHeight(), stateRoot: new Uint8Array(32), account: null, balances: [], proofs: [] };
    return {
      height: v.height,
      stateRoot: fromHex(v.stateRoot, 32),
      account: v.account,
      balances: v.balances.map((b) => ({ asset: b.asset, amount: BigInt(b.amount) })),
      proofs: (v.proofs as { key: string; value: string | null; proof: unknown }[]).map((p) => ({
        key: p.key,
        value: p.value === null ? null : fromHex(p.value),
        proof: stateProofFromJSON(p.proof),
      })),
    };
  }
  async getAccountTxs(
    publicKey: Uint8Array,
    fromHeight: number,
    limit: number,
    fromIndex = 0,
  ): Promise<{ lowestHeight: number; txs: TxLookup[] }> {
    const acct = Buffer.from(publicKey).toString('hex');
    if (!this.config.followAccounts.includes(acct))
      throw new ConsortiaError('NOT_FOUND', `account ${acct} is not followed by this light node`);
    const rows = (await this.store.txs(acct, fromHeight, limit, fromIndex)) as {
      hash: string;
      height: number;
      index: number;
      code: string;
      tx: string;
      proof: { txRoot: string; leafIndex: number; treeSize: number; path: string[] };
    }[];
    return {
      lowestHeight: 1,
      txs: rows.map((t) => ({
        hash: fromHex(t.hash, 32),
        height: t.height,
        index: t.index,
        code: t.code,
        tx: fromHex(t.tx),
        proof: {
          txRoot: fromHex(t.proof.txRoot, 32),
          leafIndex: t.proof.leafIndex,
          treeSize: t.proof.treeSize,
          path: t.proof.path.map((p) => fromHex(p, 32)),
        },
      })),
    };
  }
  async getAsset(): Promise<StateLookup> {
    throw new ConsortiaError(NOT_SUPPORTED, 'a light node keeps only followed accounts');
  }
  async getAnchor(): Promise<StateLookup> {
    throw new ConsortiaError(NOT_SUPPORTED, 'a light node keeps only followed accounts');
  }

  status(): NodeStatus {
    const t = this.client?.trust;
    const h = t?.height ?? 0;
    return {
      chainId: this.config.chainId,
      role: 'light',
      nodeKey: this.key.publicKey,
      genesisInstalled: this.client !== null,
      height: h,
      latestBlockHash: t && h > 0 ? t.hash : null,
      latestBlockTime: null,
      validators: t?.validators ?? [],
      peers: [],
      syncing: false,
      lowestHeight: h > 0 ? 1 : 0,
      mempool: { txs: 0, bytes: 0 },
      storage: { lowestHeight: h > 0 ? 1 : 0, highestHeight: h, bytes: this.diskBytes },
    };
  }
  subscribe(listener: (event: NewBlockEvent) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }
  health(): HealthReport {
    return {
      ok: !this.closed,
      details: { uptimeMs: Date.now() - this.startedAt, rejected: this.client?.rejected ?? 0 },
    };
  }
  readiness(): ReadinessReport {
    return this.client ? { ready: true } : { ready: false, reason: 'awaiting genesis' };
  }
}
