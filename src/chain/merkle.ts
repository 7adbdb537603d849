import { hash } from 'node:crypto';
import { bytesEqual, sha256, type Hash } from './bytes.js';

/** RFC 6962 / 9162 Merkle tree: leaf = H(0x00 || d), node = H(0x01 || l || r), empty = H(""). */
export interface MerkleProof {
  index: number;
  total: number;
  path: Hash[]; // bottom-up audit path
}

const LEAF = new Uint8Array([0]);
const NODE = new Uint8Array([1]);

function u8(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
// One-shot hashing over a reused scratch buffer: a Hash object per node cost more than the hash
// (tx roots are computed for every proposal built or validated).
let leafScratch = Buffer.alloc(1024);
const nodeScratch = Buffer.alloc(65);
export function merkleLeafHash(data: Uint8Array): Hash {
  if (leafScratch.length < data.length + 1) leafScratch = Buffer.alloc(data.length + 1024);
  leafScratch[0] = LEAF[0]!;
  leafScratch.set(data, 1);
  return u8(hash('sha256', leafScratch.subarray(0, data.length + 1), 'buffer'));
}
export function merkleNodeHash(l: Hash, r: Hash): Hash {
  nodeScratch[0] = NODE[0]!;
  nodeScratch.set(l, 1);
  nodeScratch.set(r, 33);
  return u8(hash('sha256', nodeScratch, 'buffer'));
}

// Level-by-level with the unpaired last node promoted unchanged: equal to RFC 6962's MTH.
function nextLevel(level: Hash[]): Hash[] {
  const out: Hash[] = [];
  for (let i = 0; i + 1 < level.length; i += 2) out.push(merkleNodeHash(level[i]!, level[i + 1]!));
  if (level.length % 2 === 1) out.push(level[level.length - 1]!);
  return out;
}

export function merkleRootOfLeafHashes(hashes: Hash[]): Hash {
  if (hashes.length === 0) return sha256(new Uint8Array(0));
  let level = hashes;
  while (level.length > 1) level = nextLevel(level);
  return level[0]!;
}

export function merkleRoot(leaves: Uint8Array[]): Hash {
  if (leaves.length === 0) return sha256(new Uint8Array(0));
  // Hot (every proposal built or validated): inner hashes stay node:crypto's Buffers and the
  // levels are reduced in place; only the root becomes a plain Uint8Array.
  const level: Uint8Array[] = new Array(leaves.length);
  for (let i = 0; i < leaves.length; i++) {
    const d = leaves[i]!;
    if (leafScratch.length < d.length + 1) leafScratch = Buffer.alloc(d.length + 1024);
    leafScratch[0] = LEAF[0]!;
    leafScratch.set(d, 1);
    level[i] = hash('sha256', leafScratch.subarray(0, d.length + 1), 'buffer');
  }
  let n = level.length;
  while (n > 1) {
    let m = 0;
    for (let i = 0; i + 1 < n; i += 2) {
      nodeScratch[0] = NODE[0]!;
      nodeScratch.set(level[i]!, 1);
      nodeScratch.set(level[i + 1]!, 33);
      level[m++] = hash('sha256', nodeScratch, 'buffer');
    }
    if (n % 2 === 1) level[m++] = level[n - 1]!; // the unpaired last node is promoted unchanged
    n = m;
  }
  return u8(level[0] as Buffer);
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
