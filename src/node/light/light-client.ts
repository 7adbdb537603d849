import {
  LightCodes,
  StateKeys,
  checkStateValue,
  checkTxInclusion,
  decodeAccount,
  decodeAmount,
  decodeCommit,
  decodeHeader,
  decodeTx,
  fromHex,
  isConsortiaError,
  stateProofFromJSON,
  toHex,
  verifyEncodedTxSignature,
  verifyNextHeader,
  type BlockHeader,
  type LightTrust,
} from '../../chain/index.js';
import type { Logger } from '../../lib/logging.js';
import type { NodeMetrics } from '../metrics.js';
import { epochFromJSON, type EpochJSON } from '../store/index.js';
import { accountsOfTx } from '../engine/tx-accounts.js';
import type { LightStore } from './light-store.js';

/**
 * The light client: follows the header chain from full nodes over HTTP (`syncFrom`), verifying
 * every header's commit against the validator set it trusts (validator-set changes proven via
 * epoch records), then keeps the state and txs of followed accounts, each checked by a Merkle
 * proof against a verified header. Any answer that fails verification counts in
 * consortia_light_rejected_proofs_total and benches that source for a while; the next one is tried.
 *
 * Omitted txs: a proof shows that a tx is in a block, not that a list holds all of an account's
 * txs. But an account's nonce moves only by its own committed txs (a failed body uses its nonce
 * too), so once the txs are fetched past the height of its proven state, the txs it signed must
 * show every nonce below the proven one. If they do not, the sources that served the list hid
 * some: they are rejected, and the list is fetched again from the start. (Txs received from others
 * cannot be checked this way.)
 */
export type FetchJson = (url: string) => Promise<{ status: number; body: unknown }>;

export const httpFetchJson: FetchJson = async (url) => {
  const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: r.status, body: await r.json().catch(() => null) };
};

export interface LightClientOptions {
  store: LightStore;
  trust: LightTrust;
  sources: string[];
  follow: string[];
  logger: Logger;
  metrics?: NodeMetrics;
  fetchJson?: FetchJson;
  onHeader?: (h: BlockHeader, hash: Uint8Array) => void;
  benchMs?: number;
  /** Txs asked for per page of an account's list (default 500). */
  txPageSize?: number;
}

/** A source's answer failed verification (it lied, or is broken): never retried immediately. */
class Rejected extends Error {}

export interface VerifiedAccount {
  height: number;
  stateRoot: string;
  account: { publicKey: string; nonce: number } | null;
  balances: { asset: string; amount: string }[];
  proofs: unknown[];
}

export class LightClient {
  trust: LightTrust;
  rejected = 0;
  private readonly benched = new Map<string, number>();
  /** Per account, the sources that served its tx list since its sent txs last added up. */
  private readonly txSources = new Map<string, Set<string>>();
  private readonly fetchJson: FetchJson;

  constructor(private readonly o: LightClientOptions) {
    this.trust = o.trust;
    this.fetchJson = o.fetchJson ?? httpFetchJson;
  }

  /** Sources in configured (preference) order, minus those benched for a failed verification. */
  private sources(): string[] {
    const now = Date.now();
    return this.o.sources.filter((s) => (this.benched.get(s) ?? 0) <= now);
  }

  private reject(src: string, why: string): void {
    this.rejected++;
    this.o.metrics?.lightRejectedProofs.inc();
    this.benched.set(src, Date.now() + (this.o.benchMs ?? 10_000));
    this.o.logger.warn('light: rejected a full node answer', { source: src, why });
  }

  /** Runs `fn` against sources until one answers verifiably. */
  private async withSource<T>(fn: (src: string) => Promise<T>): Promise<T | undefined> {
    for (const src of this.sources()) {
      try {
        return await fn(src.replace(/\/$/, ''));
      } catch (err) {
        if (err instanceof Rejected) this.reject(src, err.message);
        else this.o.logger.debug('light: source unavailable', { source: src, err: (err as Error).message });
      }
    }
    return undefined;
  }

  private async get(url: string): Promise<unknown> {
    const r = await this.fetchJson(url);
    if (r.status !== 200) throw new Error(`HTTP ${r.status} from ${url}`);
    return r.body;
  }

