/**
 * Validator CPU cost benchmark (a figure, not a test): ONE validator process (a 1-validator chain,
 * real process from dist/ via test/harness/chain-net.ts) under saturating load, once with
 * verifyWorkers=0 (every signature verified on the main thread) and once with the verify pool
 * (src/node/verify-pool). It measures that process's CPU seconds (utime+stime of every thread,
 * /proc/<pid>/stat) per committed tx over a steady window, and, in the same run, this host's
 * single-core Ed25519 verify rate (verifyEncodedTxSignature over distinct signers, per CPU second).
 *   validator_tps_per_core      = committed txs / validator CPU seconds
 *   validator_pct_of_verify_rate = 100 x validator_tps_per_core / verify rate (target >= 60: the
 *                                  validator spends at most ~2/3 more than the verify itself per tx)
 * Load: funded accounts, one signed transfer each per round (binary batch endpoint), a new round
 * whenever the validator's mempool holds less than BACKLOG_TXS, so it is never idle. Every round is
 * signed before the validators start (both modes run the same chain id and accounts, so the same
 * txs), so that on a 2-core host the load generator takes little CPU from the validator while
 * it is measured; a run that uses up its rounds says so.
 *   npm run bench:validator -- --seconds 20 --workers 1
 * Options: --seconds N (measured window per mode, default 20), --warmup-seconds N (default 5),
 * --workers N (pool size of the second mode; default the node's, cores - 1), --accounts N,
 * --rounds N (pre-signed rounds, default 120).
 * Last line: one JSON object.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import {
  decodeTx,
  encodeTx,
  generateKeyPair,
  signTx,
  verifyEncodedTxSignature,
  type KeyPair,
} from '../src/chain/index.js';
import { defaultVerifyWorkers } from '../src/node/index.js';
import { ChainNet } from '../test/harness/chain-net.js';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const SECONDS = arg('seconds', 20);
const WARMUP_SECONDS = arg('warmup-seconds', 5);
const POOL_WORKERS = arg('workers', defaultVerifyWorkers());
const ACCOUNTS = arg('accounts', 2000);
const ROUNDS = arg('rounds', 120);
/** Pending txs below which the load offers its next round: about a block's worth, under the node's shedding bound (src/node/mempool/backlog-gate.ts), so it is never idle and never refused. */
const BACKLOG_TXS = ACCOUNTS;
const BLOCK_INTERVAL_MS = 500;
/** Milliseconds between looks at the mempool while the backlog is full (each look is a request the validator serves). */
const BACKLOG_POLL_MS = 50;
/** Distinct signers of the verify-rate measurement (their key objects cached, as on a node). */
const VERIFY_SIGNERS = 1000;
const VERIFY_MEASURE_MS = 1500;

/** CPU seconds (user + system, all threads) of a process so far. */
function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
  const ticksPerSecond = 100; // USER_HZ on Linux
  return (Number(f[11]) + Number(f[12])) / ticksPerSecond; // utime, stime (fields 14, 15)
}

/** Verified txs per CPU second of this thread (the same function the node runs, over many signers). */
function measureVerifyRate(): number {
  const txs = Array.from({ length: VERIFY_SIGNERS }, () => {
    const k = generateKeyPair();
    const bytes = encodeTx(
      signTx(
        {
          chainId: 'bench',
          signer: k.publicKey,
          nonce: 0,
          body: { type: 'transfer', asset: 'USD', to: k.publicKey, amount: 1n },
        },
        k.secretKey,
      ),
    );
    return { bytes, tx: decodeTx(bytes) };
  });
  for (const t of txs) verifyEncodedTxSignature(t.bytes, t.tx); // warm: JIT and key cache
  const c0 = process.cpuUsage();
  const end = performance.now() + VERIFY_MEASURE_MS;
  let n = 0;
  while (performance.now() < end) {
    for (const t of txs) if (!verifyEncodedTxSignature(t.bytes, t.tx)) throw new Error('verify failed');
    n += txs.length;
  }
  const c = process.cpuUsage(c0);
  return n / ((c.user + c.system) / 1e6);
}

