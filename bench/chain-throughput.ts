/**
 * Chain throughput benchmark (a figure, not a test): 4 validators as real processes on
 * loopback, a load generator with many funded accounts sending signed transfers open-loop
 * (binary POST /v1/txs/batch) at rising rates. Commit latency = SSE block event - submit time (the
 * last send of a resent tx); a stage's latencies are those of the txs it sent, and any not committed
 * 1.5 s after it count with the time they have waited by then.
 * Prints per-stage figures, this machine's ed25519 verify/s per core and ceiling_tps = verify/s per
 * core x cores / validators. Last line: one JSON object.
 * The ceiling is measured at the start and again around every stage, with the validators paused
 * (SIGSTOP) so that they take nothing from it: on a shared host the CPU's speed drifts by 10-20%
 * within one run, so each stage is set against the mean of the measurements just before and just
 * after it (its `ceiling`); `ceiling_tps` is the best stage's, `ceiling_tps_start` the first one.
 *   npm run bench:chain -- --seconds 40
 * Committed tx/s of a stage is its steady state: commits from 1 s into the stage to its end.
 * Stages offer 30, 40, 50, 55, 60 and 75% of the ceiling measured at the start (the host's speed decides
 * where saturation lies; the target is stated against that ceiling), unless --rates 1000,3000.
 * The chain runs the nodes' default mempool caps and 500 ms blocks unless told otherwise: a block
 * costs each node ~9 ms of CPU whatever it holds (votes, signatures, fsyncs, timers), ~9% of these
 * 2 cores at 200 ms blocks, while 500 ms blocks keep p99 commit latency well under 1.5 s.
 * A warm-up at the first stage's rate (--warmup-seconds N, default 8; 0 for none) runs first and is not counted.
 * Diagnostics: --block-interval-ms N; --mempool-max-txs N; --backlog-target-ms N; --backlog-floor-txs N;
 * BENCH_BLOCKS=1 (one line per block: proposer, round, and with BENCH_SLOW which node's API took its
 * txs); BENCH_SLOW=1 (per stage, what the txs that took over BENCH_SLOW_MS, default 5000, waited for, and how long their
 * node took to answer the request that accepted them); BENCH_MEMPOOL=1 (every node's pool, gossip
 * queue, shedding bound and height each second); BENCH_LOG_LEVEL=info (node logs, rounds and mempool per stage); CHAIN_NODE_FLAGS='--cpu-prof
 * --cpu-prof-dir=/tmp/prof' (profiles of the validator processes, see chain-net).
 */
import { availableParallelism } from 'node:os';
import { Agent, get, type ClientRequest } from 'node:http';
import { createHash } from 'node:crypto';
import {
  encodeTx,
  generateKeyPair,
  signTx,
  toHex,
  verifyEncodedTxSignature,
  decodeTx,
  type KeyPair,
} from '../src/chain/index.js';
import { postTxBatch, processCpuSeconds } from '../test/harness/batch-load.js';
import { ChainNet } from '../test/harness/chain-net.js';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const SECONDS = arg('seconds', 60);
const VALIDATORS = 4;
const ratesArg = process.argv.indexOf('--rates'); // e.g. --rates 3000,4000 (profiling one load level)
const CEILING_FRACTIONS = [0.3, 0.4, 0.5, 0.55, 0.6, 0.75];
/** Overload stages, run after the others whatever they gave: the chain must refuse the excess and keep committing. */
const OVERLOAD_FRACTIONS = [1, 1.5, 2];
/** The latency bound the throughput target is stated with (p99 commit latency). */
const P99_BOUND_MS = 1500;
const ACCOUNTS = 3000;
/** Refusals a client retries after Retry-After (load shedding), and how often per tx. */
const RETRYABLE = new Set(['MEMPOOL_BUSY', 'MEMPOOL_FULL', 'BUSY']);
const RETRIES_MAX = 20;
/** Txs per request (the node API's TXS_PER_BATCH_MAX). */
const BATCH_TXS_MAX = 4096;
interface Tx {
  bytes: Uint8Array;
  node: number;
  account: number;
  nonce: number;
  hash: string;
  tries: number;
}

function measureVerifyPerCore(): number {
  // (1 s on one core: verify is synchronous, the other core idles)
  const k = generateKeyPair();
  const tx = encodeTx(
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
  const d = decodeTx(tx);
  let n = 0;
  const end = performance.now() + 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 100; i++) verifyEncodedTxSignature(tx, d);
    n += 100;
  }
  return n;
}

