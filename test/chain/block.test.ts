import { describe, expect, it } from 'vitest';
import {
  verifyCommit,
  signVote,
  validatorSetHash,
  blockHash,
  encodeHeader,
  ConsortiaError,
  checkEvidence,
  checkBlockBody,
  encodeBlock,
  decodeBlock,
  decodeBlockShared,
  type ValidatorInfo,
  type CommitCertificate,
} from '../../src/chain/index.js';
import { key, block, CHAIN, stx } from './fixtures.js';

const keys = [key(1), key(2), key(3), key(4)];
const vals: ValidatorInfo[] = keys.map((k, i) => ({ publicKey: k.publicKey, power: 1, memberId: `m${i}` }));
const bh = new Uint8Array(32).fill(7);

function cert(signers: number[], hash = bh): CommitCertificate {
  return {
    height: 5,
    round: 1,
    blockHash: hash,
    signatures: signers.map((i) => ({
      validator: keys[i]!.publicKey,
      signature: signVote(CHAIN, keys[i]!.secretKey, keys[i]!.publicKey, 'precommit', 5, 1, hash).signature,
    })),
  };
}
function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConsortiaError);
    return (e as ConsortiaError).code;
  }
  return 'NO_ERROR';
}

describe('commit certificates', () => {
  it('accepts > 2/3 power and refuses exactly 2/3 or less', () => {
    expect(codeOf(() => verifyCommit(CHAIN, vals, cert([0, 1, 2])))).toBe('NO_ERROR');
    expect(codeOf(() => verifyCommit(CHAIN, vals, cert([0, 1])))).toBe('COMMIT_INSUFFICIENT_POWER');
    const three = vals.slice(0, 3);
    expect(codeOf(() => verifyCommit(CHAIN, three, cert([0, 1])))).toBe('COMMIT_INSUFFICIENT_POWER'); // exactly 2/3
  });
  it('refuses duplicates, outsiders, wrong chain, prevotes', () => {
    const c = cert([0, 1, 2]);
    expect(codeOf(() => verifyCommit(CHAIN, vals, { ...c, signatures: [...c.signatures, c.signatures[0]!] }))).toBe(
      'COMMIT_DUPLICATE_SIGNATURE',
    );
    const out = key(50);
    expect(
      codeOf(() =>
        verifyCommit(CHAIN, vals, {
          ...c,
          signatures: [...c.signatures, { validator: out.publicKey, signature: c.signatures[0]!.signature }],
        }),
      ),
    ).toBe('COMMIT_UNKNOWN_VALIDATOR');
    expect(codeOf(() => verifyCommit('other', vals, c))).toBe('COMMIT_BAD_SIGNATURE');
    const pv = signVote(CHAIN, keys[0]!.secretKey, keys[0]!.publicKey, 'prevote', 5, 1, bh);
    expect(
      codeOf(() =>
        verifyCommit(CHAIN, vals, {
          ...c,
          signatures: [{ validator: keys[0]!.publicKey, signature: pv.signature }, ...c.signatures.slice(1)],
        }),
      ),
    ).toBe('COMMIT_BAD_SIGNATURE');
    expect(codeOf(() => verifyCommit(CHAIN, vals, { ...c, round: 2 }))).toBe('COMMIT_BAD_SIGNATURE');
  });
});

describe('blocks, validator sets and evidence', () => {
  it('validator set hash is order independent and sensitive to power', () => {
    expect(validatorSetHash([...vals].reverse())).toEqual(validatorSetHash(vals));
    expect(validatorSetHash([{ ...vals[0]!, power: 2 }, ...vals.slice(1)])).not.toEqual(validatorSetHash(vals));
  });
  it('block hash covers every header byte', () => {
    const b = block([stx(key(9), 0, { type: 'create_account' })]);
    const h = blockHash(b.header);
    expect(blockHash({ ...b.header, time: b.header.time + 1 })).not.toEqual(h);
    expect(encodeHeader(b.header).length).toBeGreaterThan(32 * 7);
    expect(codeOf(() => checkBlockBody(b))).toBe('NO_ERROR');
    expect(codeOf(() => checkBlockBody({ ...b, txs: [] }))).toBe('BLOCK_INVALID');
  });
  it('decodeBlockShared decodes like decodeBlock, with txs as views into the input instead of copies', () => {
    const b = block([stx(key(9), 0, { type: 'create_account' }), stx(key(8), 0, { type: 'create_account' })]);
    const bytes = encodeBlock(b);
    const copy = decodeBlock(bytes);
    const shared = decodeBlockShared(bytes);
    expect(shared).toEqual(copy);
    expect(shared.txs.every((t) => t.buffer === bytes.buffer)).toBe(true);
    expect(copy.txs.some((t) => t.buffer === bytes.buffer)).toBe(false);
    expect(codeOf(() => decodeBlockShared(bytes.subarray(0, bytes.length - 1)))).toMatch(/^CODEC_/);
  });
  it('evidence requires two validly signed conflicting votes by a validator', () => {
    const k = keys[0]!;
    const a = signVote(CHAIN, k.secretKey, k.publicKey, 'prevote', 3, 0, bh);
    const b = signVote(CHAIN, k.secretKey, k.publicKey, 'prevote', 3, 0, null);
    expect(checkEvidence(CHAIN, vals, { voteA: a, voteB: b })).toBeNull();
    expect(checkEvidence(CHAIN, vals, { voteA: a, voteB: a })).not.toBeNull();
    const c = signVote(CHAIN, k.secretKey, k.publicKey, 'prevote', 3, 1, null);
    expect(checkEvidence(CHAIN, vals, { voteA: a, voteB: c })).not.toBeNull();
    expect(checkEvidence(CHAIN, vals, { voteA: a, voteB: { ...b, signature: a.signature } })).not.toBeNull();
    expect(checkEvidence(CHAIN, vals.slice(1), { voteA: a, voteB: b })).not.toBeNull();
  });
});
