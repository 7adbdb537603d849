/**
 * Pending-transaction pool. Admission runs cheapest checks first (size, dedupe, decode,
 * chain id, caps) and the expensive Ed25519 verify last, caching verified hashes so a tx is
 * verified once per node (block execution skips txs in `verified`). Every refusal carries a
 * stable reason code. Nonces: a signer may have a window of future nonces pending; reaping
 * takes, per signer, the contiguous run starting at the account's state nonce.
 */
export interface MempoolTx<T> {
  bytes: Uint8Array;
  hash: Uint8Array;
  hashHex: string;
  signer: string;
  nonce: number;
  tx: T;
  admittedAt: number;
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
  /** Next nonce of `signer` in the latest committed state (0 for unknown accounts). */
  stateNonce(signerHex: string): number;
  /** Stateful admission against the latest state; `nonce` checks are done by the pool. Returns a rejection code or null. */
  check(tx: T, bytes: Uint8Array): string | null;
}

export interface MempoolLimits { maxTxs: number; maxBytes: number; maxTxBytes: number; nonceWindow?: number; verifiedCacheSize?: number }

export type AdmitResult<T> =
  | { ok: true; entry: MempoolTx<T>; duplicate: boolean }
  | { ok: false; code: string; message: string; hash: Uint8Array | null };

export const MempoolReasons = {
  TX_TOO_LARGE: 'TX_TOO_LARGE',
  MEMPOOL_FULL: 'MEMPOOL_FULL',
  BAD_SIGNATURE: 'BAD_SIGNATURE',
  BAD_NONCE: 'BAD_NONCE',
  WRONG_CHAIN: 'WRONG_CHAIN',
  INVALID_TX: 'INVALID_TX',
} as const;

export class Mempool<T> {
  private readonly byHash = new Map<string, MempoolTx<T>>();
  private readonly bySigner = new Map<string, Map<number, MempoolTx<T>>>();
  /** Hashes whose signature verified (bounded, insertion-ordered eviction). */
  readonly verified = new Set<string>();
  private bytes = 0;
  onReject?: (code: string) => void;
  onAdmit?: (entry: MempoolTx<T>, fromPeer: string | null) => void;

  constructor(private readonly chain: MempoolChain<T>, private readonly limits: MempoolLimits, private readonly now: () => number = Date.now) {}

  get size(): number { return this.byHash.size; }
  get sizeBytes(): number { return this.bytes; }
  has(hashHex: string): boolean { return this.byHash.has(hashHex); }
  get(hashHex: string): MempoolTx<T> | undefined { return this.byHash.get(hashHex); }

  private reject(code: string, message: string, hash: Uint8Array | null): AdmitResult<T> {
    this.onReject?.(code);
    return { ok: false, code, message, hash };
  }

  markVerified(hashHex: string): void {
    this.verified.add(hashHex);
    const cap = this.limits.verifiedCacheSize ?? 200_000;
    if (this.verified.size > cap) {
      const drop = this.verified.size - cap;
      let i = 0;
      for (const h of this.verified) { if (i++ >= drop) break; this.verified.delete(h); }
    }
  }

