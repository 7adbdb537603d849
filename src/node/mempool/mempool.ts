import { VerifyPoolCodes } from '../verify-pool/index.js';

/**
 * Pending-transaction pool. Admission runs cheapest checks first (size, dedupe, decode,
 * chain id, nonce, room) and the expensive Ed25519 verify last, caching verified hashes so a
 * tx is verified once per node (block execution skips txs in `verified`). Every refusal carries
 * a stable reason code.
 *
 * Nonces. An account's "next executable nonce" is its state nonce plus the run of its pending
 * txs from there: those are executable (reaping takes them), every pending tx above is gapped
 * (it waits for a missing nonce). An account's gap is the number of nonces missing below its
 * highest pending tx. A tx more than `futureNoncesMax` above the next executable nonce is refused;
 * so is any API tx above it while the node sheds load (`shedding`).
 *
 * The pool cannot be wedged by gapped txs:
 * - caps per account (`accountMaxTxs`) and on what gossip from one peer may occupy (`peerMaxTxs`);
 * - every tx expires `txTtlMs` after this node admitted it (dropped and counted as TX_EXPIRED);
 *   expiry needs no timer: it runs on admission, on reaping and after each committed block,
 *   against the clock passed in;
 * - when a cap is reached (pool, account or peer), an incoming tx that is missing fewer nonces
 *   than the worst gapped tx in that scope evicts it (counted as EVICTED): an executable or
 *   gap-closing tx (missing none) always does, so it is never refused because gapped txs fill
 *   the pool. The victim is the highest nonce of the account with the largest gap, so eviction
 *   never leaves a hole under a tx that was executable.
 */
export interface MempoolTx<T> {
  bytes: Uint8Array;
  hash: Uint8Array;
  hashHex: string;
  signer: string;
  nonce: number;
  tx: T;
  /** Clock of admission on this node (ms); the tx expires at admittedAt + txTtlMs. */
  admittedAt: number;
  /** The peer whose gossip delivered it first, or null (this node's API). */
  fromPeer: string | null;
  /** Waits for a missing lower nonce of its account (not reapable). */
  gapped: boolean;
}

/** What the pool needs from the chain (wired by the node; faked in unit tests). */
export interface MempoolChain<T> {
  chainId: string;
  /** The tx hash and its lowercase hex (the chain shares them with execution). */
  txId(bytes: Uint8Array): { hash: Uint8Array; hex: string };
  /** Throws a ConsortiaError-like { code } (CODEC_* / INVALID_TX) on undecodable input. */
  decode(bytes: Uint8Array): T;
  info(tx: T): { chainId: string; signerHex: string; nonce: number };
  verifySignature(tx: T, bytes: Uint8Array): boolean;
  /**
   * verifySignature of each item off the main thread (src/node/verify-pool), in order; rejects
   * (BUSY, closed) when it cannot take them now, with `code` VerifyPoolCodes.LATE when a 'low' job found
   * no worker in time. `wanted` false when a job could start: its items come back false unverified.
   * Absent: every verify runs inline (verifyWorkers 0).
   */
  verifySignatures?(
    items: readonly { tx: T; bytes: Uint8Array }[],
    priority: 'low' | 'normal' | 'high',
    wanted?: () => boolean,
  ): Promise<boolean[]>;
  /** Next nonce of `signer` in the latest committed state (0 for unknown accounts). */
  stateNonce(signerHex: string): number;
  /** Stateful admission against the latest state; `nonce` checks are done by the pool. Returns a rejection code or null. */
  check(tx: T, bytes: Uint8Array): string | null;
}

