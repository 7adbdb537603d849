import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  merkleRoot,
  merkleRootOfLeafHashes,
  merkleLeafHash,
  merkleProof,
  verifyMerkleProof,
  sha256,
  toHex,
  concatBytes,
} from '../../src/chain/index.js';

const leafArrays = fc.array(fc.uint8Array({ maxLength: 16 }), { minLength: 1, maxLength: 40 });

describe('RFC 6962 merkle tree', () => {
  it('matches the RFC definition on small trees', () => {
    const a = new Uint8Array([1]);
    const b = new Uint8Array([2]);
    const c = new Uint8Array([3]);
    const L = (d: Uint8Array) => sha256(new Uint8Array([0]), d);
    const N = (l: Uint8Array, r: Uint8Array) => sha256(concatBytes(new Uint8Array([1]), l, r));
    expect(toHex(merkleRoot([]))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(merkleRoot([a])).toEqual(L(a));
    expect(merkleRoot([a, b, c])).toEqual(N(N(L(a), L(b)), L(c)));
  });

  it('every leaf has a proof that verifies', () => {
    fc.assert(
      fc.property(leafArrays, fc.nat(), (leaves, k) => {
        const i = k % leaves.length;
        const root = merkleRoot(leaves);
        const proof = merkleProof(leaves, i);
        expect(verifyMerkleProof(root, leaves[i]!, proof)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('tampered leaf, path, index or size fails', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 16 }), { minLength: 2, maxLength: 40 }),
        fc.nat(),
        (leaves, k) => {
          const i = k % leaves.length;
          const root = merkleRoot(leaves);
          const proof = merkleProof(leaves, i);
          const leaf = leaves[i]!.slice();
          leaf[0]! ^= 1;
          expect(verifyMerkleProof(root, leaf, proof)).toBe(false);
          if (proof.path.length > 0) {
            const path = proof.path.map((p) => p.slice());
            path[0]![0]! ^= 1;
            expect(verifyMerkleProof(root, leaves[i]!, { ...proof, path })).toBe(false);
            expect(verifyMerkleProof(root, leaves[i]!, { ...proof, path: proof.path.slice(1) })).toBe(false);
          }
          const other = (i + 1) % leaves.length;
          if (toHex(leaves[other]!) !== toHex(leaves[i]!)) {
            expect(verifyMerkleProof(root, leaves[i]!, { ...proof, index: other })).toBe(false);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('merkleRoot (in-place fast path)', () => {
  it('equals the level-by-level root of the leaf hashes for every size', () => {
    for (let n = 0; n <= 40; n++) {
      const leaves = Array.from({ length: n }, (_, i) => new Uint8Array(i % 7 === 0 ? 0 : 20 + i).fill(i));
      const root = merkleRoot(leaves);
      expect(root).toEqual(merkleRootOfLeafHashes(leaves.map(merkleLeafHash)));
      expect(Buffer.isBuffer(root)).toBe(false);
    }
    const big = [new Uint8Array(5000).fill(1), new Uint8Array(3)]; // larger than the scratch buffer
    expect(merkleRoot(big)).toEqual(merkleRootOfLeafHashes(big.map(merkleLeafHash)));
  });
});
