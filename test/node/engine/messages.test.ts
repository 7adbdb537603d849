import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeMsg, encodeMsg, type WireMsg } from '../../../src/node/engine/messages.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const bytes = (n: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: n, maxLength: n });

const wireMsg: fc.Arbitrary<WireMsg> = fc.oneof(
  fc.record({
    kind: fc.constant('proposal' as const),
    height: u32,
    round: u32,
    polRound: fc.integer({ min: -1, max: 0xfffffffe }),
    proposer: bytes(32),
    signature: bytes(64),
    block: fc.uint8Array({ maxLength: 300 }),
  }),
  fc.record({
    kind: fc.constant('vote' as const),
    type: fc.constantFrom('prevote' as const, 'precommit' as const),
    height: u32,
    round: u32,
    blockHash: fc.option(bytes(32), { nil: null }),
    validator: bytes(32),
    signature: bytes(64),
  }),
  fc.record({ kind: fc.constant('status' as const), height: u32, lowest: u32 }),
  fc.record({ kind: fc.constant('getBlocks' as const), from: u32, count: u32 }),
  fc.record({
    kind: fc.constant('blocks' as const),
    items: fc.array(
      fc.record({ block: fc.uint8Array({ maxLength: 100 }), commit: fc.uint8Array({ maxLength: 100 }) }),
      { maxLength: 5 },
    ),
  }),
);

/** Byte arrays as plain arrays, so a Buffer and a Uint8Array with the same bytes compare equal. */
const plain = (v: unknown): unknown =>
  v instanceof Uint8Array
    ? [...v]
    : Array.isArray(v)
      ? v.map(plain)
      : v !== null && typeof v === 'object'
        ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]))
        : v;

describe('consensus and sync wire messages', () => {
  it('every message decodes to itself', () => {
    fc.assert(
      fc.property(wireMsg, (m) => {
        expect(plain(decodeMsg(encodeMsg(m)))).toEqual(plain(m));
      }),
    );
  });

  it('arbitrary bytes decode or throw an Error, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.constantFrom(1, 2, 16, 17, 18, 200), (b, tag) => {
        if (b.length > 0) b[0] = tag;
        try {
          decodeMsg(Buffer.from(b));
        } catch (err) {
          expect(err).toBeInstanceOf(Error);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses truncation, trailing bytes and unknown types', () => {
    const vote = encodeMsg({
      kind: 'vote',
      type: 'prevote',
      height: 5,
      round: 0,
      blockHash: null,
      validator: new Uint8Array(32),
      signature: new Uint8Array(64),
    });
    expect(() => decodeMsg(vote.subarray(0, vote.length - 1))).toThrow(/vote length/);
    expect(() => decodeMsg(Buffer.concat([vote, Buffer.from([0])]))).toThrow(/vote length/);
    const blocks = encodeMsg({ kind: 'blocks', items: [{ block: new Uint8Array(10), commit: new Uint8Array(4) }] });
    expect(() => decodeMsg(blocks.subarray(0, blocks.length - 1))).toThrow(/truncated/);
    expect(() => decodeMsg(Buffer.concat([blocks, Buffer.from([0])]))).toThrow(/trailing/);
    expect(() => decodeMsg(Buffer.from([17, 0, 0]))).toThrow(/getBlocks/);
    expect(() => decodeMsg(Buffer.from([1, 0]))).toThrow(/truncated/);
    expect(() => decodeMsg(Buffer.from([99]))).toThrow(/unknown message type 99/);
    expect(() => decodeMsg(Buffer.alloc(0))).toThrow(/truncated/);
    const vote2 = Buffer.from(vote);
    vote2[1] = 3;
    expect(() => decodeMsg(vote2)).toThrow(/vote type/);
  });
});
