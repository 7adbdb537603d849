/**
 * Load shedding for submitted txs. A node that admits every valid tx it is offered builds a
 * backlog it cannot commit: past the chain's capacity, each accepted tx waits behind all the
 * earlier ones (measured: 4,000 tx/s offered to a chain that commits ~2,000 left 62,000 txs
 * pending and p99 commit latency at 35 s), and the signatures verified for that backlog take CPU
 * from consensus. The gate keeps what is pending (the pool, plus txs queued for admission and
 * gossip waiting to be admitted) at about `targetMs` of the committed rate, and refuses the rest
 * before any decoding or signature work, telling the client when to come back.
 *
 * The committed rate is measured over the last `RATE_WINDOW_MS` of blocks. A floor keeps a quiet
 * or starting chain open to bursts (its rate says nothing about its capacity yet); the pool's own
 * hard caps (`mempool.maxTxs`, `maxBytes`) still apply on top.
 *
 * Retry-After grows with the excess: refused clients come back, and if all of them came back in a
 * second a node offered twice what it commits would be asked for three times as much the next
 * second, and so on (measured with bench:chain at 200% of the ceiling: 34,000 refusals a second
 * for 1,500 commits, the refusals' requests and answers taking CPU from the validators). So the
 * wait is what spreads the refused txs of the last `REFUSED_WINDOW_MS` over seconds in which the
 * chain can commit them: refused per second / committed per second.
 */

/** Milliseconds of committed throughput the pending txs may amount to (default of mempool.backlogTargetMs). */
export const MEMPOOL_BACKLOG_TARGET_MS = 1_500;
/**
 * Txs that may always be pending, whatever the measured rate (default of mempool.backlogFloorTxs).
 * Measured with bench:chain's overload stages: 4,096 (one full API batch) let the pool fill with
 * txs waiting for refused lower nonces until nothing committed; 2,000 kept blocks full.
 */
export const MEMPOOL_BACKLOG_FLOOR_TXS = 2_000;
/** Milliseconds of committed blocks over which the rate is measured. */
export const RATE_WINDOW_MS = 10_000;
/** Longest Retry-After the gate suggests, seconds (a refusal is cheap: a client may come back sooner than the backlog drains). */
export const RETRY_AFTER_MAX_S = 5;

/** Retry-After for txs refused by another bound than the backlog (see refuse()), seconds: such a bound frees up in about a second. */
export const REFUSED_ELSEWHERE_RETRY_AFTER_S = 1;
/** Milliseconds over which refused txs are counted (the excess demand Retry-After spreads out). */
export const REFUSED_WINDOW_MS = 5_000;

export interface BacklogGateLimits {
  targetMs: number;
  floorTxs: number;
  /** The pool's hard cap (the bound never exceeds it). */
  maxTxs: number;
}

export interface GateRoom {
  /** Txs that may still be taken now (0: refuse). */
  room: number;
  /** Txs the gate lets be pending at the current rate. */
  bound: number;
  /** When a refused client should try again, seconds (at least 1). */
  retryAfterSeconds: number;
}

export class BacklogGate {
  /** Committed blocks in the window: [time ms, txs]. */
  private readonly blocks: [number, number][] = [];
  private windowTxs = 0;
  /** Txs refused in the refusal window: [time ms, txs]. */
  private readonly refusals: [number, number][] = [];
  private windowRefused = 0;
  /** Clock (ms) until which a client the gate refused may still be due back: its Retry-After. */
  private refusedUntil = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly limits: BacklogGateLimits,
    private readonly now: () => number,
  ) {}

  /** A block with `txs` transactions committed at this node's clock `now()`. */
  onCommitted(txs: number): void {
    const t = this.now();
    this.blocks.push([t, txs]);
    this.windowTxs += txs;
    this.trim(t);
  }

  private trim(t: number): void {
    while (this.blocks.length > 1 && this.blocks[0]![0] < t - RATE_WINDOW_MS) this.windowTxs -= this.blocks.shift()![1];
  }

  private noteRefused(t: number, txs: number): void {
    this.refusals.push([t, txs]);
    this.windowRefused += txs;
    while (this.refusals.length > 0 && this.refusals[0]![0] < t - REFUSED_WINDOW_MS)
      this.windowRefused -= this.refusals.shift()![1];
  }

  /**
   * Seconds over which the txs refused lately must come back for the chain to commit them at its
   * rate (0 while nothing was refused, or no rate is known: room() gives a stalled chain the
   * longest wait by its drain time).
   */
  private excessSeconds(rate: number): number {
    if (this.windowRefused === 0 || rate <= 0) return 0;
    return Math.ceil((this.windowRefused * 1000) / REFUSED_WINDOW_MS / rate);
  }

  private retryAfter(atLeastS: number, rate: number): number {
    return Math.min(RETRY_AFTER_MAX_S, Math.max(1, atLeastS, this.excessSeconds(rate)));
  }

  /** Committed txs per second over the window (0 until two blocks are known). */
  rate(): number {
    this.trim(this.now());
    if (this.blocks.length < 2) return 0;
    const first = this.blocks[0]!;
    // txs of the first block were committed before the span starts: they are not part of it
    const span = Math.max(this.now(), this.blocks[this.blocks.length - 1]![0]) - first[0];
    return span > 0 ? ((this.windowTxs - first[1]) * 1000) / span : 0;
  }

  /** Pending txs the gate allows at the current rate. */
  bound(): number {
    const byRate = Math.ceil((this.rate() * this.limits.targetMs) / 1000);
    return Math.min(this.limits.maxTxs, Math.max(this.limits.floorTxs, byRate));
  }

  /**
   * How many more txs may be taken with `pending` already pending (pool + queues). Less than
   * `wanted` (a batch's tail refused, or nothing): the gate is shedding until the Retry-After it
   * gives has passed (see shedding()).
   */
  room(pending: number, wanted = 1): GateRoom {
    const bound = this.bound();
    const room = Math.max(0, bound - pending);
    const rate = this.rate();
    if (room < wanted) this.noteRefused(this.now(), wanted - room);
    // the excess drains at the committed rate; a stalled chain (rate 0) gets the longest wait
    const drainS = rate > 0 ? Math.ceil((pending - bound + 1) / rate) : RETRY_AFTER_MAX_S;
    const retryAfterSeconds = this.retryAfter(drainS, rate);
    if (room < wanted) this.refusedUntil = Math.max(this.refusedUntil, this.now() + retryAfterSeconds * 1000);
    return { room, bound, retryAfterSeconds };
  }

  /**
   * `txs` were refused by another of the node's bounds (the API's admission queue waited too
   * long, the verify pool found no worker in time): shed as if the gate had refused them. Returns
   * their Retry-After, seconds.
   */
  refuse(txs: number): number {
    const t = this.now();
    this.noteRefused(t, txs);
    const retryAfterSeconds = this.retryAfter(REFUSED_ELSEWHERE_RETRY_AFTER_S, this.rate());
    this.refusedUntil = Math.max(this.refusedUntil, t + retryAfterSeconds * 1000);
    return retryAfterSeconds;
  }

  /**
   * While a client this gate refused may not be back yet (its Retry-After has not passed), the
   * seconds left until it is (at least 1); else null. A tx that cannot execute before a lower nonce
   * of its account would wait in the pool for such a client's retry (src/node/mempool/mempool.ts
   * refuses those meanwhile).
   */
  shedding(): number | null {
    const left = this.refusedUntil - this.now();
    return left > 0 ? Math.max(1, Math.ceil(left / 1000)) : null;
  }
}
