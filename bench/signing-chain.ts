/**
 * The --chain stage of bench/signing.ts: chain throughput when validators sign through PKCS#11.
 * Runs a 4-validator network of real processes (test/harness/chain-net.ts) with one key backend,
 * offers it a fixed open-loop rate of pre-signed transfers (binary POST /v1/txs/batch, spread over
 * the 4 nodes; refused ones offered again after Retry-After) and measures committed tx/s and commit
 * latency (SSE block event on node 0 minus the tx's first offer), much as bench/chain-throughput.ts
 * does, at one rate instead of a ladder.
 * The pkcs11 network keeps every validator's key in its own SoftHSM2 token, set up as
 * test/e2e/key-custody.test.ts does (`main.js keygen` inside the token, `key` config, PIN by env).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, type ClientRequest, get } from 'node:http';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { encodeTx, fromHex, generateKeyPair, type KeyPair, signTx, toHex, txHash } from '../src/chain/index.js';
import { postTxBatch, processCpuSeconds } from '../test/harness/batch-load.js';
import { ChainNet, MAIN, type NetOptions } from '../test/harness/chain-net.js';

/** Debian's softhsm2 package puts the module here (.ci/tools/softhsm.sh installs it). */
export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';
const VALIDATORS = 4;
/** 500 ms blocks and 10,000 txs a block, as bench/chain-throughput.ts runs the chain. */
const BLOCK_INTERVAL_MS = 500;
const MAX_BLOCK_TXS = 10_000;
/** bench/chain-throughput.ts's propose timeout: a proposer busy with a full block is not skipped. */
const TIMEOUT_PROPOSE_MS = 2000;
/**
 * Funded senders, round-robin: at 1500 tx/s each sends one tx every 2 s, long after the answer to
 * its previous one, so a refusal is known before the account's next nonce goes out.
 */
const ACCOUNTS = 3000;
/** Offered at the measured rate first and not counted: fresh node processes run unoptimized code (JIT). */
const WARMUP_S = 5;
/** The load generator sends every node its due txs this often. */
const TICK_MS = 50;
/**
 * After the measured window, its txs are still retried and their commits awaited this long (p99
 * counts them); then the run ends whatever still waits (uncommitted), so an overloaded chain does
 * not stretch it by up to RETRIES_MAX x Retry-After.
 */
const DRAIN_MS = 3000;
/** The token PIN of every validator (a throwaway SoftHSM2 token). */
const PIN = '246810';
const PIN_ENV = 'NODE_HSM_PIN';
/** Txs per request at most (the node API's TXS_PER_BATCH_MAX, src/node/rpc/limits.ts). */
const BATCH_TXS_MAX = 4096;
/**
 * Load shedding: a tx refused with one of these is offered again after Retry-After (1 s if none),
 * up to RETRIES_MAX times, its account's later nonces held back meanwhile, as a client would and
 * as bench/chain-throughput.ts does. The offered rate of new txs stays fixed under overload.
 */
const RETRYABLE = new Set(['MEMPOOL_BUSY', 'MEMPOOL_FULL', 'BUSY']);
const RETRY_AFTER_DEFAULT_S = 1;
const RETRIES_MAX = 20;

export type ChainBackend = 'file' | 'pkcs11';

export interface ChainFigures {
  /** Committed tx/s over the measured window (txs submitted before it included). */
  tps: number;
  p50_ms: number;
  p99_ms: number;
  /** Refusals of txs first offered in the window (a retried tx counts each time), txs given up after them. */
  rejected: number;
  dropped: number;
  /** Txs first offered in the window and not committed by the end of the drain (dropped ones included): p50/p99 leave them out. */
  uncommitted: number;
  blocks_per_s: number;
  /** CPU (user + system, all threads) of the 4 validator processes over the window per committed tx; NaN off Linux. */
  node_cpu_us_per_tx: number;
  /** 1-minute load average of the host when the network started (it is shared: other jobs run). */
  load_1m: number;
}

