import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  encodeTx,
  decodeTx,
  Writer,
  Reader,
  CodecError,
  fromHex,
  toHex,
  encodeGovernanceAction,
  decodeGovernanceAction,
  encodeHeader,
  decodeHeader,
  encodeCommit,
  decodeCommit,
  encodeBlock,
  decodeBlock,
  encodeSignedVote,
  decodeSignedVote,
  encodeParams,
  decodeParams,
  DEFAULT_PARAMS,
  type Tx,
  type TxBody,
  type GovernanceAction,
  type BlockHeader,
  type CommitCertificate,
  type SignedVote,
  compareBytes,
} from '../../src/chain/index.js';

const b32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const b64 = fc.uint8Array({ minLength: 64, maxLength: 64 });
const amount = fc.bigInt({ min: 0n, max: 0xffffffffffffffffn });
const assetId = fc.stringMatching(/^[A-Za-z0-9._:-]{1,64}$/);
const id = fc.string({ maxLength: 40 });
const safe = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const u32 = fc.integer({ min: 0, max: 0xffffffff });

const action: fc.Arbitrary<GovernanceAction> = fc.oneof(
  fc.record({
    type: fc.constant('add_member' as const),
    memberId: id,
    name: id,
    adminKeys: fc.array(b32, { maxLength: 3 }),
  }),
  fc.record({ type: fc.constant('remove_member' as const), memberId: id }),
  fc.record({
    type: fc.constant('add_validator' as const),
    memberId: id,
    publicKey: b32,
    power: safe,
    proofOfPossession: b64,
  }),
  fc.record({ type: fc.constant('remove_validator' as const), publicKey: b32 }),
  fc.record({
    type: fc.constant('register_node' as const),
    memberId: id,
    publicKey: b32,
    role: fc.constantFrom('validator' as const, 'super' as const, 'ordinary' as const, 'light' as const),
  }),
  fc.record({
    type: fc.constant('change_params' as const),
    params: fc.record(
      {
        blockIntervalMs: u32,
        maxTxBytes: u32,
        votingPolicy: fc.record({
          thresholdPercentage: fc.integer({ min: 0, max: 100 }),
          thresholdComparator: fc.constantFrom('GREATER_THAN' as const, 'GREATER_THAN_OR_EQUAL_TO' as const),
          proposalDurationSeconds: u32,
        }),
      },
      { requiredKeys: [] },
    ),
  }),
);
const body: fc.Arbitrary<TxBody> = fc.oneof(
  fc.constant({ type: 'create_account' as const }),
  fc.record({ type: fc.constant('issue_asset' as const), asset: assetId, amount, to: b32 }),
  fc.record({ type: fc.constant('burn_asset' as const), asset: assetId, amount }),
  fc.record({ type: fc.constant('transfer' as const), asset: assetId, to: b32, amount }),
  fc.record({ type: fc.constant('anchor' as const), hash: b32, metadata: fc.string({ maxLength: 300 }) }),
  fc.record({
    type: fc.constant('governance' as const),
    proposalId: id,
    action,
    votes: fc.array(
      fc.record({ memberId: id, adminKey: b32, vote: fc.constantFrom('YES' as const, 'NO' as const), signature: b64 }),
      { maxLength: 3 },
    ),
  }),
);
const txArb: fc.Arbitrary<Tx> = fc.record({
  chainId: fc.string({ maxLength: 20 }),
  signer: b32,
  nonce: safe,
  body,
  signature: b64,
});

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CodecError);
    return (e as CodecError).code;
  }
  return 'NO_ERROR';
}