/** Default limits, each with its unit; the node config overrides them (mempool.*). */
/** Nonces: how far above an account's next executable nonce a pending tx may be. */
export const MEMPOOL_FUTURE_NONCES_MAX = 64;
/** Txs: pending txs per account (executable and gapped). */
export const MEMPOOL_ACCOUNT_TXS_MAX = 256;
/** Percent of maxTxs that txs first gossiped by one peer may occupy (default of peerMaxTxs). */
export const MEMPOOL_PEER_SHARE_PERCENT = 50;
/** Milliseconds a pending tx waits at most before it is dropped (counted from its admission on this node). */
export const MEMPOOL_TX_TTL_MS = 60_000;
/** Hashes: size of the verified-signature cache. */
export const MEMPOOL_VERIFIED_CACHE_MAX = 200_000;

export interface MempoolLimits {
  /** Txs in the pool. */
  maxTxs: number;
  /** Bytes of pending txs. */
  maxBytes: number;
  /** Bytes of one encoded tx. */
  maxTxBytes: number;
  /** Nonces above the next executable nonce (default MEMPOOL_FUTURE_NONCES_MAX). */
  futureNoncesMax?: number;
  /** Pending txs per account (default MEMPOOL_ACCOUNT_TXS_MAX). */
  accountMaxTxs?: number;
  /** Txs first gossiped by one peer (default MEMPOOL_PEER_SHARE_PERCENT of maxTxs). */
  peerMaxTxs?: number;
  /** Milliseconds from admission to expiry (default MEMPOOL_TX_TTL_MS). */
  txTtlMs?: number;
  /** Hashes in the verified-signature cache (default MEMPOOL_VERIFIED_CACHE_MAX). */
  verifiedCacheSize?: number;
}

export type AdmitResult<T> =
  | { ok: true; entry: MempoolTx<T>; duplicate: boolean }
  | { ok: false; code: string; message: string; hash: Uint8Array | null };

/**
 * Stable reason codes: of a refusal (returned, and counted by onReject) or of a drop of a
 * pending tx (TX_EXPIRED, EVICTED: counted by onReject only). The node API maps refusals to
 * HTTP statuses (src/node/rpc/errors.ts).
 */
export const MempoolReasons = {
  TX_TOO_LARGE: 'TX_TOO_LARGE',
  /** Pool at maxTxs/maxBytes and no pending tx is missing more nonces than this one (429). */
  MEMPOOL_FULL: 'MEMPOOL_FULL',
  /** The signer already has accountMaxTxs pending and none of them is gapped worse than this one (429). */
  ACCOUNT_MEMPOOL_FULL: 'ACCOUNT_MEMPOOL_FULL',
  /** Gossip only: txs first gossiped by this peer already occupy peerMaxTxs. */
  PEER_MEMPOOL_FULL: 'PEER_MEMPOOL_FULL',
  BAD_SIGNATURE: 'BAD_SIGNATURE',
  /** Nonce already used, or another pending tx of the signer has it (422). */
  BAD_NONCE: 'BAD_NONCE',
  /** Nonce more than futureNoncesMax above the signer's next executable nonce (422): submit the missing ones first. */
  NONCE_TOO_FAR_AHEAD: 'NONCE_TOO_FAR_AHEAD',
  WRONG_CHAIN: 'WRONG_CHAIN',
  INVALID_TX: 'INVALID_TX',
  /** Dropped: pending for txTtlMs without being committed. */
  TX_EXPIRED: 'TX_EXPIRED',
  /** Dropped: a gapped tx that made room for a tx missing fewer nonces. */
  EVICTED: 'EVICTED',
  /** Signature verification is saturated (its queue in src/node/verify-pool is full) or stopping: retry later (503). */
  BUSY: 'BUSY',
  /**
   * API only, while the node sheds load (`shedding`): the tx cannot execute before a lower nonce
   * of its account that is not pending (429; the same code as the gate's refusal, src/node/rpc/errors.ts).
   */
  MEMPOOL_BUSY: 'MEMPOOL_BUSY',
} as const;

