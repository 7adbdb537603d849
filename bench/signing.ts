/**
 * Signing latency per key custody backend (a figure, not a test): one Ed25519 signature of a
 * consensus-vote-sized message at a time, as a validator signs, through
 *   file   — the node's in-memory key (src/chain/keys.ts sign, node:crypto),
 *   pkcs11 — a key generated inside a fresh SoftHSM2 token (src/lib/custody/pkcs11.ts, CKM_EDDSA).
 * Each signature is verified once outside the timed loop. Needs SoftHSM2 (.ci/tools/softhsm.sh).
 *   npm run bench:signing -- --count 2000
 * Last line: one JSON object { backends: { file: {...}, pkcs11: {...} } } with microseconds.
 *
 * --chain (needs dist/, `npm run build`) then measures what that does to chain throughput
 * (bench/signing-chain.ts): a 4-validator network of real processes (test/harness/chain-net.ts,
 * 500 ms blocks as bench/chain-throughput.ts) is started twice, one after the other, first with
 * file keys, then with every validator's key in its own SoftHSM2 token (as
 * test/e2e/key-custody.test.ts sets it up). Each is offered the same open-loop load of pre-signed
 * transfers, --chain-rate tx/s (default 1500) for a warm-up and then --chain-seconds (default 20),
 * refused ones offered again after Retry-After, and gives committed tx/s and p50/p99 commit latency
 * (from a tx's first offer); then the ratio pkcs11/file of committed tx/s.
 *   npm run bench:signing -- --count 500 --chain --chain-rate 1500 --chain-seconds 20
 * The JSON line then also has chain: { offered_tps, seconds, file: { tps, p50_ms, p99_ms, ... },
 * pkcs11: {...}, tps_ratio }; each backend's sign_mean_us is the mean above (this process, not the
 * nodes'), its load_1m the host's load average when its network started: the host is shared and
 * the two networks run one after the other, so compare the ratio with that in mind.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tags, domainMessage, generateKeyPair, sign, verify } from '../src/chain/index.js';
import { generatePkcs11Key } from '../src/lib/index.js';
import { type ChainFigures, loadAccounts, runChain, SOFTHSM_MODULE } from './signing-chain.js';

/** Signatures per backend unless --count N. */
const DEFAULT_COUNT = 2000;
/** --chain: the offered load (tx/s), the same for both networks, unless --chain-rate N. */
const DEFAULT_CHAIN_RATE_TPS = 1500;
/** --chain: measured seconds per network (after its warm-up) unless --chain-seconds N. */
const DEFAULT_CHAIN_SECONDS = 20;
/** Untimed signatures first, so one-off costs (key object caches, token session) are not counted. */
const WARMUP_COUNT = 50;
/** A prevote's signed bytes are ~120; this stands in for one. */
const MESSAGE_BYTES = 120;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

interface Figures {
  count: number;
  mean_us: number;
  p50_us: number;
  p99_us: number;
  signs_per_s: number;
}

function measure(count: number, signOnce: (m: Uint8Array) => Uint8Array, publicKey: Uint8Array): Figures {
  const msg = domainMessage(Tags.VOTE, new Uint8Array(MESSAGE_BYTES).fill(7));
  if (!verify(publicKey, msg, signOnce(msg))) throw new Error('the backend signature does not verify');
  for (let i = 0; i < WARMUP_COUNT; i++) signOnce(msg);
  const us: number[] = [];
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    msg[msg.length - 1] = i & 0xff;
    const s = process.hrtime.bigint();
    signOnce(msg);
    us.push(Number(process.hrtime.bigint() - s) / 1000);
  }
  const totalS = Number(process.hrtime.bigint() - t0) / 1e9;
  us.sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    count,
    mean_us: round(us.reduce((a, b) => a + b, 0) / count),
    p50_us: round(us[Math.floor(count * 0.5)]!),
    p99_us: round(us[Math.min(count - 1, Math.floor(count * 0.99))]!),
    signs_per_s: Math.round(count / totalS),
  };
}

