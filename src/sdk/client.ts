import {
  decodeAnchor,
  encodeTx,
  fromHex,
  sealedGenesisFromJSON,
  signTxWith,
  toHex,
  txHash,
  StateKeys,
  type Genesis,
  type SealedGenesis,
  type Signer,
  type TxBody,
} from '../chain/index.js';
import { ConsortiaError } from '../lib/errors.js';
import { makeAnchorBundle, verifyAnchorBundle, type AnchorBundle } from './anchor-bundle.js';
import { ControlPlaneClient, type ControlPlaneOptions } from './control-plane.js';
import { SdkCodes } from './errors.js';
import { NodePool, ProofRejected, nodeError, type FetchLike, type NodeReply } from './nodes.js';
import {
  verifyAccountAnswer,
  verifyAnchorAnswer,
  verifyAssetAnswer,
  verifyStateAnswer,
  verifyTxAnswer,
  type VerifiedAccount,
  type VerifiedAnchor,
  type VerifiedAsset,
  type VerifiedTx,
} from './proofs.js';
import { TrustedChain, trustedGenesis, type TrustState } from './trust.js';

/** How long submit waits for a commit by default (resubmitting the same bytes meanwhile). */
export const COMMIT_WAIT_MS_DEFAULT = 60_000;
/** One POST ?wait=commit holds at most this long before the SDK resubmits elsewhere. */
export const SUBMIT_ROUND_MS = 10_000;
/** Pause between rounds over the nodes while a tx is not committed, milliseconds. */
export const SUBMIT_RETRY_PAUSE_MS = 250;
/** Longest pause a node's Retry-After may impose between rounds, milliseconds. */
export const SUBMIT_RETRY_PAUSE_MAX_MS = 10_000;

export interface ClientOptions {
  /** Node API base URLs of the consortium (any role serving the node API). */
  nodes: string[];
  /** The sealed genesis JSON (control plane GET .../ceremony/genesis, or a node's /v1/genesis). */
  sealedGenesis: unknown;
  /** Pin: the genesis hash your organization approved. Strongly recommended. */
  genesisHash?: string;
  /** Trust saved by an earlier client (trustState()): resumes without re-verifying from genesis. */
  trust?: TrustState;
  fetch?: FetchLike;
  timeoutMs?: number;
}

export interface ConnectOptions extends Omit<ClientOptions, 'nodes' | 'sealedGenesis'> {
  controlPlane: ControlPlaneOptions;
  consortiumId: string;
}

export interface SubmitOptions {
  /** Account nonce; default: the next one (proven account nonce, or after this client's own pending txs). */
  nonce?: number;
  /** Give up waiting for a commit after this long (default COMMIT_WAIT_MS_DEFAULT). */
  timeoutMs?: number;
}

/** A committed, successful tx: included in a certified block (proof verified). */
export interface TxReceipt {
  hash: string;
  height: number;
  index: number;
  code: 'OK';
  nonce: number;
}

const hexOf = (k: Uint8Array | string): string => (typeof k === 'string' ? k.toLowerCase() : toHex(k));

/**
 * A consortium's chain, from an application's side: build, sign (through a Signer), submit and
 * confirm every transaction type; read accounts, assets, anchors and txs, each verified against
 * a header certified by the validator set this client trusts (docs/sdk.md).
 */
/** What a node answers to POST /v1/txs?wait=commit. */
interface SubmitAnswer {
  status?: string;
  code?: string;
  height?: number;
  error?: { code?: string; message?: string; details?: { retryAfterSeconds?: unknown } };
}

export class ConsortiaClient {
  readonly pool: NodePool;
  readonly chain: TrustedChain;
  readonly genesis: Genesis;
  readonly chainId: string;
  private readonly sealedJson: unknown;
  /** Next nonce per signer after the txs this client submitted. */
  private readonly nonces = new Map<string, number>();

  constructor(o: ClientOptions) {
    let sealed: SealedGenesis;
    try {
      sealed = sealedGenesisFromJSON(o.sealedGenesis);
    } catch (e) {
      throw new ConsortiaError(SdkCodes.GENESIS_UNTRUSTED, `malformed sealed genesis: ${(e as Error).message}`);
    }
    this.genesis = trustedGenesis(sealed, o.genesisHash);
    this.chainId = this.genesis.chainId;
    this.sealedJson = o.sealedGenesis;
    this.chain = new TrustedChain(this.genesis, o.trust);
    this.pool = new NodePool(o.nodes, o.fetch, o.timeoutMs);
  }

