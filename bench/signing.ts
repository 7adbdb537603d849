/**
 * Signing latency per key custody backend (a figure, not a test): one Ed25519 signature of a
 * consensus-vote-sized message at a time, as a validator signs, through
 *   file   — the node's in-memory key (src/chain/keys.ts sign, node:crypto),
 *   pkcs11 — a key generated inside a fresh SoftHSM2 token (src/lib/custody/pkcs11.ts, CKM_EDDSA).
 * Each signature is verified once outside the timed loop. Needs SoftHSM2 (.ci/tools/softhsm.sh).
 *   npm run bench:signing -- --count 2000
 * Last line: one JSON object { backends: { file: {...}, pkcs11: {...} } } with microseconds.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tags, domainMessage, generateKeyPair, sign, verify } from '../src/chain/index.js';
import { generatePkcs11Key } from '../src/lib/index.js';

const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';
/** Signatures per backend unless --count N. */
const DEFAULT_COUNT = 2000;
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

function main(): void {
  const count = Number(arg('count') ?? DEFAULT_COUNT);
  if (!Number.isInteger(count) || count < 1) throw new Error('--count must be a positive integer');
  const kp = generateKeyPair();
  const file = measure(count, (m) => sign(kp.secretKey, m), kp.publicKey);
  console.log(`file    p50 ${file.p50_us} µs  p99 ${file.p99_us} µs  ${file.signs_per_s} signs/s`);

  // A throwaway token: SOFTHSM2_CONF must be set before the module is first loaded.
  const dir = mkdtempSync(join(tmpdir(), 'consortia-bench-softhsm-'));
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
    console.log(JSON.stringify({ bench: 'signing', message_bytes: MESSAGE_BYTES, backends: { file, pkcs11 } }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