/** The batch endpoint's binary body: u32 big-endian length, then the tx, per tx. */
function lengthPrefixed(items: Uint8Array[]): Buffer {
  const out = Buffer.allocUnsafe(items.reduce((s, b) => s + 4 + b.length, 0));
  let o = 0;
  for (const b of items) {
    out.writeUInt32BE(b.length, o);
    out.set(b, o + 4);
    o += 4 + b.length;
  }
  return out;
}

/** Refusals that mean "later", not "never" (load shedding, a full pool). */
const RETRYABLE = new Set(['MEMPOOL_BUSY', 'MEMPOOL_FULL', 'BUSY']);

/** Every round of transfers, signed up front: round r holds nonce r of every account. */
class PresignedLoad {
  readonly accounts: KeyPair[] = Array.from({ length: ACCOUNTS }, () => generateKeyPair());
  readonly chainId = `bench-${Math.random().toString(36).slice(2, 8)}`;
  private readonly rounds: Uint8Array[][];
  next = 0;
  refused = 0;
  /** Txs the node refused for load (it sheds what it cannot commit soon), offered again first, at retryAt. */
  private retry: Uint8Array[] = [];
  private retryAt = 0;

  constructor() {
    const n = this.accounts.length;
    this.rounds = Array.from({ length: ROUNDS }, (_, r) =>
      this.accounts.map((from, k) =>
        encodeTx(
          signTx(
            {
              chainId: this.chainId,
              signer: from.publicKey,
              nonce: r,
              body: { type: 'transfer', asset: 'USD', to: this.accounts[(k + 1 + r) % n]!.publicKey, amount: 1n },
            },
            from.secretKey,
          ),
        ),
      ),
    );
  }

  get exhausted(): boolean {
    return this.next >= this.rounds.length && this.retry.length === 0;
  }

  reset(): void {
    this.next = 0;
    this.refused = 0;
    this.retry = [];
  }

  genesisAccounts() {
    return this.accounts.map((a) => ({ publicKey: a.publicKey, balances: [{ asset: 'USD', amount: 1_000_000_000n }] }));
  }