  /** Verifies and stores the next batch of headers; returns how many were added. */
  async syncHeaders(count = 200): Promise<number> {
    const added = await this.withSource(async (src) => {
      const body = (await this.get(`${src}/v1/headers?from=${this.trust.height + 1}&count=${count}`)) as {
        headers?: { height: number; header: string; commit: string }[];
      };
      if (!body || !Array.isArray(body.headers)) throw new Rejected('malformed header list');
      let trust = this.trust;
      const items: { height: number; header: Uint8Array; commit: Uint8Array }[] = [];
      const verified: { header: BlockHeader; hash: Uint8Array }[] = [];
      try {
        for (const h of body.headers) {
          const headerBytes = fromHex(h.header);
          const commitBytes = fromHex(h.commit);
          const header = decodeHeader(headerBytes);
          const commit = decodeCommit(commitBytes);
          try {
            trust = verifyNextHeader(trust, header, commit);
          } catch (e) {
            if (!isConsortiaError(e) || e.code !== LightCodes.HEADER_VALSET_MISMATCH) throw e;
            // the set changed after the trusted header: fetch the change with its proof
            const ej = await this.get(`${src}/v1/epochs/${trust.height}`);
            trust = verifyNextHeader(trust, header, commit, epochFromJSON(ej as EpochJSON).change);
          }
          items.push({ height: header.height, header: headerBytes, commit: commitBytes });
          verified.push({ header, hash: trust.hash });
        }
      } catch (e) {
        if (items.length > 0) await this.commitHeaders(items, trust, verified); // keep the verified prefix
        throw new Rejected((e as Error).message);
      }
      if (items.length > 0) await this.commitHeaders(items, trust, verified);
      return items.length;
    });
    return added ?? 0;
  }

  private async commitHeaders(
    items: { height: number; header: Uint8Array; commit: Uint8Array }[],
    trust: LightTrust,
    verified: { header: BlockHeader; hash: Uint8Array }[],
  ): Promise<void> {
    // the trust point of the last item is the one stored (prefix on failure: recompute from items)
    const last = verified[verified.length - 1]!;
    const t: LightTrust =
      last.header.height === trust.height
        ? trust
        : { ...trust, height: last.header.height, hash: last.hash, stateRoot: last.header.stateRoot };
    await this.o.store.putHeaders(items, t);
    this.trust = t;
    this.o.metrics?.lightVerifiedHeaders.inc(items.length);
    for (const v of verified) this.o.onHeader?.(v.header, v.hash);
  }

  /** A verified header at `height`, or undefined if not (yet) verified. */
  async header(height: number): Promise<BlockHeader | undefined> {
    if (height > this.trust.height) return undefined;
    const b = await this.o.store.header(height);
    return b ? decodeHeader(b) : undefined;
  }

  /** Fetches a followed account's state and keeps it only if every value is proven against a verified header. */
  async syncAccount(acct: string): Promise<VerifiedAccount | undefined> {
    return this.withSource(async (src) => {
      const r = await this.fetchJson(`${src}/v1/accounts/${acct}`);
      if (r.status === 404) return undefined;
      if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
      const v = await this.verifyAccount(acct, r.body);
      if (v) await this.o.store.putAccount(acct, v);
      return v;
    });
  }

  /** Throws Rejected on a bad proof; returns undefined when its height is not verified yet. */
  async verifyAccount(acct: string, body: unknown): Promise<VerifiedAccount | undefined> {
    const b = body as {
      height?: number;
      stateRoot?: string;
      proof?: { key: string; value: string | null; proof: unknown }[];
    };
    if (!b || !Number.isSafeInteger(b.height) || !Array.isArray(b.proof))
      throw new Rejected('malformed account answer');
    const header = await this.header(b.height!);
    if (!header) return undefined;
    if (b.stateRoot !== toHex(header.stateRoot))
      throw new Rejected(`state root at ${b.height} differs from the verified header`);
    const pk = fromHex(acct, 32);
    const acctKey = StateKeys.account(pk);
    const balPrefix = StateKeys.balancePrefix(pk);
    let account: VerifiedAccount['account'] = null;
    const balances: VerifiedAccount['balances'] = [];
    try {
      for (const p of b.proof) {
        if (p.key !== acctKey && !p.key.startsWith(balPrefix)) throw new Error(`unexpected key ${p.key}`);
        const value = p.value === null ? undefined : fromHex(p.value);
        checkStateValue(header, p.key, value, stateProofFromJSON(p.proof));
        // values come from the proven bytes only, never from the answer's convenience fields
        if (p.key === acctKey) account = value ? { publicKey: acct, nonce: decodeAccount(value).nonce } : null;
        else if (value) balances.push({ asset: p.key.slice(balPrefix.length), amount: decodeAmount(value).toString() });
      }
    } catch (e) {
      throw new Rejected((e as Error).message);
    }
    if (!b.proof.some((p) => p.key === acctKey)) throw new Rejected('account proof missing');
    return {
      height: b.height!,
      stateRoot: b.stateRoot!,
      account,
      balances: balances.sort((x, y) => (x.asset < y.asset ? -1 : 1)),
      proofs: b.proof,
    };
  }