/** Refusals an earlier tx of the same batch can lift once it is admitted (it raises its account's next nonce or closes a gap). */
const BATCH_DEPENDENT: ReadonlySet<string> = new Set([
  MempoolReasons.NONCE_TOO_FAR_AHEAD,
  MempoolReasons.MEMPOOL_BUSY,
  MempoolReasons.MEMPOOL_FULL,
  MempoolReasons.ACCOUNT_MEMPOOL_FULL,
  MempoolReasons.PEER_MEMPOOL_FULL,
]);

/** A tx that passed every cheap check and now waits for its signature verify (admitMany). */
interface Deferred<T> {
  tx: T;
  bytes: Uint8Array;
  hash: Uint8Array;
  hashHex: string;
}

interface Account<T> {
  signer: string;
  txs: Map<number, MempoolTx<T>>;
  /** State nonce + the run of pending txs from it. */
  next: number;
  /** Highest pending nonce. */
  top: number;
  /** Nonces missing below `top` (0: nothing pending is gapped). */
  gap: number;
}

export class Mempool<T> {
  /** Insertion (= admission time) order, which expiry relies on. */
  private readonly byHash = new Map<string, MempoolTx<T>>();
  private readonly accounts = new Map<string, Account<T>>();
  /** Accounts with gapped txs by their gap: eviction takes from the largest. */
  private readonly byGap = new Map<number, Set<Account<T>>>();
  private readonly peerTxs = new Map<string, number>();
  private readonly peerGapped = new Map<string, Set<MempoolTx<T>>>();
  /** Hashes whose signature verified (bounded, insertion-ordered eviction). */
  readonly verified = new Set<string>();
  private bytes = 0;
  /** Pending txs with `gapped` set (kept in step by refresh and remove). */
  private gapped = 0;
  /** Inside admitMany's synchronous passes: refusals are counted once, when final. */
  private quiet = false;
  private readonly futureNoncesMax: number;
  private readonly accountMaxTxs: number;
  private readonly peerMaxTxs: number;
  private readonly ttlMs: number;
  /** Refusals and drops, by reason (MempoolReasons or a chain rejection code). */
  onReject?: (code: string) => void;
  onAdmit?: (entry: MempoolTx<T>, fromPeer: string | null) => void;
  /**
   * Load shedding (BacklogGate.shedding, src/node/mempool/backlog-gate.ts): a Retry-After in seconds
   * while the node refuses API submissions, else null. Meanwhile an API tx that cannot execute next
   * is refused MEMPOOL_BUSY: taken, it would wait gapped for a lower nonce the gate refused, until
   * that client's retry gets in, itself maybe refused again. Unset: never.
   */
  shedding?: () => number | null;
  /** `n` API txs were refused MEMPOOL_BUSY because their verify found no worker in time (the node sheds as for the gate). */
  onVerifyLate?: (n: number) => void;

  constructor(
    private readonly chain: MempoolChain<T>,
    private readonly limits: MempoolLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.futureNoncesMax = limits.futureNoncesMax ?? MEMPOOL_FUTURE_NONCES_MAX;
    this.accountMaxTxs = limits.accountMaxTxs ?? MEMPOOL_ACCOUNT_TXS_MAX;
    this.peerMaxTxs = limits.peerMaxTxs ?? Math.max(1, Math.ceil((limits.maxTxs * MEMPOOL_PEER_SHARE_PERCENT) / 100));
    this.ttlMs = limits.txTtlMs ?? MEMPOOL_TX_TTL_MS;
  }

  get size(): number {
    return this.byHash.size;
  }
  get sizeBytes(): number {
    return this.bytes;
  }
  has(hashHex: string): boolean {
    return this.byHash.has(hashHex);
  }
  get(hashHex: string): MempoolTx<T> | undefined {
    return this.byHash.get(hashHex);
  }
  /** Txs first gossiped by `peer` that are still pending. */
  peerSize(peer: string): number {
    return this.peerTxs.get(peer) ?? 0;
  }
  /** Pending txs that wait for a missing lower nonce. */
  get gappedSize(): number {
    return this.gapped;
  }
  /** Pending txs a block could take (not waiting for a missing nonce): the work the chain has ahead of it. */
  get executableSize(): number {
    return this.byHash.size - this.gapped;
  }