// The load generator shares the 2 cores with the validators, so it uses node:http with keep-alive:
// fetch (undici) cost ~10% of a core at 3000 tx/s, CPU taken from the nodes being measured.
const agent = new Agent({ keepAlive: true, maxSockets: 16 });

/** Verify/s per core with the validator processes stopped (SIGSTOP), so they take nothing from it. */
async function measureWithNodesPaused(pids: (number | undefined)[]): Promise<number> {
  const live = pids.filter((p): p is number => p !== undefined);
  for (const p of live) process.kill(p, 'SIGSTOP');
  try {
    return measureVerifyPerCore();
  } finally {
    for (const p of live) process.kill(p, 'SIGCONT');
    await new Promise((r) => setTimeout(r, 1000)); // the chain resumes (timers that came due fire) before load starts
  }
}

const pct = (xs: number[], p: number): number => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

/** The node's mempool settings given on the command line, if any (diagnostics). */
function mempoolArgs(): {
  maxTxs?: number;
  maxBytes?: number;
  backlogTargetMs?: number;
  backlogFloorTxs?: number;
} | null {
  const maxTxs = arg('mempool-max-txs', 0);
  const targetMs = arg('backlog-target-ms', 0);
  const floorTxs = arg('backlog-floor-txs', 0);
  if (maxTxs <= 0 && targetMs <= 0 && floorTxs <= 0) return null;
  return {
    ...(maxTxs > 0 ? { maxTxs, maxBytes: 1024 ** 3 } : {}),
    ...(targetMs > 0 ? { backlogTargetMs: targetMs } : {}),
    ...(floorTxs > 0 ? { backlogFloorTxs: floorTxs } : {}),
  };
}