  add(bytes: Uint8Array, fromPeer: string | null = null): AdmitResult<T> {
    if (bytes.length > this.limits.maxTxBytes) {
      return this.reject(MempoolReasons.TX_TOO_LARGE, `tx is ${bytes.length} bytes, limit ${this.limits.maxTxBytes}`, null);
    }
    const { hash, hex: hashHex } = this.chain.txId(bytes);
    const existing = this.byHash.get(hashHex);
    if (existing) return { ok: true, entry: existing, duplicate: true };
    let tx: T;
    try {
      tx = this.chain.decode(bytes);
    } catch (err) {
      const code = (err as { code?: string }).code ?? MempoolReasons.INVALID_TX;
      return this.reject(code.startsWith('CODEC') ? code : MempoolReasons.INVALID_TX, `undecodable tx: ${(err as Error).message}`, hash);
    }
    const info = this.chain.info(tx);
    if (info.chainId !== this.chain.chainId) return this.reject(MempoolReasons.WRONG_CHAIN, `tx is for chain ${info.chainId}`, hash);
    if (this.byHash.size >= this.limits.maxTxs || this.bytes + bytes.length > this.limits.maxBytes) {
      return this.reject(MempoolReasons.MEMPOOL_FULL, 'mempool is full', hash);
    }
    const signer = info.signerHex;
    const stateNonce = this.chain.stateNonce(signer);
    const pending = this.bySigner.get(signer);
    if (info.nonce < stateNonce) return this.reject(MempoolReasons.BAD_NONCE, `nonce ${info.nonce} already used (next ${stateNonce})`, hash);
    if (pending?.has(info.nonce)) return this.reject(MempoolReasons.BAD_NONCE, `another tx with nonce ${info.nonce} is pending`, hash);
    if (info.nonce >= stateNonce + (this.limits.nonceWindow ?? 1024)) {
      return this.reject(MempoolReasons.BAD_NONCE, `nonce ${info.nonce} too far ahead (next ${stateNonce})`, hash);
    }
    if (!this.verified.has(hashHex)) {
      if (!this.chain.verifySignature(tx, bytes)) return this.reject(MempoolReasons.BAD_SIGNATURE, 'signature does not verify', hash);
      this.markVerified(hashHex);
    }
    const code = this.chain.check(tx, bytes);
    if (code) return this.reject(code, `rejected by state check: ${code}`, hash);
    const entry: MempoolTx<T> = { bytes, hash, hashHex, signer, nonce: info.nonce, tx, admittedAt: this.now() };
    this.byHash.set(hashHex, entry);
    let m = pending;
    if (!m) { m = new Map(); this.bySigner.set(signer, m); }
    m.set(info.nonce, entry);
    this.bytes += bytes.length;
    this.onAdmit?.(entry, fromPeer);
    return { ok: true, entry, duplicate: false };
  }

  /** Txs for a proposal: per signer the contiguous nonce run from its state nonce, within caps. */
  reap(maxTxs: number, maxBytes: number): MempoolTx<T>[] {
    const out: MempoolTx<T>[] = [];
    let bytes = 0;
    for (const [signer, m] of this.bySigner) {
      let n = this.chain.stateNonce(signer);
      for (let e = m.get(n); e; e = m.get(++n)) {
        if (out.length >= maxTxs || bytes + e.bytes.length > maxBytes) return out;
        out.push(e);
        bytes += e.bytes.length;
      }
    }
    return out;
  }

  private remove(e: MempoolTx<T>): void {
    if (!this.byHash.delete(e.hashHex)) return;
    this.bytes -= e.bytes.length;
    const m = this.bySigner.get(e.signer);
    if (m) { m.delete(e.nonce); if (m.size === 0) this.bySigner.delete(e.signer); }
  }

  /**
   * After a block commits (state already updated): drop included txs, then re-check the
   * signers it touched — stale nonces go, and the new head tx of each is re-validated.
   */
  onCommitted(committedHashHex: Iterable<string>, touchedSigners: Iterable<string>): void {
    // A committed tx's cached verification goes: a late copy of a tx that executed fails on its
    // nonce before any verify (one that was rejected in its block is verified again: a cost only),
    // and the cache stays about the size of the pool instead of 200k long-lived strings.
    for (const h of committedHashHex) { const e = this.byHash.get(h); if (e) this.remove(e); this.verified.delete(h); }
    for (const signer of touchedSigners) {
      const m = this.bySigner.get(signer);
      if (!m) continue;
      const next = this.chain.stateNonce(signer);
      for (const e of [...m.values()]) {
        if (e.nonce < next) this.remove(e);
        else if (e.nonce === next && this.chain.check(e.tx, e.bytes) !== null) this.remove(e);
      }
    }
  }

  /** Full re-check (e.g. after sync jumped several blocks). */
  recheckAll(): void {
    for (const signer of [...this.bySigner.keys()]) this.onCommitted([], [signer]);
  }
}