interface Planned {
  bytes: Uint8Array;
  hash: string;
  node: number;
  account: number;
  /** When it was first offered (commit latency counts from here, retries included); sends so far. */
  firstAt: number;
  tries: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const pct = (sorted: number[], p: number): number =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

/** The PKCS#11 key reference of validator i, in its own token (test/e2e/key-custody.test.ts). */
const keyConfig = (i: number) => ({
  backend: 'pkcs11',
  module: SOFTHSM_MODULE,
  tokenLabel: `validator-${i}`,
  keyLabel: 'consensus',
  pinEnv: PIN_ENV,
});

/** ChainNet options that put every validator's key in a fresh SoftHSM2 token of its data dir. */
function pkcs11Options(): Pick<NetOptions, 'externalKey' | 'nodeConfig' | 'nodeEnv'> {
  const confs = new Map<number, string>();
  return {
    externalKey: (i, chainId, dataDir) => {
      const dir = join(dataDir, 'softhsm');
      mkdirSync(join(dir, 'tokens'), { recursive: true });
      const conf = join(dir, 'softhsm2.conf');
      writeFileSync(
        conf,
        `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`,
      );
      execFileSync(
        'softhsm2-util',
        ['--init-token', '--free', '--label', `validator-${i}`, '--pin', PIN, '--so-pin', `${PIN}0`],
        { env: { ...process.env, SOFTHSM2_CONF: conf }, stdio: 'pipe' },
      );
      confs.set(i, conf);
      const k = keyConfig(i);
      // The key is made inside the token by the node's own keygen mode; only its public key and
      // proof of possession come out.
      const out = execFileSync(
        process.execPath,
        [MAIN, 'keygen', '--key-file', join(dataDir, 'unused-key-file.json'), '--chain-id', chainId],
        {
          env: {
            ...process.env,
            SOFTHSM2_CONF: conf,
            [PIN_ENV]: PIN,
            CONSORTIA_NODE_KEY_BACKEND: k.backend,
            CONSORTIA_NODE_KEY_MODULE: k.module,
            CONSORTIA_NODE_KEY_TOKEN_LABEL: k.tokenLabel,
            CONSORTIA_NODE_KEY_KEY_LABEL: k.keyLabel,
            CONSORTIA_NODE_KEY_PIN_ENV: k.pinEnv,
          },
          encoding: 'utf8',
        },
      );
      const j = JSON.parse(out.trim().split('\n').pop()!) as { publicKey: string; proofOfPossession: string };
      return { publicKey: fromHex(j.publicKey, 32), proofOfPossession: fromHex(j.proofOfPossession, 64) };
    },
    nodeConfig: (n) => ({ key: keyConfig(n.index) }),
    nodeEnv: (n) => ({ SOFTHSM2_CONF: confs.get(n.index)!, [PIN_ENV]: PIN }),
  };
}

/** The funded senders; the same keys serve both networks (each signs for its own chain id). */
export function loadAccounts(): KeyPair[] {
  return Array.from({ length: ACCOUNTS }, () => generateKeyPair());
}

/** One network with `backend` keys under `rate` tx/s for WARMUP_S + `seconds`; stopped before returning. */
export async function runChain(
  backend: ChainBackend,
  accounts: KeyPair[],
  rate: number,
  seconds: number,
): Promise<ChainFigures> {
  const net = new ChainNet({
    validators: VALIDATORS,
    params: { blockIntervalMs: BLOCK_INTERVAL_MS, maxBlockTxs: MAX_BLOCK_TXS },
    accounts: accounts.map((a) => ({ publicKey: a.publicKey, balances: [{ asset: 'USD', amount: 1_000_000_000n }] })),
    consensus: { timeoutProposeMs: TIMEOUT_PROPOSE_MS },
    ...(backend === 'pkcs11' ? pkcs11Options() : {}),
  });
  // Pre-signed before the nodes start, so that signing load does not compete with them.
  const nonces = new Array<number>(accounts.length).fill(0);
  const plan: Planned[] = Array.from({ length: Math.round(rate * (WARMUP_S + seconds)) }, (_, i) => {
    const a = i % accounts.length;
    const bytes = encodeTx(
      signTx(
        {
          chainId: net.chainId,
          signer: accounts[a]!.publicKey,
          nonce: nonces[a]!++,
          body: { type: 'transfer', asset: 'USD', to: accounts[(a + 1) % accounts.length]!.publicKey, amount: 1n },
        },
        accounts[a]!.secretKey,
      ),
    );
    // an account always goes to the same node, so that its nonces arrive in order
    return { bytes, hash: toHex(txHash(bytes)), node: a % VALIDATORS, account: a, firstAt: 0, tries: 0 };
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  let sse = null as ClientRequest | null; // (assigned in a callback: no narrowing to null)
  const load1m = Math.round(loadavg()[0]! * 100) / 100;
  try {
    await net.init();
    await net.startAll();
    await net.waitHeight(net.nodes, 2);

    /** Accepted (or in flight) and not yet seen committed. */
    const submitted = new Map<string, Planned>();
    const latencies: number[] = [];
    // (set when the load starts; no block event counts a latency before)
    let start = Number.POSITIVE_INFINITY;
    let windowStart = Number.POSITIVE_INFINITY;
    const commits: number[] = [];
    const blocks: number[] = [];
    let buf = '';
    const onEvent = (ev: string): void => {
      const line = ev.split('\n').find((l) => l.startsWith('data: '));
      if (!line) return;
      const now = performance.now();
      blocks.push(now);
      for (const h of (JSON.parse(line.slice(6)) as { txs: string[] }).txs) {
        const t = submitted.get(h);
        if (t === undefined) continue;
        submitted.delete(h);
        commits.push(now);
        if (t.firstAt >= windowStart) latencies.push(now - t.firstAt);
      }
    };
    await new Promise<void>((resolve, reject) => {
      const req = get(`${net.nodes[0]!.api}/v1/events`, (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
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

    start = performance.now();
    windowStart = start + WARMUP_S * 1000;
    const windowEnd = windowStart + seconds * 1000;
    /** Refused txs to offer again, in time order. */
    let retries: { at: number; tx: Planned }[] = [];
    /** Accounts with a refused tx waiting for its retry: their later txs wait behind it. */
    const held = new Map<number, Planned[]>();
    let released: Planned[] = [];
    const release = (account: number): void => {
      const wait = held.get(account);
      if (wait === undefined) return;
      held.delete(account);
      released.push(...wait);
    };
    let rejected = 0;
    let dropped = 0;
    let sent = 0;
    const pids = net.nodes.map((n) => n.proc?.pid);
    let cpuAtWindowStart = Number.NaN;
    let cpuAtWindowEnd = Number.NaN;
    // sampled by timers rather than in the send loop, which ends a tick before the window does
    setTimeout(() => {
      cpuAtWindowStart = processCpuSeconds(pids);
    }, windowStart - start);
    setTimeout(() => {
      cpuAtWindowEnd = processCpuSeconds(pids);
    }, windowEnd - start);
    let answersDue = 0;
    // until every planned tx is out and answered and no refused one waits, or the drain is over
    const runEnd = windowEnd + DRAIN_MS;
    while (
      (sent < plan.length || retries.length > 0 || released.length > 0 || answersDue > 0) &&
      performance.now() < runEnd
    ) {
      const now = performance.now();
      const due = Math.min(
        plan.length,
        Math.floor(((now - start) / 1000) * rate) + Math.floor((rate * TICK_MS) / 1000),
      );
      const perNode: Planned[][] = Array.from({ length: VALIDATORS }, () => []);
      for (; sent < due; sent++) {
        const t = plan[sent]!;
        t.firstAt = now;
        const wait = held.get(t.account);
        if (wait) wait.push(t);
        else perNode[t.node]!.push(t);
      }
      for (const t of released) perNode[t.node]!.push(t);
      released = [];
      for (const r of retries) if (r.at <= now) perNode[r.tx.node]!.push(r.tx);
      retries = retries.filter((r) => r.at > now);
      perNode.forEach((all, n) => {
        for (let i = 0; i < all.length; i += BATCH_TXS_MAX) {
          const txs = all.slice(i, i + BATCH_TXS_MAX);
          for (const t of txs) submitted.set(t.hash, t);
          const refuse = (t: Planned, retryAfterS: number | null): void => {
            submitted.delete(t.hash);
            if (t.firstAt >= windowStart) rejected++;
            if (retryAfterS !== null && t.tries < RETRIES_MAX) {
              if (!held.has(t.account)) held.set(t.account, []);
              t.tries++;
              retries.push({ at: performance.now() + retryAfterS * 1000, tx: t });
            } else {
              dropped += t.firstAt >= windowStart ? 1 : 0;
              release(t.account);
            }
          };
          answersDue++;
          void postTxBatch(
            agent,
            `${net.nodes[n]!.api}/v1/txs/batch`,
            txs.map((t) => t.bytes),
          )
            .then((j) => {
              txs.forEach((t, k) => {
                const r = j.results?.[k];
                if (r?.status === 'accepted') {
                  if (t.tries > 0) release(t.account); // the retried tx is in: its account goes on
                  return;
                }
                const code = r?.error?.code ?? j.error?.code ?? '';
                refuse(t, RETRYABLE.has(code) ? (j.retryAfterS ?? RETRY_AFTER_DEFAULT_S) : null);
              });
            })
            .catch(() => {
              for (const t of txs) refuse(t, null);
            })
            .finally(() => {
              answersDue--;
            });
        }
      });
      await sleep(TICK_MS);
    }
    await sleep(Math.max(0, runEnd - performance.now()));
    latencies.sort((a, b) => a - b);
    const inWindow = (t: number): boolean => t >= windowStart && t <= windowEnd;
    const committed = commits.filter(inWindow).length;
    return {
      tps: Math.round(committed / seconds),
      p50_ms: Math.round(pct(latencies, 50)),
      p99_ms: Math.round(pct(latencies, 99)),
      rejected,
      dropped,
      // (every latency is a committed tx first offered in the window)
      uncommitted: plan.filter((t) => t.firstAt >= windowStart).length - latencies.length,
      blocks_per_s: Math.round((blocks.filter(inWindow).length / seconds) * 100) / 100,
      node_cpu_us_per_tx: Math.round((1e6 * (cpuAtWindowEnd - cpuAtWindowStart)) / Math.max(1, committed)),
      load_1m: load1m,
    };
  } catch (err) {
    for (const n of net.nodes) console.error(`--- node${n.index} (${backend})\n${net.dumpLogs(n.index)}`);
    throw err;
  } finally {
    sse?.destroy();
    agent.destroy();
    await net.stop();
  }
}