  private reject(code: string, message: string, hash: Uint8Array | null): AdmitResult<T> {
    if (!this.quiet) this.onReject?.(code);
    return { ok: false, code, message, hash };
  }

  markVerified(hashHex: string): void {
    this.verified.add(hashHex);
    const cap = this.limits.verifiedCacheSize ?? MEMPOOL_VERIFIED_CACHE_MAX;
    if (this.verified.size > cap) {
      const drop = this.verified.size - cap;
      let i = 0;
      for (const h of this.verified) {
        if (i++ >= drop) break;
        this.verified.delete(h);
      }
    }
  }

  /** Whether signatures can be verified off the main thread (chain.verifySignatures is wired). */
  get verifiesOffThread(): boolean {
    return this.chain.verifySignatures !== undefined;
  }

  /**
   * Verifies the signatures of txs not yet in `verified` off the main thread and marks those that
   * verify (against these exact bytes, whose hash is hashHex). Rejects if the verifier cannot take
   * them (nothing is marked then); without an off-thread verifier it does nothing. Work that is no
   * longer `wanted` when it could start is skipped (its txs are not marked).
   */
  async verifyInto(
    txs: readonly { tx: T; bytes: Uint8Array; hashHex: string }[],
    priority: 'normal' | 'high',
    wanted?: () => boolean,
  ): Promise<void> {
    const verify = this.chain.verifySignatures;
    const todo = txs.filter((t) => !this.verified.has(t.hashHex));
    if (!verify || todo.length === 0) return;
    const ok = await verify.call(this.chain, todo, priority, wanted);
    for (let i = 0; i < todo.length; i++) if (ok[i] === true) this.markVerified(todo[i]!.hashHex);
  }

  /** Admission on the main thread, the signature verify included (see admitMany for the off-thread path). */
  add(bytes: Uint8Array, fromPeer: string | null = null): AdmitResult<T> {
    return this.admit(bytes, fromPeer, null)!;
  }

  /** add() of one tx with its signature verified off the main thread (admitMany). */
  async addAsync(bytes: Uint8Array, fromPeer: string | null = null): Promise<AdmitResult<T>> {
    return (await this.admitMany([{ bytes, fromPeer }]))[0]!;
  }