  /**
   * Fetches txs touching a followed account up to the verified height; each must be included in
   * its header. Then checks that none it sent were left out (see the class comment).
   */
  async syncAccountTxs(acct: string): Promise<number> {
    const cursor = await this.o.store.txCursor(acct);
    if (cursor.height > this.trust.height) return 0;
    let sent = await this.o.store.sentNext(acct);
    const page = this.o.txPageSize ?? 500;
    const n = await this.withSource(async (src) => {
      const body = (await this.get(
        `${src}/v1/accounts/${acct}/txs?fromHeight=${cursor.height}&fromIndex=${cursor.index}&limit=${page}`,
      )) as {
        lowestHeight?: number;
        txs?: {
          hash: string;
          height: number;
          index: number;
          code: string;
          tx: string;
          proof: { leafIndex: number; treeSize: number; path: string[] };
        }[];
      };
      if (!body || !Array.isArray(body.txs)) throw new Rejected('malformed tx list');
      // an ordinary node that pruned those heights cannot serve them: not a lie, ask the next source
      if (typeof body.lowestHeight === 'number' && body.lowestHeight > cursor.height)
        throw new Error(`source keeps txs from height ${body.lowestHeight} only`);
      const keep: { height: number; index: number; json: unknown }[] = [];
      let next = sent;
      try {
        // chain order, whatever the answer's: nonces are counted in the order the chain executed them
        const list = [...body.txs].sort((a, b) => a.height - b.height || a.index - b.index);
        for (const t of list) {
          if (!Number.isSafeInteger(t.height) || !Number.isSafeInteger(t.index) || t.index !== t.proof?.leafIndex)
            throw new Error('malformed tx position');
          // at or after the cursor only: a page that starts earlier would count a nonce twice
          if (t.height < cursor.height || (t.height === cursor.height && t.index < cursor.index))
            throw new Error('tx before the requested position');
          const header = await this.header(t.height);
          if (!header) break; // beyond what we verified: next round
          const tx = fromHex(t.tx);
          checkTxInclusion(header, tx, {
            index: t.proof.leafIndex,
            total: t.proof.treeSize,
            path: t.proof.path.map((p) => fromHex(p, 32)),
          });
          if (!accountsOfTx(tx).includes(acct)) throw new Error('tx does not touch the account');
          keep.push({ height: t.height, index: t.index, json: t });
          // a tx it signed, with the next nonce: the chain used that nonce here (a second tx with a
          // nonce already seen, or a forged signature a faulty proposer included, counts for nothing)
          const d = decodeTx(tx);
          if (d.nonce === next && toHex(d.signer) === acct && verifyEncodedTxSignature(tx, d)) next++;
        }
      } catch (e) {
        throw new Rejected((e as Error).message);
      }
      // a full page goes on after its last tx (maybe inside the same block); else all is fetched to the verified height
      const last = keep[keep.length - 1];
      const full = body.txs.length >= page && last !== undefined && keep.length === body.txs.length;
      let sources = this.txSources.get(acct);
      if (!sources) this.txSources.set(acct, (sources = new Set()));
      sources.add(src);
      await this.o.store.putTxs(
        acct,
        keep,
        full ? { height: last.height, index: last.index + 1 } : { height: this.trust.height + 1, index: 0 },
        next,
      );
      sent = next;
      return keep.length;
    });
    await this.checkSentTxs(acct);
    return n ?? 0;
  }

  /**
   * Once the account's txs are fetched past the height of its proven state, the nonces its own
   * txs show must reach the proven nonce. False (and the tx list starts over) when txs were hidden.
   */
  async checkSentTxs(acct: string): Promise<boolean> {
    const v = (await this.o.store.account(acct)) as VerifiedAccount | undefined;
    if (!v?.account) return true; // no proven account yet: nothing to count against
    if (v.height >= (await this.o.store.txCursor(acct)).height) return true; // txs not fetched that far yet
    const sent = await this.o.store.sentNext(acct);
    const sources = this.txSources.get(acct) ?? new Set<string>();
    this.txSources.delete(acct);
    if (sent >= v.account.nonce) return true;
    const why = `txs of ${acct} were left out: its txs show ${sent} nonce(s), its state at height ${v.height} has nonce ${v.account.nonce}`;
    if (sources.size === 0) {
      // served before a restart: the liar is unknown, the omission still counts
      this.rejected++;
      this.o.metrics?.lightRejectedProofs.inc();
      this.o.logger.warn('light: rejected a full node answer', { why });
    }
    for (const s of sources) this.reject(s, why);
    await this.o.store.restartTxSync(acct);
    return false;
  }
}