  /**
   * Posts the next round, or first what the node refused for load once its Retry-After has passed
   * (the refused accounts' later rounds would wait on the gap: never sent again, they stalled the
   * validator at its first shedding). Other refusals are counted only.
   */
  async offer(api: string): Promise<void> {
    if (this.retry.length > 0 && performance.now() < this.retryAt) {
      await new Promise((r) => setTimeout(r, this.retryAt - performance.now()));
      return;
    }
    const txs = this.retry.length > 0 ? this.retry : this.rounds[this.next++]!;
    this.retry = [];
    const r = await fetch(`${api}/v1/txs/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: lengthPrefixed(txs),
      signal: AbortSignal.timeout(30_000),
    });
    if (!r.ok) {
      this.refused += txs.length;
      if (r.status === 429 || r.status === 503) this.later(txs, Number(r.headers.get('retry-after')) || 1);
      return;
    }
    const res = (await r.json()) as {
      results: { status: string; error?: { code: string; retryAfterSeconds?: number } }[];
    };
    const again: Uint8Array[] = [];
    let afterS = 1;
    res.results.forEach((x, i) => {
      if (x.status === 'accepted') return;
      this.refused++;
      if (x.error && RETRYABLE.has(x.error.code)) {
        again.push(txs[i]!);
        afterS = Math.max(afterS, x.error.retryAfterSeconds ?? 1);
      }
    });
    if (again.length > 0) this.later(again, afterS);
  }

  private later(txs: Uint8Array[], afterS: number): void {
    this.retry = txs;
    this.retryAt = performance.now() + afterS * 1000;
  }
}

interface ModeResult {
  verifyWorkers: number;
  committed: number;
  cpuSeconds: number;
  wallSeconds: number;
  tps: number;
  validator_tps_per_core: number;
  refused: number;
  /** The pre-signed rounds ran out inside the window (the validator idled: raise --rounds). */
  ranOut: boolean;
}

async function runMode(verifyWorkers: number, load: PresignedLoad): Promise<ModeResult> {
  const net = new ChainNet({
    validators: 1,
    params: { blockIntervalMs: BLOCK_INTERVAL_MS },
    mempool: { maxTxs: 4 * BACKLOG_TXS },
    nodeConfig: () => ({ verifyWorkers }),
  });
  load.reset();
  net.chainId = load.chainId;
  net.opts.accounts = load.genesisAccounts();
  await net.init();
  try {
    await net.startAll();
    const node = net.nodes[0]!;
    await net.waitHeight([node], 1);
    const pid = node.proc!.pid!;
    let stop = false;
    const offer = (async () => {
      while (!stop && !load.exhausted) {
        const st = (await net.status(node)) as { mempool?: { txs: number } } | null;
        if (st?.mempool !== undefined && st.mempool.txs < BACKLOG_TXS)
          await load.offer(node.api).catch(() => undefined);
        else await new Promise((r) => setTimeout(r, BACKLOG_POLL_MS));
      }
    })();
    await new Promise((r) => setTimeout(r, WARMUP_SECONDS * 1000));
    const committed = (): Promise<number> => net.metric(node, 'consortia_chain_txs_committed_total');
    const tx0 = await committed();
    const cpu0 = processCpuSeconds(pid);
    const t0 = performance.now();
    const refused0 = load.refused;
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const tx1 = await committed();
    const cpu1 = processCpuSeconds(pid);
    const wallSeconds = (performance.now() - t0) / 1000;
    const ranOut = load.exhausted;
    stop = true;
    await offer;
    const n = tx1 - tx0;
    const cpuSeconds = cpu1 - cpu0;
    if (!(n > 0)) throw new Error(`no tx committed in the window (verifyWorkers=${verifyWorkers})`);
    return {
      verifyWorkers,
      committed: n,
      cpuSeconds: round(cpuSeconds, 2),
      wallSeconds: round(wallSeconds, 1),
      tps: Math.round(n / wallSeconds),
      validator_tps_per_core: Math.round(n / cpuSeconds),
      refused: load.refused - refused0,
      ranOut,
    };
  } finally {
    await net.stop();
  }
}

const round = (x: number, d: number): number => Math.round(x * 10 ** d) / 10 ** d;

async function main(): Promise<void> {
  const cores = availableParallelism();
  console.log(`validator cost: 1 validator, ${cores} cores, ${ACCOUNTS} accounts, ${SECONDS} s per mode`);
  const verifyBefore = measureVerifyRate();
  const t = performance.now();
  const load = new PresignedLoad();
  console.log(`signed ${ROUNDS} x ${ACCOUNTS} txs in ${Math.round(performance.now() - t)} ms`);
  const modes: ModeResult[] = [];
  for (const w of [0, POOL_WORKERS]) {
    const r = await runMode(w, load);
    modes.push(r);
    console.log(
      `verifyWorkers=${w}: ${r.committed} txs committed in ${r.wallSeconds} s (${r.tps} tx/s), ` +
        `${r.cpuSeconds} CPU s -> ${r.validator_tps_per_core} tx per CPU second; ${r.refused} refused` +
        (r.ranOut ? '; RAN OUT of pre-signed rounds (raise --rounds)' : ''),
    );
  }
  const verifyAfter = measureVerifyRate();
  // the host's speed drifts on a shared machine: the mean of a measurement before and after the modes
  const verifyRate = (verifyBefore + verifyAfter) / 2;
  console.log(
    `single-core verify rate: ${Math.round(verifyBefore)} / ${Math.round(verifyAfter)} per CPU second (before / after)`,
  );
  const pct = (r: ModeResult): number => round((100 * r.validator_tps_per_core) / verifyRate, 1);
  for (const r of modes) console.log(`verifyWorkers=${r.verifyWorkers}: validator_pct_of_verify_rate ${pct(r)}%`);
  const [inline, pooled] = modes as [ModeResult, ModeResult];
  console.log(
    JSON.stringify({
      bench: 'validator-cost',
      cores,
      verify_rate_per_core: Math.round(verifyRate),
      inline: { ...inline, validator_pct_of_verify_rate: pct(inline) },
      pool: { ...pooled, validator_pct_of_verify_rate: pct(pooled) },
      validator_tps_per_core: pooled.validator_tps_per_core,
      validator_pct_of_verify_rate: pct(pooled),
      target_pct: 60,
    }),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