  /**
   * Admits a batch with the signature verifies off the main thread: every cheap check runs first
   * (as in add), the signatures of the txs that pass are verified together (chain.verifySignatures),
   * then each is admitted by add's checks again, since the pool and the state may have moved while
   * verifying (its nonce taken, no room left). Results in order, as sequential add() calls would give
   * them: a refusal that an earlier tx of the batch could lift (BATCH_DEPENDENT) is decided after
   * that tx. Without an off-thread verifier it is add() per tx.
   */
  async admitMany(items: readonly { bytes: Uint8Array; fromPeer: string | null }[]): Promise<AdmitResult<T>[]> {
    if (!this.chain.verifySignatures) return items.map((it) => this.add(it.bytes, it.fromPeer));
    const out: (AdmitResult<T> | undefined)[] = new Array(items.length);
    let open = items.map((_, i) => i);
    // Each round verifies at least one tx (or ends): a tx is deferred again only if the bounded
    // verified cache dropped it meanwhile, so this ends; the bound is a guard.
    for (let round = 0; open.length > 0 && round <= items.length + 1; round++) {
      const deferred: Deferred<T>[] = [];
      const deferredAt: number[] = [];
      const retry: number[] = [];
      this.quiet = true;
      try {
        for (const i of open) {
          const r = this.admit(items[i]!.bytes, items[i]!.fromPeer, deferred);
          if (r === null) deferredAt.push(i);
          else if (!r.ok && deferredAt.length > 0 && BATCH_DEPENDENT.has(r.code)) retry.push(i);
          else out[i] = r;
        }
      } finally {
        this.quiet = false;
      }
      if (deferred.length === 0) break; // (then nothing was retried either)
      let ok: boolean[] | null = null;
      let why = '';
      let late = false;
      try {
        // this node's API submissions after gossip (txs other nodes admitted already): see VerifyPriority
        ok = await this.chain.verifySignatures(deferred, items[0]?.fromPeer === null ? 'low' : 'normal');
      } catch (err) {
        why = (err as Error).message;
        late = (err as { code?: unknown }).code === VerifyPoolCodes.LATE;
      }
      if (late) this.onVerifyLate?.(deferred.length);
      const next: number[] = [...retry];
      for (let k = 0; k < deferred.length; k++) {
        const i = deferredAt[k]!;
        const d = deferred[k]!;
        if (ok === null)
          // a verify that did not start in time (API txs behind proposal validation) is load shedding
          out[i] = {
            ok: false,
            code: late ? MempoolReasons.MEMPOOL_BUSY : MempoolReasons.BUSY,
            message: `signature not verified: ${why}; retry shortly`,
            hash: d.hash,
          };
        else if (ok[k] !== true)
          out[i] = {
            ok: false,
            code: MempoolReasons.BAD_SIGNATURE,
            message: 'signature does not verify',
            hash: d.hash,
          };
        else {
          this.markVerified(d.hashHex); // verified against these very bytes
          next.push(i);
        }
      }
      open = next.sort((a, b) => a - b);
    }
    for (let i = 0; i < items.length; i++) {
      const r = out[i];
      if (r === undefined)
        out[i] = this.add(items[i]!.bytes, items[i]!.fromPeer); // only past the guard
      else if (!r.ok) this.onReject?.(r.code);
    }
    return out as AdmitResult<T>[];
  }

