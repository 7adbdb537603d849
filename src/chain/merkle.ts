import { hash } from 'node:crypto';
import { binaryOf, bytesEqual, bytesOfBinary, sha256, sha256PairBinary, type Hash } from './bytes.js';

/** RFC 6962 / 9162 Merkle tree: leaf = H(0x00 || d), node = H(0x01 || l || r), empty = H(""). */
export interface MerkleProof {
  index: number;
  total: number;
  path: Hash[]; // bottom-up audit path
}

const LEAF = new Uint8Array([0]);
const NODE = new Uint8Array([1]);

// Roots are computed for every proposal built or validated: inner hashes are binary strings
// (bytes.ts), and what leaves this module is bytes.
let leafScratch = Buffer.alloc(1024);
function rawLeafHash(data: Uint8Array): string {
  if (leafScratch.length < data.length + 1) leafScratch = Buffer.alloc(data.length + 1024);
  leafScratch[0] = LEAF[0]!;
  leafScratch.set(data, 1);
  return hash('sha256', leafScratch.subarray(0, data.length + 1), 'binary');
}
const rawNodeHash = (l: string, r: string): string => sha256PairBinary(NODE[0]!, l, r);

export function merkleLeafHash(data: Uint8Array): Hash {
  return bytesOfBinary(rawLeafHash(data));
}
export function merkleNodeHash(l: Hash, r: Hash): Hash {
  return bytesOfBinary(rawNodeHash(binaryOf(l), binaryOf(r)));
}

// Level-by-level with the unpaired last node promoted unchanged: equal to RFC 6962's MTH.
function nextLevel(level: Hash[]): Hash[] {
  const out: Hash[] = [];
  for (let i = 0; i + 1 < level.length; i += 2) out.push(merkleNodeHash(level[i]!, level[i + 1]!));
  if (level.length % 2 === 1) out.push(level[level.length - 1]!);
  return out;
}

/** The same levels as nextLevel, reduced in place in `level` (which it overwrites). */
function reduceToRoot(level: string[]): Hash {
  if (level.length === 0) return sha256(new Uint8Array(0));
  let n = level.length;
  while (n > 1) {
    let m = 0;
    for (let i = 0; i + 1 < n; i += 2) level[m++] = rawNodeHash(level[i]!, level[i + 1]!);
    if (n % 2 === 1) level[m++] = level[n - 1]!;
    n = m;
  }
  return bytesOfBinary(level[0]!);
}

export function merkleRootOfLeafHashes(hashes: Hash[]): Hash {
  return reduceToRoot(hashes.map(binaryOf));
}

export function merkleRoot(leaves: Uint8Array[]): Hash {
  return reduceToRoot(leaves.map(rawLeafHash));
}

export function merkleProof(leaves: Uint8Array[], index: number): MerkleProof {
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length) throw new RangeError('leaf index out of range');
  const path: Hash[] = [];
  let level = leaves.map(merkleLeafHash);
  let i = index;
  while (level.length > 1) {
    if (i % 2 === 1) path.push(level[i - 1]!);
    else if (i + 1 < level.length) path.push(level[i + 1]!);
    level = nextLevel(level);
    i = Math.floor(i / 2);
  }
  return { index, total: leaves.length, path };
}

/** RFC 9162 §2.1.3.2 inclusion verification; `leaf` is the raw leaf data. */
export function verifyMerkleProof(root: Hash, leaf: Uint8Array, proof: MerkleProof): boolean {
  return verifyMerkleProofOfLeafHash(root, merkleLeafHash(leaf), proof);
}

export function verifyMerkleProofOfLeafHash(root: Hash, leafHash: Hash, proof: MerkleProof): boolean {
  const { index, total, path } = proof;
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(total) || index < 0 || index >= total) return false;
  let fn = index;
  let sn = total - 1;
  let r = leafHash;
  for (const p of path) {
    if (p.length !== 32 || sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = merkleNodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = merkleNodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && bytesEqual(r, root);
}