  /** Asks the control plane for the consortium's node endpoints and sealed genesis, then verifies the genesis. */
  static async connect(o: ConnectOptions): Promise<ConsortiaClient> {
    const cp = new ControlPlaneClient({ fetch: o.fetch, ...o.controlPlane });
    const [nodes, sealedGenesis] = await Promise.all([
      cp.nodeEndpoints(o.consortiumId),
      cp.sealedGenesis(o.consortiumId),
    ]);
    if (nodes.length === 0)
      throw new ConsortiaError(SdkCodes.NODES_UNREACHABLE, `consortium ${o.consortiumId} has no ready node`);
    return new ConsortiaClient({ ...o, nodes, sealedGenesis });
  }

  get genesisHash(): string {
    return this.chain.genesisHashHex;
  }
  /** What to persist to resume later (see ClientOptions.trust). */
  trustState(): TrustState {
    return this.chain.toJSON();
  }

  // ---------------------------------------------------------------- reads (verified)

  private async verifiedRead<T>(
    what: string,
    path: string,
    verify: (h: Awaited<ReturnType<TrustedChain['headerAt']>>, body: unknown) => T,
  ): Promise<T> {
    return this.pool.any(what, async (base) => {
      const r = await this.pool.request<{ height?: unknown }>(base, path);
      if (r.status !== 200) throw nodeError(r, what);
      const height = r.body?.height;
      if (typeof height !== 'number' || !Number.isSafeInteger(height) || height < 1)
        throw new ProofRejected(`${what}: answer names no height`);
      const h = await this.chain.headerAt(this.pool, height);
      return verify(h, r.body);
    });
  }

  private async orNull<T>(p: Promise<T>): Promise<T | null> {
    try {
      return await p;
    } catch (e) {
      if (e instanceof ConsortiaError && e.details?.status === 404) return null;
      throw e;
    }
  }

  /** The account's proven nonce and balances; null when no node has it. */
  account(publicKey: Uint8Array | string): Promise<VerifiedAccount | null> {
    const pk = hexOf(publicKey);
    return this.orNull(
      this.verifiedRead(`account ${pk}`, `/v1/accounts/${pk}`, (h, b) => verifyAccountAnswer(h.header, pk, b)),
    );
  }
  /** Proven balance of one asset (0n when the account holds none, or has no account). */
  async balance(publicKey: Uint8Array | string, asset: string): Promise<bigint> {
    const a = await this.account(publicKey);
    return a?.balances.find((b) => b.asset === asset)?.amount ?? 0n;
  }
  /** The asset's proven issuer and supply; null when no node has it. */
  asset(id: string): Promise<VerifiedAsset | null> {
    return this.orNull(
      this.verifiedRead(`asset ${id}`, `/v1/assets/${encodeURIComponent(id)}`, (h, b) =>
        verifyAssetAnswer(h.header, id, b),
      ),
    );
  }
  /** The proven anchor record of a content hash; null when no node has it. */
  anchorRecord(hash: Uint8Array | string): Promise<VerifiedAnchor | null> {
    const hx = hexOf(hash);
    return this.orNull(
      this.verifiedRead(`anchor ${hx}`, `/v1/anchors/${hx}`, (h, b) => verifyAnchorAnswer(h.header, hx, b)),
    );
  }
  /** A committed tx, proven included in its certified block; null when no node has it. */
  tx(hash: Uint8Array | string): Promise<VerifiedTx | null> {
    const hx = hexOf(hash);
    return this.orNull(this.verifiedRead(`tx ${hx}`, `/v1/txs/${hx}`, (h, b) => verifyTxAnswer(h.header, hx, b)));
  }