  /**
   * add(), except with `deferred` given: a tx that passed every check before its signature verify
   * (and is not in `verified`) is appended there and null is returned instead of verifying it.
   */
  private admit(bytes: Uint8Array, fromPeer: string | null, deferred: Deferred<T>[] | null): AdmitResult<T> | null {
    if (bytes.length > this.limits.maxTxBytes) {
      return this.reject(
        MempoolReasons.TX_TOO_LARGE,
        `tx is ${bytes.length} bytes, limit ${this.limits.maxTxBytes}`,
        null,
      );
    }
    this.expire();
    const { hash, hex: hashHex } = this.chain.txId(bytes);
    const existing = this.byHash.get(hashHex);
    if (existing) return { ok: true, entry: existing, duplicate: true };
    let tx: T;
    try {
      tx = this.chain.decode(bytes);
    } catch (err) {
      const code = (err as { code?: string }).code ?? MempoolReasons.INVALID_TX;
      return this.reject(
        code.startsWith('CODEC') ? code : MempoolReasons.INVALID_TX,
        `undecodable tx: ${(err as Error).message}`,
        hash,
      );
    }
    const info = this.chain.info(tx);
    if (info.chainId !== this.chain.chainId)
      return this.reject(MempoolReasons.WRONG_CHAIN, `tx is for chain ${info.chainId}`, hash);
    const signer = info.signerHex;
    const nonce = info.nonce;
    const stateNonce = this.chain.stateNonce(signer);
    const acct = this.accounts.get(signer);
    if (acct) this.refresh(acct, stateNonce);
    if (nonce < stateNonce)
      return this.reject(MempoolReasons.BAD_NONCE, `nonce ${nonce} already used (next ${stateNonce})`, hash);
    if (acct?.txs.has(nonce))
      return this.reject(MempoolReasons.BAD_NONCE, `another tx with nonce ${nonce} is pending`, hash);
    const next = acct ? acct.next : stateNonce;
    // A client refused by the gate retries its lowest nonce first; a later one taken meanwhile would
    // wait for it gapped (API txs only: gossip was admitted by its origin node, which proposes it).
    // Checked before the future-nonce bound: the missing nonces may be the ones the gate refused,
    // so the answer is "retry" (429), not "your request is wrong" (422).
    if (nonce > next && fromPeer === null) {
      const retryAfterS = this.shedding?.() ?? null;
      if (retryAfterS !== null) {
        return this.reject(
          MempoolReasons.MEMPOOL_BUSY,
          `the node is shedding load and nonce ${nonce} cannot execute before nonce ${next} of the account; submit the lowest missing nonce first, retry in ${retryAfterS} s`,
          hash,
        );
      }
    }
    if (nonce - next > this.futureNoncesMax) {
      return this.reject(
        MempoolReasons.NONCE_TOO_FAR_AHEAD,
        `nonce ${nonce} is more than ${this.futureNoncesMax} above the account's next executable nonce ${next}; submit the missing nonces first`,
        hash,
      );
    }
    // Nonces this tx still waits for once admitted (0: executable, or it closes the account's gap).
    let missing = nonce - next;
    if (missing > 0 && acct) for (const n of acct.txs.keys()) if (n > next && n < nonce) missing--;
    // Room, before the signature verify: a tx that would be refused costs no verify.
    const noRoom = this.makeRoom(acct, fromPeer, missing, bytes.length, true);
    if (noRoom) return this.reject(noRoom.code, noRoom.message, hash);
    if (!this.verified.has(hashHex)) {
      if (deferred !== null) {
        deferred.push({ tx, bytes, hash, hashHex });
        return null;
      }
      if (!this.chain.verifySignature(tx, bytes))
        return this.reject(MempoolReasons.BAD_SIGNATURE, 'signature does not verify', hash);
      this.markVerified(hashHex);
    }
    const code = this.chain.check(tx, bytes);
    if (code) return this.reject(code, `rejected by state check: ${code}`, hash);
    const stillNoRoom = this.makeRoom(acct, fromPeer, missing, bytes.length, false);
    if (stillNoRoom) return this.reject(stillNoRoom.code, stillNoRoom.message, hash);

    const entry: MempoolTx<T> = {
      bytes,
      hash,
      hashHex,
      signer,
      nonce,
      tx,
      admittedAt: this.now(),
      fromPeer,
      gapped: false,
    };
    this.byHash.set(hashHex, entry);
    let a = this.accounts.get(signer); // an eviction may have emptied and dropped `acct`
    if (!a) {
      a = { signer, txs: new Map(), next: stateNonce, top: -1, gap: 0 };
      this.accounts.set(signer, a);
    }
    a.txs.set(nonce, entry);
    this.bytes += bytes.length;
    if (fromPeer !== null) this.peerTxs.set(fromPeer, (this.peerTxs.get(fromPeer) ?? 0) + 1);
    this.refresh(a, stateNonce);
    this.onAdmit?.(entry, fromPeer);
    return { ok: true, entry, duplicate: false };
  }