async function main(): Promise<void> {
  const count = Number(arg('count') ?? DEFAULT_COUNT);
  if (!Number.isInteger(count) || count < 1) throw new Error('--count must be a positive integer');
  const chain = process.argv.includes('--chain');
  const chainRate = Number(arg('chain-rate') ?? DEFAULT_CHAIN_RATE_TPS);
  const chainSeconds = Number(arg('chain-seconds') ?? DEFAULT_CHAIN_SECONDS);
  if (!(chainRate > 0)) throw new Error('--chain-rate must be a positive number of tx/s');
  if (!Number.isInteger(chainSeconds) || chainSeconds < 1)
    throw new Error('--chain-seconds must be a positive integer');
  const kp = generateKeyPair();
  const file = measure(count, (m) => sign(kp.secretKey, m), kp.publicKey);
  console.log(`file    p50 ${file.p50_us} µs  p99 ${file.p99_us} µs  ${file.signs_per_s} signs/s`);

  // A throwaway token: SOFTHSM2_CONF must be set before the module is first loaded.
  const dir = mkdtempSync(join(tmpdir(), 'consortia-bench-softhsm-'));
  let backends: { file: Figures; pkcs11: Figures };
  try {
    mkdirSync(join(dir, 'tokens'));
    const conf = join(dir, 'softhsm2.conf');
    writeFileSync(
      conf,
      `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`,
    );
    process.env.SOFTHSM2_CONF = conf;
    execFileSync(
      'softhsm2-util',
      ['--init-token', '--free', '--label', 'bench', '--pin', '1234', '--so-pin', '12345'],
      { stdio: 'pipe' },
    );
    const hsm = generatePkcs11Key(
      { backend: 'pkcs11', module: SOFTHSM_MODULE, tokenLabel: 'bench', keyLabel: 'validator', pinEnv: 'UNUSED' },
      '1234',
    );
    const pkcs11 = measure(count, hsm.signSync, hsm.publicKey);
    hsm.close();
    console.log(`pkcs11  p50 ${pkcs11.p50_us} µs  p99 ${pkcs11.p99_us} µs  ${pkcs11.signs_per_s} signs/s (SoftHSM2)`);
    backends = { file, pkcs11 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    // (the chain's nodes get their own token configuration, or none)
    delete process.env.SOFTHSM2_CONF;
  }
  const out: Record<string, unknown> = { bench: 'signing', message_bytes: MESSAGE_BYTES, backends };
  if (chain) {
    const accounts = loadAccounts();
    const figures: Partial<Record<'file' | 'pkcs11', ChainFigures & { sign_mean_us: number }>> = {};
    // One network at a time: the two would otherwise share the 2 cores and measure each other.
    for (const b of ['file', 'pkcs11'] as const) {
      const f = { ...(await runChain(b, accounts, chainRate, chainSeconds)), sign_mean_us: backends[b].mean_us };
      figures[b] = f;
      console.log(
        `chain ${b.padEnd(6)} offered ${chainRate} tx/s -> committed ${f.tps} tx/s, commit latency p50 ${f.p50_ms} ms p99 ${f.p99_ms} ms, refusals ${f.rejected} (retried; given up ${f.dropped}), uncommitted ${f.uncommitted}, ${f.blocks_per_s} blocks/s, validator CPU ${f.node_cpu_us_per_tx} µs/tx (4 nodes), ${f.sign_mean_us} µs a signature, load average ${f.load_1m} at start`,
      );
    }
    const tpsRatio = Math.round((figures.pkcs11!.tps / Math.max(1, figures.file!.tps)) * 1000) / 1000;
    console.log(`chain pkcs11/file committed throughput: ${tpsRatio}`);
    out.chain = { offered_tps: chainRate, seconds: chainSeconds, ...figures, tps_ratio: tpsRatio };
  }
  console.log(JSON.stringify(out));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