  /**
   * An offline-checkable proof that `hash` was anchored: see AnchorBundle. Verified here before it
   * is returned, so a saved bundle is known good.
   */
  async anchorBundle(hash: Uint8Array | string): Promise<AnchorBundle> {
    const hx = hexOf(hash);
    const key = StateKeys.anchor(fromHex(hx, 32));
    const st = await this.verifiedRead(`anchor ${hx}`, `/v1/anchors/${hx}`, (h, b) => ({
      h,
      value: verifyStateAnswer(h.header, key, b)!,
      proof: (b as { proof: { proof: unknown } }).proof.proof,
    }));
    if (!st.value) throw new ProofRejected(`anchor ${hx} is proven absent`);
    const rec = decodeAnchor(st.value);
    const t = await this.tx(rec.txHash);
    if (!t)
      throw new ConsortiaError(
        SdkCodes.NOT_FOUND,
        `the tx ${toHex(rec.txHash)} that anchored ${hx} is not served by any node (pruned?)`,
      );
    const inc = await this.chain.headerAt(this.pool, t.height);
    const proof = await this.pool.any(`tx ${t.hash}`, async (base) => {
      const r = await this.pool.request<{ proof: { leafIndex: number; treeSize: number; path: string[] } }>(
        base,
        `/v1/txs/${t.hash}`,
      );
      if (r.status !== 200) throw nodeError(r, `tx ${t.hash}`);
      return { leafIndex: r.body.proof.leafIndex, treeSize: r.body.proof.treeSize, path: r.body.proof.path };
    });
    const bundle = makeAnchorBundle({
      sealedGenesis: this.sealedJson,
      chainId: this.chainId,
      genesisHash: this.genesisHash,
      epochs: this.chain.epochList(),
      hash: hx,
      incHeader: inc.header,
      incCommit: inc.commit,
      tx: t.encoded,
      proof,
      stHeader: st.h.header,
      stCommit: st.h.commit,
      value: st.value,
      stateProof: st.proof as AnchorBundle['state']['proof'],
    });
    verifyAnchorBundle(bundle, { pinnedGenesisHash: this.genesisHash, contentHash: hx });
    return bundle;
  }

  // ---------------------------------------------------------------- writes

  /** The nonce the next tx of `publicKey` must carry. */
  async nextNonce(publicKey: Uint8Array | string): Promise<number> {
    const pk = hexOf(publicKey);
    const proven = (await this.account(pk))?.nonce ?? 0;
    return Math.max(proven, this.nonces.get(pk) ?? 0);
  }

  createAccount(signer: Signer, opts: SubmitOptions = {}): Promise<TxReceipt> {
    return this.submit(signer, { type: 'create_account' }, { nonce: 0, ...opts });
  }
  /**
   * Declares `asset` with its gateway issuer (default: the signer; must have an account): only
   * the issuer issues and burns, and the asset keeps an issued/burned ledger.
   */
  createAsset(
    signer: Signer,
    a: { asset: string; issuer?: Uint8Array | string },
    opts?: SubmitOptions,
  ): Promise<TxReceipt> {
    const issuer = a.issuer === undefined ? signer.publicKey : fromHex(hexOf(a.issuer), 32);
    return this.submit(signer, { type: 'create_asset', asset: a.asset, issuer }, opts);
  }
  /** Issues `amount` of `asset` to `to` (default: the signer). Only its issuer may (an undeclared asset's first issuer becomes it, without a ledger). */
  issueAsset(
    signer: Signer,
    a: { asset: string; amount: bigint; to?: Uint8Array | string },
    opts?: SubmitOptions,
  ): Promise<TxReceipt> {
    const to = a.to === undefined ? signer.publicKey : fromHex(hexOf(a.to), 32);
    return this.submit(signer, { type: 'issue_asset', asset: a.asset, amount: a.amount, to }, opts);
  }
  /** Redeems: the issuer burns `amount` from its own balance (holders transfer to the issuer first). */
  burnAsset(signer: Signer, a: { asset: string; amount: bigint }, opts?: SubmitOptions): Promise<TxReceipt> {
    return this.submit(signer, { type: 'burn_asset', asset: a.asset, amount: a.amount }, opts);
  }
  transfer(
    signer: Signer,
    a: { asset: string; to: Uint8Array | string; amount: bigint },
    opts?: SubmitOptions,
  ): Promise<TxReceipt> {
    return this.submit(
      signer,
      { type: 'transfer', asset: a.asset, to: fromHex(hexOf(a.to), 32), amount: a.amount },
      opts,
    );
  }
  /** Anchors a 32-byte content hash (e.g. SHA-256 of a file) with metadata (<= 1024 bytes UTF-8). */
  anchor(
    signer: Signer,
    a: { hash: Uint8Array | string; metadata?: string },
    opts?: SubmitOptions,
  ): Promise<TxReceipt> {
    return this.submit(signer, { type: 'anchor', hash: fromHex(hexOf(a.hash), 32), metadata: a.metadata ?? '' }, opts);
  }

  /** Builds, signs (via `signer`) and submits a tx, then waits for its verified commit. */
  async submit(
    signer: Signer,
    body: Exclude<TxBody, { type: 'governance' }>,
    opts: SubmitOptions = {},
  ): Promise<TxReceipt> {
    const nonce = opts.nonce ?? (await this.nextNonce(signer.publicKey));
    const tx = await signTxWith(signer, { chainId: this.chainId, signer: signer.publicKey, nonce, body });
    const pk = toHex(signer.publicKey);
    const r = await this.submitSigned(encodeTx(tx), opts.timeoutMs);
    this.nonces.set(pk, Math.max(this.nonces.get(pk) ?? 0, nonce + 1));
    return { ...r, nonce };
  }