  /**
   * Makes room for a tx of `len` bytes that misses `missing` nonces, in the account's, the
   * peer's and the pool's caps, by evicting gapped txs that miss more. With `dryRun` only tells
   * whether it can (no eviction). Returns the refusal, or null.
   */
  private makeRoom(
    acct: Account<T> | undefined,
    fromPeer: string | null,
    missing: number,
    len: number,
    dryRun: boolean,
  ): { code: string; message: string } | null {
    if (acct && acct.txs.size >= this.accountMaxTxs) {
      if (acct.gap <= missing) {
        return {
          code: MempoolReasons.ACCOUNT_MEMPOOL_FULL,
          message: `the account has ${acct.txs.size} pending txs (limit ${this.accountMaxTxs}); wait for them to commit`,
        };
      }
      if (!dryRun) this.evict(acct.txs.get(acct.top)!);
    }
    if (fromPeer !== null && this.peerSize(fromPeer) >= this.peerMaxTxs) {
      // (no scan of the peer's txs when no account at all has a gap larger than `missing`)
      const v = (this.worstAccount()?.gap ?? 0) > missing ? this.worstOfPeer(fromPeer) : undefined;
      if (!v || this.accounts.get(v.signer)!.gap <= missing) {
        return {
          code: MempoolReasons.PEER_MEMPOOL_FULL,
          message: `txs gossiped by this peer occupy ${this.peerSize(fromPeer)} (limit ${this.peerMaxTxs})`,
        };
      }
      if (!dryRun) this.evict(v);
    }
    while (this.byHash.size >= this.limits.maxTxs || this.bytes + len > this.limits.maxBytes) {
      const worst = this.worstAccount();
      if (!worst || worst.gap <= missing) {
        return {
          code: MempoolReasons.MEMPOOL_FULL,
          message:
            missing === 0
              ? 'mempool is full of executable txs; retry after the next blocks'
              : `mempool is full; this tx waits for ${missing} missing nonce(s)`,
        };
      }
      if (dryRun) break;
      this.evict(worst.txs.get(worst.top)!);
    }
    return null;
  }

  private worstAccount(): Account<T> | undefined {
    let max = 0;
    for (const g of this.byGap.keys()) if (g > max) max = g;
    if (max === 0) return undefined;
    for (const a of this.byGap.get(max)!) return a;
    return undefined;
  }

  /** The gapped tx first gossiped by `peer` of the account with the largest gap, its highest nonce. */
  private worstOfPeer(peer: string): MempoolTx<T> | undefined {
    let best: MempoolTx<T> | undefined;
    let bestGap = 0;
    for (const e of this.peerGapped.get(peer) ?? []) {
      const g = this.accounts.get(e.signer)!.gap;
      if (g > bestGap || (g === bestGap && best !== undefined && e.signer === best.signer && e.nonce > best.nonce)) {
        best = e;
        bestGap = g;
      }
    }
    return best;
  }

  private evict(e: MempoolTx<T>): void {
    const a = this.remove(e);
    if (a) this.refresh(a);
    this.onReject?.(MempoolReasons.EVICTED);
  }

  /** Recomputes an account's next executable nonce, gapped flags and gap (after any change to it or its state nonce). */
  private refresh(a: Account<T>, stateNonce = this.chain.stateNonce(a.signer)): void {
    let next = stateNonce;
    while (a.txs.has(next)) next++;
    let top = -1;
    let gapped = 0;
    for (const e of a.txs.values()) {
      if (e.nonce > top) top = e.nonce;
      const g = e.nonce > next;
      if (g) gapped++;
      if (g !== e.gapped) {
        e.gapped = g;
        this.gapped += g ? 1 : -1;
        if (e.fromPeer !== null) {
          let s = this.peerGapped.get(e.fromPeer);
          if (g) {
            if (!s) {
              s = new Set();
              this.peerGapped.set(e.fromPeer, s);
            }
            s.add(e);
          } else if (s) {
            s.delete(e);
            if (s.size === 0) this.peerGapped.delete(e.fromPeer);
          }
        }
      }
    }
    a.next = next;
    a.top = top;
    this.setGap(a, top > next ? top - next + 1 - gapped : 0);
  }

  private setGap(a: Account<T>, gap: number): void {
    if (gap === a.gap) return;
    const old = this.byGap.get(a.gap);
    if (old) {
      old.delete(a);
      if (old.size === 0) this.byGap.delete(a.gap);
    }
    a.gap = gap;
    if (gap > 0) {
      let s = this.byGap.get(gap);
      if (!s) {
        s = new Set();
        this.byGap.set(gap, s);
      }
      s.add(a);
    }
  }