async function main(): Promise<void> {
  const verifyPerCore = measureVerifyPerCore();
  const cores = availableParallelism();
  const ceiling = Math.round((verifyPerCore * cores) / VALIDATORS);
  console.log(`ed25519 verify/s per core: ${verifyPerCore}, cores: ${cores}, ceiling_tps: ${ceiling}`);
  const RATES =
    ratesArg >= 0
      ? process.argv[ratesArg + 1]!.split(',').map(Number)
      : CEILING_FRACTIONS.map((f) => Math.round((f * ceiling) / 50) * 50);
  // --overload 0: no overload stages
  const OVERLOAD = arg('overload', 1) > 0 ? OVERLOAD_FRACTIONS.map((f) => Math.round((f * ceiling) / 50) * 50) : [];
  const STAGE_S = Math.max(3, Math.floor(SECONDS / (RATES.length + OVERLOAD.length)));
  // Fresh node processes run their per-tx code unoptimized for the first seconds (JIT): a warm-up at
  // the first stage's rate, reported but not counted, so that every counted stage meets warm nodes.
  const WARMUP_S = arg('warmup-seconds', 8);
  const STAGES = [...(WARMUP_S > 0 ? [RATES[0]!] : []), ...RATES, ...OVERLOAD];
  const firstOverload = STAGES.length - OVERLOAD.length;
  const durationOf = (s: number): number => (WARMUP_S > 0 && s === 0 ? WARMUP_S : STAGE_S);

  const accounts: KeyPair[] = Array.from({ length: ACCOUNTS }, () => generateKeyPair());
  const mempool = mempoolArgs();
  const net = new ChainNet({
    validators: VALIDATORS,
    params: { blockIntervalMs: arg('block-interval-ms', 500), maxBlockTxs: 10_000 },
    accounts: accounts.map((a) => ({ publicKey: a.publicKey, balances: [{ asset: 'USD', amount: 1_000_000_000n }] })),
    // the node's default mempool caps unless --mempool-max-txs N (a deeper pool only deepens the backlog under overload)
    // and its load-shedding bound unless --backlog-target-ms N / --backlog-floor-txs N
    ...(mempool !== null ? { mempool } : {}),
    consensus: { timeoutProposeMs: 2000 },
    ...(process.env.BENCH_LOG_LEVEL ? { logLevel: process.env.BENCH_LOG_LEVEL } : {}),
  });
  await net.init();
  /** Txs sent and not refused nor committed yet: their last send's time and stage, by hash. */
  const submitted = new Map<string, { t: number; stage: number; account: number; nonce: number }>();
  /** Nonces the client gave up on (refused for good, or retried RETRIES_MAX times), by account, with why. */
  const givenUp = new Map<number, { nonce: number; why: string }[]>();
  /** Commit latencies, each with the stage that sent the tx (a stage's figures are its own txs'). */
  const latencies: { at: number; ms: number; stage: number }[] = [];
  const commits: number[] = [];
  /** Arrival time of every block event (the gaps between them show stalls). */
  const blockTimes: number[] = [];
  /**
   * Refused txs to offer again, by the 50 ms tick they are due in: at 200% of the ceiling 100,000
   * txs can wait for their Retry-After, and scanning them all every tick took more of the load
   * generator's CPU than the sending (CPU taken from the validators on the same cores).
   */
  const retries = new Map<number, Tx[]>();
  const RETRY_TICK_MS = 50;
  const retryTick = (ms: number): number => Math.ceil(ms / RETRY_TICK_MS);
  /** Accounts with a refused tx waiting for its retry: their later nonces wait behind it, as a client's would. */
  const held = new Map<number, Tx[]>();
  let released: Tx[] = [];
  let sse = null as ClientRequest | null; // (assigned in a callback: no narrowing to null)
  // BENCH_SLOW=1: per stage, what the txs committed more than SLOW_MS (BENCH_SLOW_MS, default 5000) after their last send waited for
  const SLOW_MS = Number(process.env.BENCH_SLOW_MS ?? 5000);
  const slow = process.env.BENCH_SLOW
    ? {
        sent: new Map<string, Tx>(),
        /** Last send and commit time by account:nonce. */
        lastSend: new Map<string, number>(),
        committed: new Map<string, number>(),
        /** Milliseconds from a tx's last send to the answer that accepted it, by hash. */
        answeredMs: new Map<string, number>(),
        txs: [] as {
          tx: Tx;
          ms: number;
          answeredMs: number;
          lowerResentAfter: boolean;
          lowerCommittedBeforeMs: number | null;
        }[],
      }
    : null;
  try {
    await net.startAll();
    await net.waitHeight(net.nodes, 2);
    // SSE on node 0: every committed tx's latency from its submission.
    let lastBlockAt = performance.now();
    let buf = '';
    const onEvent = (ev: string): void => {
      const line = ev.split('\n').find((l) => l.startsWith('data: '));
      if (!line) return;
      const now = performance.now();
      const data = JSON.parse(line.slice(6)) as { txs: string[]; height: number };
      if (process.env.BENCH_BLOCKS) {
        // with BENCH_SLOW: whose API took the block's txs (a block of one node's txs: gossip did not spread them)
        const from = [0, 0, 0, 0];
        for (const h of data.txs) {
          const tx = slow?.sent.get(h);
          if (tx) from[tx.node]!++;
        }
        const line = `block ${data.height} txs ${data.txs.length} +${Math.round(now - lastBlockAt)} ms at ${new Date().toISOString()}${slow ? ` by origin ${from.join('/')}` : ''}`;
        // and which validator proposed it, in which round
        const base = `${net.nodes[0]!.api}/v1/blocks/${data.height}`;
        void Promise.all([
          fetch(`${base}/header`).then((r) => r.json() as Promise<{ header: { proposer: string } }>),
          fetch(`${base}/commit`).then((r) => r.json() as Promise<{ round: number }>),
        ])
          .then(([{ header }, commit]) => {
            const by = net.nodes.findIndex((n) => toHex(n.key.publicKey) === header.proposer);
            console.log(`${line} proposer ${by} round ${commit.round}`);
          })
          .catch(() => console.log(line));
      }
      lastBlockAt = now;
      blockTimes.push(now);
      for (const h of data.txs) {
        const sent = submitted.get(h);
        if (sent !== undefined) {
          const t = sent.t;
          const tx = slow?.sent.get(h);
          if (slow && tx) {
            const lower = `${tx.account}:${tx.nonce - 1}`;
            slow.committed.set(`${tx.account}:${tx.nonce}`, now);
            if (now - t > SLOW_MS) {
              const lc = slow.committed.get(lower);
              slow.txs.push({
                tx,
                ms: now - t,
                answeredMs: slow.answeredMs.get(h) ?? Number.NaN,
                lowerResentAfter: (slow.lastSend.get(lower) ?? 0) > t,
                lowerCommittedBeforeMs: lc === undefined ? null : Math.round(now - lc),
              });
            }
          }
          latencies.push({ at: now, ms: now - t, stage: sent.stage });
          commits.push(now);
          submitted.delete(h);
        }
      }
    };
    await new Promise<void>((resolve, reject) => {
      const req = get(`${net.nodes[0]!.api}/v1/events`, (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          let i: number;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            onEvent(buf.slice(0, i));
            buf = buf.slice(i + 2);
          }
        });
        res.on('error', () => undefined);
        resolve();
      });
      req.on('error', reject);
      sse = req;
    });

    let nonces = new Array<number>(ACCOUNTS).fill(0);
    let next = 0;
    const makeTx = (): { bytes: Uint8Array; node: number; account: number; nonce: number } => {
      const a = next++ % ACCOUNTS;
      const k = accounts[a]!;
      const to = accounts[(a + 1) % ACCOUNTS]!.publicKey;
      const bytes = encodeTx(
        signTx(
          {
            chainId: net.chainId,
            signer: k.publicKey,
            nonce: nonces[a]!++,
            body: { type: 'transfer', asset: 'USD', to, amount: 1n },
          },
          k.secretKey,
        ),
      );
      return { bytes, node: a % VALIDATORS, account: a, nonce: nonces[a]! - 1 };
    };
    // Pre-signed so that signing does not compete with the nodes during a stage. The overload stages
    // are signed once the others are over: a saturated stage skips the rest, whose nonces would
    // otherwise be missing below every overload tx of their accounts (nothing of them executable).
    const plan: { bytes: Uint8Array; node: number; account: number; nonce: number }[][] = STAGES.map(() => []);
    const hashes: string[][] = STAGES.map(() => []);
    /** The signing position after each stage's txs: [next, nonces]. */
    const signedTo: [number, number[]][] = [];
    const signStages = (from: number, to: number): void => {
      for (let s = from; s < to; s++) {
        plan[s] = Array.from({ length: STAGES[s]! * durationOf(s) }, makeTx);
        hashes[s] = plan[s]!.map((t) => createHash('sha256').update(t.bytes).digest('hex'));
        signedTo[s] = [next, [...nonces]];
      }
    };
    signStages(0, firstOverload);

    const pids = (): (number | undefined)[] => net.nodes.map((n) => n.proc?.pid);
    const stages: {
      rate: number;
      tps: number;
      p50: number;
      p95: number;
      p99: number;
      rejected: number;
      node_cpu_us_per_tx: number;
      ceiling: number;
      loadgen_cpu_pct: number;
      accepted_tps: number;
      max_block_gap_ms: number;
      overload: boolean;
    }[] = [];
    // BENCH_MEMPOOL=1: each node's pending / executable / gossip queue / shedding bound / height every second
    const poll = process.env.BENCH_MEMPOOL
      ? setInterval(() => {
          const names = [
            'consortia_mempool_size_txs',
            'consortia_mempool_executable_txs',
            'consortia_mempool_ingest_queue_txs',
            'consortia_mempool_admission_bound_txs',
            'consortia_chain_height',
          ];
          void Promise.all(
            net.nodes.map((n) => Promise.all(names.map((m) => net.metric(n, m).catch(() => Number.NaN)))),
          ).then((rows) =>
            console.log(`mempool (size/executable/ingest/bound/height): ${rows.map((r) => r.join('/')).join('  ')}`),
          );
        }, 1000)
      : null;
    let verifyBefore = await measureWithNodesPaused(pids());
    for (let s = 0; s < STAGES.length; s++) {
      const rate = STAGES[s]!;
      const overload = s >= firstOverload;
      if (s === firstOverload) {
        signStages(firstOverload, STAGES.length);
        // the block events that arrived while signing are taken now (each is timed on arrival), not in the stage
        await new Promise((r) => setTimeout(r, 1000));
      }
      const stage = plan[s]!;
      const warmup = WARMUP_S > 0 && s === 0;
      const stageS = durationOf(s);
      const start = performance.now();
      const cpuAtStart = processCpuSeconds(pids());
      const ownCpuAtStart = process.cpuUsage();
      const TICK = 50;
      let sent = 0;
      let rejected = 0;
      let accepted = 0;
      const refusedBy = new Map<string, number>();
      const count = (code: string): void => {
        refusedBy.set(code, (refusedBy.get(code) ?? 0) + 1);
      };
      const inflight: Promise<void>[] = [];
      while (sent < stage.length) {
        const due = Math.min(
          stage.length,
          Math.floor(((performance.now() - start) / 1000) * rate) + Math.floor((rate * TICK) / 1000),
        );
        const now = performance.now();
        const perNode: Tx[][] = [[], [], [], []];
        for (let i = sent; i < due; i++) {
          const t = { ...stage[i]!, hash: hashes[s]![i]!, tries: 0 };
          const wait = held.get(t.account);
          if (wait) wait.push(t);
          else perNode[t.node]!.push(t);
        }
        sent = Math.max(sent, due);
        for (const t of released) perNode[t.node]!.push(t);
        released = [];
        // refused txs come back after their Retry-After, as a client's would: the account's later
        // nonces wait for them (the load generator offers the stage's rate of new txs plus these)
        for (const [tick, txs] of retries) {
          if (tick > retryTick(now)) continue;
          for (const t of txs) perNode[t.node]!.push(t);
          retries.delete(tick);
        }
        // (retries can pile up: a node takes at most TXS_PER_BATCH_MAX txs a request)
        const batches: { txs: Tx[]; n: number }[] = [];
        perNode.forEach((all, n) => {
          for (let i = 0; i < all.length; i += BATCH_TXS_MAX) batches.push({ txs: all.slice(i, i + BATCH_TXS_MAX), n });
        });
        batches.forEach(({ txs, n }) => {
          if (txs.length === 0) return;
          for (const t of txs) {
            submitted.set(t.hash, { t: now, stage: s, account: t.account, nonce: t.nonce });
            slow?.sent.set(t.hash, t);
            slow?.lastSend.set(`${t.account}:${t.nonce}`, now);
          }
          const refuse = (k: number, retryAfterS: number | null, code: string): void => {
            const t = txs[k]!;
            rejected++;
            submitted.delete(t.hash);
            if (retryAfterS !== null && t.tries < RETRIES_MAX) {
              if (!held.has(t.account)) held.set(t.account, []);
              const tick = retryTick(performance.now() + retryAfterS * 1000);
              if (!retries.has(tick)) retries.set(tick, []);
              retries.get(tick)!.push({ ...t, tries: t.tries + 1 });
            } else {
              if (!givenUp.has(t.account)) givenUp.set(t.account, []);
              givenUp.get(t.account)!.push({ nonce: t.nonce, why: retryAfterS !== null ? 'RETRIES_MAX' : code });
              release(t.account);
            }
          };
          const release = (account: number): void => {
            const wait = held.get(account);
            if (!wait) return;
            held.delete(account);
            released.push(...wait);
          };
          inflight.push(
            postTxBatch(
              agent,
              `${net.nodes[n]!.api}/v1/txs/batch`,
              txs.map((t) => t.bytes),
            )
              .then((j) => {
                const busy = j.error && RETRYABLE.has(j.error.code) ? (j.retryAfterS ?? 1) : null;
                if (!j.results) {
                  for (let k = 0; k < txs.length; k++) count(j.error?.code ?? 'HTTP');
                  for (let k = 0; k < txs.length; k++) refuse(k, busy, j.error?.code ?? 'HTTP');
                } else
                  j.results.forEach((x, k) => {
                    if (x.status === 'accepted') {
                      accepted++;
                      slow?.answeredMs.set(txs[k]!.hash, performance.now() - now);
                      if (txs[k]!.tries > 0) release(txs[k]!.account); // the retried tx is in: its account goes on
                    } else {
                      count(x.error?.code ?? x.status);
                      const retryAfterS =
                        x.error && RETRYABLE.has(x.error.code) ? (x.error.retryAfterSeconds ?? 1) : null;
                      refuse(k, retryAfterS, x.error?.code ?? x.status);
                    }
                  });
              })
              .catch(() => {
                for (let k = 0; k < txs.length; k++) refuse(k, null, 'NETWORK');
              }),
          );
        });
        await new Promise((r) => setTimeout(r, TICK));
      }
      await Promise.all(inflight);
      const end = start + stageS * 1000;
      await new Promise((r) => setTimeout(r, Math.max(0, end - performance.now()) + 1500)); // drain window
      // the latencies of the txs this stage sent; those still pending count with what they have waited
      // so far (a lower bound: leaving them out would hide the slowest, committed after the window)
      const drained = performance.now();
      const lat = latencies.filter((l) => l.stage === s).map((l) => l.ms);
      // and why they still wait: behind a lower nonce of their account the client gave up on, or not
      const stuck = new Map<string, number>();
      for (const p of submitted.values()) {
        if (p.stage !== s) continue;
        lat.push(drained - p.t);
        const lower = givenUp.get(p.account)?.find((g) => g.nonce < p.nonce);
        const why = lower ? `behind given-up ${lower.why}` : 'other';
        stuck.set(why, (stuck.get(why) ?? 0) + 1);
      }
      // steady state: commits from 1 s into the stage (the pipeline has filled) to its end
      const committedInStage = commits.filter((t) => t >= start + 1000 && t <= end).length;
      const tps = Math.round(committedInStage / (stageS - 1));
      // longest time without a block from the stage's start to its end (a stall shows here)
      const inStage = blockTimes.filter((t) => t > start && t <= end);
      const before = blockTimes.filter((t) => t <= start).pop() ?? start;
      const marks = [before, ...inStage, end];
      let maxGap = 0;
      for (let i = 1; i < marks.length; i++) maxGap = Math.max(maxGap, marks[i]! - marks[i - 1]!);
      // validator CPU per committed tx (all 4 nodes): the efficiency figure behind tps
      const committedInWindow = commits.filter((t) => t >= start && t <= end + 1500).length;
      const cpuUsPerTx = Math.round((1e6 * (processCpuSeconds(pids()) - cpuAtStart)) / Math.max(1, committedInWindow));
      // the load generator (this process) shares the cores: its CPU is not the validators'
      const own = process.cpuUsage(ownCpuAtStart);
      const loadgenPct = Math.round((own.user + own.system) / 10 / (performance.now() - start));
      const verifyAfter = await measureWithNodesPaused(pids());
      const stageVerify = (verifyBefore + verifyAfter) / 2;
      verifyBefore = verifyAfter;
      const st = {
        rate,
        tps,
        p50: Math.round(pct(lat, 50)),
        p95: Math.round(pct(lat, 95)),
        p99: Math.round(pct(lat, 99)),
        rejected,
        node_cpu_us_per_tx: cpuUsPerTx,
        ceiling: Math.round((stageVerify * cores) / VALIDATORS),
        loadgen_cpu_pct: loadgenPct,
        accepted_tps: Math.round(accepted / stageS),
        max_block_gap_ms: Math.round(maxGap),
        overload,
      };
      if (!warmup) stages.push(st);
      console.log(
        `${warmup ? 'warm-up (not counted): ' : overload ? 'overload: ' : ''}offered ${rate} tx/s -> committed ${tps} tx/s, latency p50 ${st.p50} ms p95 ${st.p95} ms p99 ${st.p99} ms, rejected ${rejected}, pending ${submitted.size}${stuck.size ? ` (${[...stuck].map(([c, n]) => `${c} ${n}`).join(', ')})` : ''}, validator CPU ${cpuUsPerTx} µs/tx (4 nodes; verify alone ${Math.round((VALIDATORS * 1e6) / stageVerify)}), load generator ${loadgenPct}% of a core, ceiling ${st.ceiling} (${Math.round((100 * tps) / st.ceiling)}%), longest gap between blocks ${st.max_block_gap_ms} ms${refusedBy.size ? `, refusals ${[...refusedBy].map(([c, n]) => `${c} ${n}`).join(', ')}` : ''}`,
      );
      if (slow) {
        const xs = slow.txs.splice(0);
        // how long the node took to answer the request that accepted them (its admission), of those known
        const answered = xs.map((x) => x.answeredMs).filter(Number.isFinite);
        const by = (f: (x: (typeof xs)[number]) => string): string => {
          const m = new Map<string, number>();
          for (const x of xs) m.set(f(x), (m.get(f(x)) ?? 0) + 1);
          return [...m].map(([k, v]) => `${k}:${v}`).join(' ');
        };
        console.log(
          `  slow (> ${SLOW_MS} ms) ${xs.length}: lower nonce sent again after it ${xs.filter((x) => x.lowerResentAfter).length}; ` +
            `lower committed <= 1 s before it ${xs.filter((x) => x.lowerCommittedBeforeMs !== null && x.lowerCommittedBeforeMs <= 1000).length}; ` +
            `by node ${by((x) => String(x.tx.node))}; by tries ${by((x) => String(x.tx.tries))}; ` +
            `answered after (ms) p50 ${Math.round(pct(answered, 50))} max ${Math.round(Math.max(0, ...answered))}; ` +
            `ms p50 ${Math.round(
              pct(
                xs.map((x) => x.ms),
                50,
              ),
            )} max ${Math.round(
              pct(
                xs.map((x) => x.ms),
                100,
              ),
            )}`,
        );
      }
      if (process.env.BENCH_LOG_LEVEL) {
        for (const n of net.nodes) {
          const [rs, rc, mp] = await Promise.all(
            [
              'consortia_consensus_rounds_per_height_sum',
              'consortia_consensus_rounds_per_height_count',
              'consortia_mempool_size_txs',
            ].map((m) => net.metric(n, m).catch(() => NaN)),
          );
          console.log(`  node${n.index}: heights ${rc}, rounds ${rs}, mempool ${mp}`);
        }
      }
      // saturated: on to the overload stages, signed on from the txs sent so far
      if (!overload && tps < rate * 0.7 && s > (WARMUP_S > 0 ? 1 : 0) && s < firstOverload) {
        [next, nonces] = [signedTo[s]![0], [...signedTo[s]![1]]];
        s = firstOverload - 1;
      }
    }
    if (poll) clearInterval(poll);
    // Sustained = the best stage that kept up (committed >= 90% of offered) with p99 commit latency
    // under the bound: a stage that commits as much but lets latency run up is building a backlog,
    // not sustaining its rate. Else the best stage that kept up, else the best committed rate.
    const regular = stages.filter((x) => !x.overload);
    const kept = regular.filter((x) => x.tps >= x.rate * 0.9);
    const inBound = kept.filter((x) => x.p99 < P99_BOUND_MS);
    const best = (inBound.length ? inBound : kept.length ? kept : regular.length ? regular : stages).reduce((a, b) =>
      b.tps > a.tps ? b : a,
    );
    // The overload figures: the highest overload stage (200% of the ceiling), the gap over all of them.
    const over = stages.filter((x) => x.overload);
    const top = over.length ? over[over.length - 1]! : null;
    if (top) {
      console.log(
        `overload: ${top.tps} tx/s committed at ${top.rate} offered (${Math.round((100 * top.tps) / Math.max(1, best.tps))}% of sustained), p99 ${top.p99} ms for the accepted, longest gap between blocks ${Math.max(...over.map((x) => x.max_block_gap_ms))} ms`,
      );
    }
    console.log(
      `sustained: ${best.tps} tx/s at ${best.rate} offered, p99 ${best.p99} ms (${inBound.length ? `the best stage that kept up with p99 < ${P99_BOUND_MS} ms` : `no stage kept up with p99 < ${P99_BOUND_MS} ms`})`,
    );
    // Measured again after the run (nodes stopped below, load generator idle): on a shared host the
    // CPU speed can drift during a run; both figures show how much.
    await net.stop();
    const verifyPerCoreEnd = measureVerifyPerCore();
    console.log(
      JSON.stringify({
        tps: best.tps,
        p50_ms: best.p50,
        p95_ms: best.p95,
        p99_ms: best.p99,
        ceiling_tps: best.ceiling,
        pct_of_ceiling: Math.round((100 * best.tps) / best.ceiling),
        ceiling_tps_start: ceiling,
        pct_of_ceiling_start: Math.round((100 * best.tps) / ceiling),
        verify_per_core: verifyPerCore,
        verify_per_core_end: verifyPerCoreEnd,
        cores,
        validators: VALIDATORS,
        offered_tps: best.rate,
        p99_bound_ms: P99_BOUND_MS,
        p99_within_bound: best.p99 < P99_BOUND_MS,
        ...(top
          ? {
              overload_offered_tps: top.rate,
              overload_accepted_tps: top.accepted_tps,
              overload_tps: top.tps,
              overload_p99_ms: top.p99,
              overload_ratio: Math.round((100 * top.tps) / Math.max(1, best.tps)) / 100,
              max_block_gap_ms: Math.max(...over.map((x) => x.max_block_gap_ms)),
            }
          : {}),
        stages,
      }),
    );
  } finally {
    if (process.env.BENCH_LOG_LEVEL)
      for (const n of net.nodes) console.error(`--- node${n.index}\n${net.dumpLogs(n.index)}`);
    sse?.destroy();
    agent.destroy();
    await net.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