  /**
   * Submits signed bytes and waits until they are in a certified block. Safe to call again with
   * the same bytes at any time, on any node: the node answers a known tx by its hash (202 while
   * pending in its mempool, 200 `committed` once in a block), and a tx executes at most once (its
   * nonce is used up). 202 means only "in that node's mempool" (not durable): so while no commit
   * is seen, the same bytes are resubmitted to the next node.
   */
  async submitSigned(encoded: Uint8Array, timeoutMs = COMMIT_WAIT_MS_DEFAULT): Promise<Omit<TxReceipt, 'nonce'>> {
    const hash = toHex(txHash(encoded));
    const deadline = Date.now() + timeoutMs;
    const body = JSON.stringify({ tx: toHex(encoded) });
    let lastWhy = 'no node answered';
    while (Date.now() < deadline) {
      // a node shedding load (429 MEMPOOL_BUSY / RATE_LIMITED) says when to come back
      let pauseMs = SUBMIT_RETRY_PAUSE_MS;
      for (const base of this.pool.order()) {
        const wait = Math.max(1, Math.min(SUBMIT_ROUND_MS, deadline - Date.now()));
        let r: NodeReply<SubmitAnswer>;
        try {
          r = await this.pool.request<SubmitAnswer>(
            base,
            `/v1/txs?wait=commit&timeoutMs=${wait}`,
            { method: 'POST', headers: { 'content-type': 'application/json' }, body },
            wait + 5_000,
          );
        } catch (e) {
          lastWhy = `${base}: ${(e as Error).message}`;
          continue;
        }
        if (r.status === 200 && r.body?.status === 'committed') return this.confirm(hash, deadline);
        if (r.status === 202) {
          lastWhy = `${base}: accepted, not yet committed`;
          continue;
        }
        if (r.status >= 500 || r.status === 429) {
          lastWhy = `${base}: HTTP ${r.status}${r.body?.error?.code ? ` ${r.body.error.code}` : ''}`;
          const after = Number(r.body?.error?.details?.retryAfterSeconds);
          if (r.status === 429 && Number.isFinite(after) && after > 0)
            pauseMs = Math.max(pauseMs, Math.min(after * 1000, SUBMIT_RETRY_PAUSE_MAX_MS));
          continue;
        }
        const code = r.body?.error?.code ?? `HTTP_${r.status}`;
        throw new ConsortiaError(
          SdkCodes.TX_REJECTED,
          `tx ${hash} refused by ${base}: ${code}: ${r.body?.error?.message ?? ''}`,
          { code, hash, status: r.status },
        );
      }
      if (Date.now() >= deadline) break;
      await new Promise((res) => setTimeout(res, Math.min(pauseMs, Math.max(1, deadline - Date.now()))));
    }
    throw new ConsortiaError(
      SdkCodes.TX_TIMEOUT,
      `tx ${hash} not seen committed within ${timeoutMs} ms (${lastWhy}); resubmitting the same bytes is safe`,
      { hash },
    );
  }

  /**
   * A node said "committed": believe it only with an inclusion proof under a certified header. The
   * result code is not committed in headers, so with more than one node a second one must report
   * the same code (a disagreement is SDK_PROOF_REJECTED: one of them lies).
   */
  private async confirm(hash: string, deadline: number): Promise<Omit<TxReceipt, 'nonce'>> {
    for (;;) {
      const t = await this.tx(hash);
      if (t && this.pool.urls.length > 1) {
        const second = await this.tx(hash).catch(() => null); // the pool rotates its start: usually another node
        if (second && second.code !== t.code) {
          throw new ProofRejected(`nodes disagree on the result of tx ${hash}: ${t.code} and ${second.code}`, { hash });
        }
      }
      if (t) {
        if (t.code !== 'OK')
          throw new ConsortiaError(SdkCodes.TX_FAILED, `tx ${hash} committed at height ${t.height} with ${t.code}`, {
            code: t.code,
            hash,
            height: t.height,
          });
        return { hash, height: t.height, index: t.index, code: 'OK' };
      }
      if (Date.now() >= deadline)
        throw new ConsortiaError(SdkCodes.TX_TIMEOUT, `tx ${hash} reported committed but no node proved it in time`, {
          hash,
        });
      await new Promise((res) => setTimeout(res, 250));
    }
  }
}