describe('tx codec', () => {
  it('round-trips every tx and re-encodes to the same bytes', () => {
    fc.assert(
      fc.property(txArb, (tx) => {
        const b = encodeTx(tx);
        const d = decodeTx(b);
        expect(d).toEqual(tx);
        expect(encodeTx(d)).toEqual(b);
      }),
      { numRuns: 300 },
    );
  });

  it('rejects trailing bytes', () => {
    fc.assert(
      fc.property(txArb, fc.uint8Array({ minLength: 1, maxLength: 8 }), (tx, extra) => {
        const b = encodeTx(tx);
        const c = new Uint8Array(b.length + extra.length);
        c.set(b);
        c.set(extra, b.length);
        expect(codeOf(() => decodeTx(c))).toBe('CODEC_TRAILING_BYTES');
      }),
      { numRuns: 100 },
    );
  });

  it('rejects every strict truncation', () => {
    fc.assert(
      fc.property(txArb, fc.nat(), (tx, cut) => {
        const b = encodeTx(tx);
        const n = cut % b.length;
        expect(codeOf(() => decodeTx(b.subarray(0, n)))).not.toBe('NO_ERROR');
      }),
      { numRuns: 100 },
    );
  });

  it('never throws anything but CodecError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (b) => {
        try {
          const tx = decodeTx(b);
          expect(encodeTx(tx)).toEqual(b); // anything accepted is canonical
        } catch (e) {
          expect(e).toBeInstanceOf(CodecError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('rejects oversize input, oversize metadata, invalid UTF-8, bad tags and unsafe nonces', () => {
    const tx: Tx = {
      chainId: 'c',
      signer: new Uint8Array(32),
      nonce: 1,
      body: { type: 'anchor', hash: new Uint8Array(32), metadata: 'x' },
      signature: new Uint8Array(64),
    };
    const b = encodeTx(tx);
    expect(codeOf(() => decodeTx(b, b.length - 1))).toBe('CODEC_OVERSIZE');
    expect(
      codeOf(() => encodeTx({ ...tx, body: { type: 'anchor', hash: new Uint8Array(32), metadata: 'x'.repeat(1025) } })),
    ).toBe('CODEC_OVERSIZE');
    // hand-build an anchor with 1025 bytes of metadata
    const w = new Writer()
      .u8(1)
      .string('c')
      .fixed(new Uint8Array(32), 32)
      .u64(0)
      .u8(4)
      .fixed(new Uint8Array(32), 32)
      .bytes(new Uint8Array(1025).fill(97))
      .fixed(new Uint8Array(64), 64);
    expect(codeOf(() => decodeTx(w.finish()))).toBe('CODEC_OVERSIZE');
    // chainId of invalid UTF-8 (0xff)
    const bad = b.slice();
    bad[5] = 0xff; // first byte of chainId 'c'
    expect(codeOf(() => decodeTx(bad))).toBe('CODEC_INVALID');
    const badTag = b.slice();
    badTag[1 + 4 + 1 + 32 + 8] = 99;
    expect(codeOf(() => decodeTx(badTag))).toBe('CODEC_INVALID');
    const bigNonce = b.slice();
    bigNonce[1 + 4 + 1 + 32] = 0xff;
    expect(codeOf(() => decodeTx(bigNonce))).toBe('CODEC_RANGE');
    expect(
      codeOf(() => encodeTx({ ...tx, body: { type: 'transfer', asset: 'a/b', to: new Uint8Array(32), amount: 1n } })),
    ).toBe('CODEC_INVALID');
  });
});

describe('other codecs', () => {
  it('governance actions round-trip', () => {
    fc.assert(
      fc.property(action, (a) => {
        expect(decodeGovernanceAction(encodeGovernanceAction(a))).toEqual(a);
      }),
      { numRuns: 200 },
    );
  });

  it('rejects non-canonical bools and unknown params bits', () => {
    const r = new Reader(new Uint8Array([2]));
    expect(codeOf(() => r.bool())).toBe('CODEC_NON_CANONICAL');
    const a = encodeGovernanceAction({ type: 'change_params', params: {} });
    const bad = a.slice();
    bad[1] = 0x80;
    expect(codeOf(() => decodeGovernanceAction(bad))).toBe('CODEC_NON_CANONICAL');
    expect(decodeParams(encodeParams(DEFAULT_PARAMS))).toEqual(DEFAULT_PARAMS);
  });

  const header: fc.Arbitrary<BlockHeader> = fc.record({
    chainId: fc.string({ maxLength: 20 }),
    height: safe,
    time: safe,
    prevHash: b32,
    txRoot: b32,
    stateRoot: b32,
    validatorSetHash: b32,
    proposer: b32,
    lastCommitHash: b32,
    evidenceRoot: b32,
  });
  const vote: fc.Arbitrary<SignedVote> = fc.record({
    type: fc.constantFrom('prevote' as const, 'precommit' as const),
    height: safe,
    round: u32,
    blockHash: fc.option(b32, { nil: null }),
    validator: b32,
    signature: b64,
  });
  const commit: fc.Arbitrary<CommitCertificate> = fc.record({
    height: safe,
    round: u32,
    blockHash: b32,
    signatures: fc.uniqueArray(fc.record({ validator: b32, signature: b64 }), {
      selector: (s) => toHex(s.validator),
      maxLength: 5,
    }),
  });

  it('headers, votes, commits and blocks round-trip', () => {
    fc.assert(
      fc.property(
        header,
        vote,
        commit,
        fc.array(fc.uint8Array({ maxLength: 50 }), { maxLength: 5 }),
        fc.boolean(),
        (h, v, c, txs, withCommit) => {
          expect(decodeHeader(encodeHeader(h))).toEqual(h);
          expect(decodeSignedVote(encodeSignedVote(v))).toEqual(v);
          const sorted = { ...c, signatures: [...c.signatures].sort((a, b) => compareBytes(a.validator, b.validator)) };
          expect(decodeCommit(encodeCommit(c))).toEqual(sorted);
          const blk = { header: h, txs, evidence: [{ voteA: v, voteB: v }], lastCommit: withCommit ? sorted : null };
          expect(decodeBlock(encodeBlock(blk))).toEqual(blk);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('rejects commits with unsorted or duplicate signatures', () => {
    const s1 = { validator: new Uint8Array(32).fill(1), signature: new Uint8Array(64) };
    const s2 = { validator: new Uint8Array(32).fill(2), signature: new Uint8Array(64) };
    const w = new Writer().u64(1).u32(0).fixed(new Uint8Array(32), 32).u32(2);
    w.fixed(s2.validator, 32).fixed(s2.signature, 64).fixed(s1.validator, 32).fixed(s1.signature, 64);
    expect(codeOf(() => decodeCommit(w.finish()))).toBe('CODEC_NON_CANONICAL');
    const d = new Writer().u64(1).u32(0).fixed(new Uint8Array(32), 32).u32(2);
    d.fixed(s1.validator, 32).fixed(s1.signature, 64).fixed(s1.validator, 32).fixed(s1.signature, 64);
    expect(codeOf(() => decodeCommit(d.finish()))).toBe('CODEC_NON_CANONICAL');
  });

  it('hex is strict lowercase and length-checked', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        expect(fromHex(toHex(b))).toEqual(b);
      }),
    );
    expect(codeOf(() => fromHex('ABCD'))).toBe('CODEC_INVALID');
    expect(codeOf(() => fromHex('abc'))).toBe('CODEC_INVALID');
    expect(codeOf(() => fromHex('abcd', 3))).toBe('CODEC_INVALID');
  });
});

describe('limits are symmetric', () => {
  it('encoders refuse what decoders would refuse', () => {
    const tx: Tx = {
      chainId: 'c'.repeat(65),
      signer: new Uint8Array(32),
      nonce: 0,
      body: { type: 'create_account' },
      signature: new Uint8Array(64),
    };
    expect(codeOf(() => encodeTx(tx))).toBe('CODEC_OVERSIZE');
    expect(codeOf(() => encodeGovernanceAction({ type: 'remove_member', memberId: 'é'.repeat(65) }))).toBe(
      'CODEC_OVERSIZE',
    );
  });
  it('random bytes never crash the block decoder', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (b) => {
        try {
          decodeBlock(b);
        } catch (e) {
          expect(e).toBeInstanceOf(CodecError);
        }
      }),
      { numRuns: 300 },
    );
  });
});
