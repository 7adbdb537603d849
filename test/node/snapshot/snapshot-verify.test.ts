import { describe, expect, it } from 'vitest';
import { generateKeyPair, toHex, encodeCommit, encodeAmount } from '../../../src/chain/index.js';
import { verifySnapshot, type SnapshotJSON } from '../../../src/node/snapshot/index.js';
import { buildChain, certify, paymentsToBob } from '../../chain/chain-builder.js';
import { makeFixture } from '../../chain/fixtures.js';

const fx = makeFixture();
const chain = buildChain(4, paymentsToBob(fx), fx);
const last = chain.blocks[3]!;
const good = (): SnapshotJSON => ({
  height: 4,
  block: toHex(chain.encoded[3]!.block),
  commit: toHex(chain.encoded[3]!.commit),
  epochs: [],
  entries: [...last.state.entries()].map(([k, v]) => [k, toHex(v)]),
});
const code = (fn: () => unknown): string => {
  try {
    fn();
    return 'OK';
  } catch (e) {
    return (e as { code?: string }).code ?? 'ERROR';
  }
};

describe('snapshot verification (joining ordinary node)', () => {
  it('accepts a snapshot certified by the genesis validator set and rebuilding the header root', () => {
    const v = verifySnapshot(fx.genesis, good());
    expect(v.height).toBe(4);
    expect(v.entries.length).toBe(last.state.size);
  });

  it('rejects tampered state, a commit by non-validators and a mismatched height', () => {
    const tampered = good();
    tampered.entries = tampered.entries.map(([k, v]) => [
      k,
      k === `bal/${toHex(fx.bob.publicKey)}/USD` ? toHex(encodeAmount(10_000n)) : v,
    ]);
    expect(code(() => verifySnapshot(fx.genesis, tampered))).toBe('SNAPSHOT_ROOT_MISMATCH');
    const forged = good();
    forged.commit = toHex(encodeCommit(certify(last.block, [generateKeyPair(), generateKeyPair(), generateKeyPair()])));
    expect(code(() => verifySnapshot(fx.genesis, forged))).toBe('LIGHT_HEADER_BAD_COMMIT');
    expect(code(() => verifySnapshot(fx.genesis, { ...good(), height: 3 }))).toBe('CODEC_INVALID');
    expect(code(() => verifySnapshot(makeFixture(4).genesis, good()))).not.toBe('OK'); // another chain's validators
  });
});