  /** Drops txs pending for txTtlMs or longer (oldest first; cheap when none is due). */
  expire(): number {
    if (this.byHash.size === 0) return 0;
    const cutoff = this.now() - this.ttlMs;
    const touched = new Set<Account<T>>();
    let n = 0;
    for (const e of this.byHash.values()) {
      if (e.admittedAt > cutoff) break;
      const a = this.remove(e);
      if (a) touched.add(a);
      n++;
      this.onReject?.(MempoolReasons.TX_EXPIRED);
    }
    // An expired executable tx leaves its account's later txs gapped until it is resubmitted.
    for (const a of touched) this.refresh(a);
    return n;
  }

  /**
   * Txs for a proposal, within caps: per signer the contiguous nonce run from its state nonce, the
   * signers in the order their next tx was admitted (oldest first). When a block cannot take all
   * that is pending, the txs that waited longest go first: in the order accounts entered the pool,
   * an account that always has a tx pending stayed ahead of older txs of the others.
   */
  reap(maxTxs: number, maxBytes: number): MempoolTx<T>[] {
    this.expire();
    const out: MempoolTx<T>[] = [];
    let bytes = 0;
    /** Signers whose run was taken. */
    const taken = new Set<string>();
    for (const head of this.byHash.values()) {
      // the first executable tx met of a signer is its oldest one: its run goes with it
      if (head.gapped || taken.has(head.signer)) continue;
      taken.add(head.signer);
      const m = this.accounts.get(head.signer)?.txs;
      if (!m) continue;
      let n = this.chain.stateNonce(head.signer);
      for (let e = m.get(n); e; e = m.get(++n)) {
        if (out.length >= maxTxs || bytes + e.bytes.length > maxBytes) return out;
        out.push(e);
        bytes += e.bytes.length;
      }
    }
    return out;
  }

  /** Removes an entry from every index; returns its account if that still has txs (to refresh). */
  private remove(e: MempoolTx<T>): Account<T> | undefined {
    if (!this.byHash.delete(e.hashHex)) return undefined;
    this.bytes -= e.bytes.length;
    if (e.gapped) this.gapped--;
    if (e.fromPeer !== null) {
      const c = (this.peerTxs.get(e.fromPeer) ?? 1) - 1;
      if (c > 0) this.peerTxs.set(e.fromPeer, c);
      else this.peerTxs.delete(e.fromPeer);
      const s = this.peerGapped.get(e.fromPeer);
      if (s) {
        s.delete(e);
        if (s.size === 0) this.peerGapped.delete(e.fromPeer);
      }
    }
    const a = this.accounts.get(e.signer);
    if (!a) return undefined;
    a.txs.delete(e.nonce);
    if (a.txs.size > 0) return a;
    this.setGap(a, 0);
    this.accounts.delete(e.signer);
    return undefined;
  }

  /**
   * After a block commits (state already updated): drop included txs, then re-check the
   * signers it touched — stale nonces go, and the new head tx of each is re-validated —, then
   * drop expired txs.
   */
  onCommitted(committedHashHex: Iterable<string>, touchedSigners: Iterable<string>): void {
    // A committed tx's cached verification goes: a late copy of a tx that executed fails on its
    // nonce before any verify (one that was rejected in its block is verified again: a cost only),
    // and the cache stays about the size of the pool instead of 200k long-lived strings.
    const touched = new Set<string>(touchedSigners);
    for (const h of committedHashHex) {
      const e = this.byHash.get(h);
      if (e) {
        this.remove(e);
        touched.add(e.signer);
      }
      this.verified.delete(h);
    }
    for (const signer of touched) {
      const a = this.accounts.get(signer);
      if (!a) continue;
      const next = this.chain.stateNonce(signer);
      let live: Account<T> | undefined = a;
      for (const e of [...a.txs.values()]) {
        if (e.nonce < next) live = this.remove(e);
        else if (e.nonce === next && this.chain.check(e.tx, e.bytes) !== null) live = this.remove(e);
      }
      if (live) this.refresh(live, next);
    }
    this.expire();
  }

  /** Full re-check (e.g. after sync jumped several blocks). */
  recheckAll(): void {
    this.onCommitted([], [...this.accounts.keys()]);
  }
}
