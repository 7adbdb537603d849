import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromHex, toHex, verifyProofOfPossession } from '../../src/chain/index.js';
import { ChainNet, MAIN, waitUntil } from '../harness/chain-net.js';
import { startRecordedKms, type RecordedKms } from '../lib/custody/kms-recorded.js';

// 4 validators whose keys are in "KMS": one KMS stand-in per validator (test/lib/custody/kms-recorded.ts,
// the recorded KMS request/response contract over HTTP, with a real Ed25519 key behind it; LocalStack
// and moto have no ECC_NIST_EDWARDS25519 keys). Each node runs with key.backend aws-kms, reads its
// public key with GetPublicKey and signs every vote and proposal with one Sign request, answered
// after a KMS-like round trip, so consensus runs on the asynchronous signing path.
const SIGN_ROUND_TRIP_MS = 15;
const kms: RecordedKms[] = [];
const keygen = new Map<number, { publicKey: string; proofOfPossession: string }>();
const run = promisify(execFile);

const keyConfig = (i: number) => ({
  backend: 'aws-kms',
  keyId: `alias/validator-${i}`,
  region: 'eu-west-1',
  endpoint: kms[i]!.endpoint,
});

const net = new ChainNet({
  validators: 4,
  externalKey: (i) => {
    const k = keygen.get(i)!;
    return { publicKey: fromHex(k.publicKey, 32), proofOfPossession: fromHex(k.proofOfPossession, 64) };
  },
  nodeConfig: (n) => ({ key: keyConfig(n.index) }),
});

beforeAll(async () => {
  for (let i = 0; i < 4; i++) kms.push(await startRecordedKms({ signDelayMs: SIGN_ROUND_TRIP_MS }));
  // `main.js keygen` in its own process (asynchronously: the KMS stand-ins answer from this one),
  // reading the key section from the env like a keygen Job does.
  for (let i = 0; i < 4; i++) {
    const k = keyConfig(i);
    const { stdout } = await run(
      process.execPath,
      [MAIN, 'keygen', '--key-file', join(net.root, `unused-${i}.json`), '--chain-id', net.chainId],
      {
        env: {
          ...process.env,
          CONSORTIA_NODE_KEY_BACKEND: k.backend,
          CONSORTIA_NODE_KEY_KEY_ID: k.keyId,
          CONSORTIA_NODE_KEY_REGION: k.region,
          CONSORTIA_NODE_KEY_ENDPOINT: k.endpoint,
        },
      },
    );
    keygen.set(i, JSON.parse(stdout.trim().split('\n').pop()!));
  }
  await net.init();
  await net.startAll();
}, 120_000);
afterAll(async () => {
  if (process.env.CHAIN_E2E_LOGS)
    for (const n of net.nodes) console.log(`--- node${n.index}\n${net.dumpLogs(n.index)}`);
  await net.stop();
  for (const k of kms) await k.close();
});

/** Heights above `from` whose commit certificate carries a signature of validator `i`, up to `to`. */
async function signedBy(i: number, from: number, to: number): Promise<number[]> {
  const self = toHex(kms[i]!.key.publicKey);
  const out: number[] = [];
  for (let h = from + 1; h <= to; h++) {
    const c = await net.get(net.nodes[1]!, `/v1/blocks/${h}/commit`);
    const sigs = (c.body?.signatures ?? []) as { validator: string }[];
    if (sigs.some((s) => s.validator === self)) out.push(h);
  }
  return out;
}

describe('validators signing with KMS keys', () => {
  it('keygen read each key from KMS and signed its proof of possession there; no key file exists', () => {
    for (let i = 0; i < 4; i++) {
      const v = net.genesis.validators[i]!;
      expect(toHex(v.publicKey)).toBe(toHex(kms[i]!.key.publicKey));
      expect(verifyProofOfPossession(net.chainId, v.publicKey, v.proofOfPossession)).toBe(true);
      expect(existsSync(join(net.nodes[i]!.dataDir, 'node-key.json'))).toBe(false);
      expect(existsSync(join(net.root, `unused-${i}.json`))).toBe(false);
    }
  });

  it('finalizes blocks signed in KMS, every node with the same hash at every height', async () => {
    await net.waitHeight(net.nodes, 5, 90_000);
    expect(new Set(await net.agreedHashes(net.nodes, 5)).size).toBe(5);
    for (let i = 0; i < 4; i++) {
      await waitUntil(
        async () => (await signedBy(i, 0, await net.height(net.nodes[1]!))).length > 0,
        90_000,
        `a commit carrying validator ${i}'s KMS-made precommit`,
      );
      const signs = kms[i]!.seen.filter((r) => r.target === 'TrentService.Sign');
      expect(signs.length).toBeGreaterThan(5);
      expect(signs.every((r) => r.body.MessageType === 'RAW' && r.body.SigningAlgorithm === 'ED25519_SHA_512')).toBe(
        true,
      );
    }
  });

  it('a validator whose KMS throttles keeps running; it signs again once KMS answers', async () => {
    kms[0]!.signError = { status: 400, type: 'ThrottlingException', message: 'Rate exceeded' };
    const throttledFrom = Math.max(...(await Promise.all(net.nodes.map((n) => net.height(n)))));
    await waitUntil(
      () => net.dumpLogs(0).includes('consensus signature failed'),
      90_000,
      "validator 0's failed KMS signature logged",
    );
    // The other three are a quorum: the chain goes on without validator 0's votes.
    await net.waitHeight(net.nodes.slice(1), throttledFrom + 3, 90_000);
    expect(net.nodes[0]!.proc).not.toBeNull();
    kms[0]!.signError = null;
    const healedFrom = await net.height(net.nodes[1]!);
    await waitUntil(
      async () => (await signedBy(0, healedFrom, await net.height(net.nodes[1]!))).length > 0,
      90_000,
      'a commit signed by validator 0 after its KMS answers again',
    );
    expect(net.nodes[0]!.proc).not.toBeNull();
    await net.waitHeight([net.nodes[0]!], healedFrom + 1, 90_000);
  });
});
