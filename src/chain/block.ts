import { Reader, Writer, Limits } from './codec.js';
import { CodecError, ChainCodes } from './errors.js';
import { ConsortiaError } from '../lib/errors.js';
import { ZERO_HASH, bytesEqual, compareBytes, sha256, toHex, type Hash } from './bytes.js';
import { Tags, signDomain, verifyDomain } from './keys.js';
import { merkleRoot } from './merkle.js';

export interface BlockHeader {
  chainId: string;
  height: number;
  time: number; // ms
  prevHash: Hash;
  txRoot: Hash;
  stateRoot: Hash; // after executing this block
  validatorSetHash: Hash;
  proposer: Uint8Array;
  lastCommitHash: Hash;
  evidenceRoot: Hash;
}
export interface CommitSig {
  validator: Uint8Array;
  signature: Uint8Array;
}
export interface CommitCertificate {
  height: number;
  round: number;
  blockHash: Hash;
  signatures: CommitSig[];
}
export type VoteType = 'prevote' | 'precommit';
/** A consensus vote as signed by a validator (sign bytes: voteSignBytes, tag 'consortia/vote/v1'). */
export interface SignedVote {
  type: VoteType;
  height: number;
  round: number;
  blockHash: Hash | null;
  validator: Uint8Array;
  signature: Uint8Array;
}
export interface Evidence {
  voteA: SignedVote;
  voteB: SignedVote;
}
export interface Block {
  header: BlockHeader;
  txs: Uint8Array[];
  evidence: Evidence[];
  lastCommit: CommitCertificate | null;
}
export interface ValidatorInfo {
  publicKey: Uint8Array;
  power: number;
  memberId: string;
}

const HEADER_VERSION = 1;

export function writeHeader(w: Writer, h: BlockHeader): void {
  w.u8(HEADER_VERSION)
    .string(h.chainId, Limits.chainId)
    .u64(h.height)
    .u64(h.time)
    .fixed(h.prevHash, 32)
    .fixed(h.txRoot, 32)
    .fixed(h.stateRoot, 32)
    .fixed(h.validatorSetHash, 32)
    .fixed(h.proposer, 32)
    .fixed(h.lastCommitHash, 32)
    .fixed(h.evidenceRoot, 32);
}
export function readHeader(r: Reader): BlockHeader {
  if (r.u8() !== HEADER_VERSION) throw new CodecError(ChainCodes.CODEC_INVALID, 'unknown header version');
  return {
    chainId: r.string(Limits.chainId),
    height: r.u64n(),
    time: r.u64n(),
    prevHash: r.fixed(32),
    txRoot: r.fixed(32),
    stateRoot: r.fixed(32),
    validatorSetHash: r.fixed(32),
    proposer: r.fixed(32),
    lastCommitHash: r.fixed(32),
    evidenceRoot: r.fixed(32),
  };
}
export function encodeHeader(h: BlockHeader): Uint8Array {
  const w = new Writer(320);
  writeHeader(w, h);
  return w.finish();
}
export function decodeHeader(b: Uint8Array): BlockHeader {
  const r = new Reader(b);
  const h = readHeader(r);
  r.end();
  return h;
}
export function blockHash(h: BlockHeader): Hash {
  return sha256(encodeHeader(h));
}

// ---- votes ----
function writeOptHash(w: Writer, h: Hash | null): void {
  if (h === null) w.u8(0);
  else w.u8(1).fixed(h, 32);
}
function readOptHash(r: Reader): Hash | null {
  const f = r.bool();
  return f ? r.fixed(32) : null;
}
const VOTE_TYPES: readonly VoteType[] = ['prevote', 'precommit'];

/** Payload a validator signs with tag 'consortia/vote/v1' (nil vote: blockHash null). */
export function voteSignBytes(
  chainId: string,
  type: VoteType,
  height: number,
  round: number,
  blockHash: Hash | null,
): Uint8Array {
  const w = new Writer(128)
    .string(chainId)
    .u8(VOTE_TYPES.indexOf(type) + 1)
    .u64(height)
    .u32(round);
  writeOptHash(w, blockHash);
  return w.finish();
}
export function signVote(
  chainId: string,
  sk: Uint8Array,
  validator: Uint8Array,
  type: VoteType,
  height: number,
  round: number,
  blockHash: Hash | null,
): SignedVote {
  const signature = signDomain(Tags.VOTE, sk, voteSignBytes(chainId, type, height, round, blockHash));
  return { type, height, round, blockHash, validator, signature };
}
export function verifyVote(chainId: string, v: SignedVote): boolean {
  return verifyDomain(
    Tags.VOTE,
    v.validator,
    voteSignBytes(chainId, v.type, v.height, v.round, v.blockHash),
    v.signature,
  );
}
/** Payload a proposer signs with tag 'consortia/proposal/v1'; polRound -1 = none. */
export function proposalSignBytes(
  chainId: string,
  height: number,
  round: number,
  blockHash: Hash,
  polRound: number,
): Uint8Array {
  return new Writer(128)
    .string(chainId)
    .u64(height)
    .u32(round)
    .fixed(blockHash, 32)
    .u32(polRound < 0 ? 0xffffffff : polRound)
    .finish();
}

export function writeSignedVote(w: Writer, v: SignedVote): void {
  const t = VOTE_TYPES.indexOf(v.type);
  if (t < 0) throw new CodecError(ChainCodes.CODEC_INVALID, 'unknown vote type');
  w.u8(t + 1)
    .u64(v.height)
    .u32(v.round);
  writeOptHash(w, v.blockHash);
  w.fixed(v.validator, 32).fixed(v.signature, 64);
}
export function readSignedVote(r: Reader): SignedVote {
  const type = VOTE_TYPES[r.u8() - 1];
  if (type === undefined) throw new CodecError(ChainCodes.CODEC_INVALID, 'unknown vote type');
  return {
    type,
    height: r.u64n(),
    round: r.u32(),
    blockHash: readOptHash(r),
    validator: r.fixed(32),
    signature: r.fixed(64),
  };
}
export function encodeSignedVote(v: SignedVote): Uint8Array {
  const w = new Writer(160);
  writeSignedVote(w, v);
  return w.finish();
}
export function decodeSignedVote(b: Uint8Array): SignedVote {
  const r = new Reader(b);
  const v = readSignedVote(r);
  r.end();
  return v;
}

// ---- evidence ----
export function encodeEvidence(e: Evidence): Uint8Array {
  const w = new Writer(320);
  writeSignedVote(w, e.voteA);
  writeSignedVote(w, e.voteB);
  return w.finish();
}
export function decodeEvidence(b: Uint8Array): Evidence {
  const r = new Reader(b);
  const e = { voteA: readSignedVote(r), voteB: readSignedVote(r) };
  r.end();
  return e;
}
/** Identity of an equivocation: one per (validator, height, round, type). */
export function evidenceId(e: Evidence): Hash {
  const v = e.voteA;
  return sha256(
    new Writer(64).fixed(v.validator, 32).u64(v.height).u32(v.round).u8(VOTE_TYPES.indexOf(v.type)).finish(),
  );
}
/** null when the evidence proves an equivocation by a member of `validators`, else the reason. */
export function checkEvidence(chainId: string, validators: ValidatorInfo[], e: Evidence): string | null {
  const a = e.voteA;
  const b = e.voteB;
  if (!bytesEqual(a.validator, b.validator) || a.height !== b.height || a.round !== b.round || a.type !== b.type) {
    return 'votes are not for the same validator/height/round/type';
  }
  const same =
    a.blockHash === null ? b.blockHash === null : b.blockHash !== null && bytesEqual(a.blockHash, b.blockHash);
  if (same) return 'votes are for the same block';
  if (!validators.some((v) => bytesEqual(v.publicKey, a.validator))) return 'not a validator';
  if (!verifyVote(chainId, a) || !verifyVote(chainId, b)) return 'bad vote signature';
  return null;
}

// ---- commits ----
export function writeCommit(w: Writer, c: CommitCertificate): void {
  const sigs = [...c.signatures].sort((x, y) => compareBytes(x.validator, y.validator));
  w.u64(c.height).u32(c.round).fixed(c.blockHash, 32).u32(sigs.length);
  for (const s of sigs) w.fixed(s.validator, 32).fixed(s.signature, 64);
}
export function readCommit(r: Reader): CommitCertificate {
  const height = r.u64n();
  const round = r.u32();
  const blockHash = r.fixed(32);
  const n = r.count(Limits.maxList);
  const signatures: CommitSig[] = [];
  for (let i = 0; i < n; i++) {
    const s = { validator: r.fixed(32), signature: r.fixed(64) };
    const prev = signatures[i - 1];
    if (prev && compareBytes(prev.validator, s.validator) >= 0) {
      throw new CodecError(ChainCodes.CODEC_NON_CANONICAL, 'commit signatures must be sorted by validator and unique');
    }
    signatures.push(s);
  }
  return { height, round, blockHash, signatures };
}
/** Canonical: signatures sorted by validator key. */
export function encodeCommit(c: CommitCertificate): Uint8Array {
  const w = new Writer(64 + c.signatures.length * 96);
  writeCommit(w, c);
  return w.finish();
}
export function decodeCommit(b: Uint8Array): CommitCertificate {
  const r = new Reader(b);
  const c = readCommit(r);
  r.end();
  return c;
}
export function commitHash(c: CommitCertificate | null): Hash {
  return c === null ? ZERO_HASH : sha256(encodeCommit(c));
}

// ---- blocks ----
export function encodeBlock(b: Block): Uint8Array {
  let size = 512;
  for (const t of b.txs) size += t.length + 4;
  const w = new Writer(size);
  writeHeader(w, b.header);
  w.u32(b.txs.length);
  for (const t of b.txs) w.bytes(t);
  w.u32(b.evidence.length);
  for (const e of b.evidence) {
    writeSignedVote(w, e.voteA);
    writeSignedVote(w, e.voteB);
  }
  if (b.lastCommit === null) w.u8(0);
  else {
    w.u8(1);
    writeCommit(w, b.lastCommit);
  }
  return w.finish();
}
export function decodeBlock(bytes: Uint8Array, maxBytes: number = Limits.maxBlockBytes): Block {
  return decodeBlockFrom(bytes, maxBytes, false);
}

/**
 * decodeBlock whose txs are views into `bytes` instead of a copy each (a validator decodes every
 * proposal it receives): only for bytes the caller owns and never mutates.
 */
export function decodeBlockShared(bytes: Uint8Array): Block {
  return decodeBlockFrom(bytes, Limits.maxBlockBytes, true);
}

function decodeBlockFrom(bytes: Uint8Array, maxBytes: number, alias: boolean): Block {
  if (bytes.length > maxBytes)
    throw new CodecError(ChainCodes.CODEC_OVERSIZE, `block of ${bytes.length} bytes exceeds ${maxBytes}`);
  const r = new Reader(bytes);
  const header = readHeader(r);
  const n = r.count(Limits.maxBlockTxs);
  const txs: Uint8Array[] = new Array(n);
  for (let i = 0; i < n; i++) txs[i] = alias ? r.bytesView(Limits.maxTxBytes) : r.bytes(Limits.maxTxBytes);
  const ne = r.count(Limits.maxList);
  const evidence: Evidence[] = [];
  for (let i = 0; i < ne; i++) evidence.push({ voteA: readSignedVote(r), voteB: readSignedVote(r) });
  const lastCommit = r.bool() ? readCommit(r) : null;
  r.end();
  return { header, txs, evidence, lastCommit };
}

/** Header roots a block body must match: txRoot, evidenceRoot, lastCommitHash. */
export function computeBodyRoots(b: Pick<Block, 'txs' | 'evidence' | 'lastCommit'>): {
  txRoot: Hash;
  evidenceRoot: Hash;
  lastCommitHash: Hash;
} {
  return {
    txRoot: merkleRoot(b.txs),
    evidenceRoot: merkleRoot(b.evidence.map(encodeEvidence)),
    lastCommitHash: commitHash(b.lastCommit),
  };
}
/** Throws BLOCK_INVALID when the body does not match the header's roots. */
export function checkBlockBody(b: Block): void {
  const r = computeBodyRoots(b);
  if (!bytesEqual(r.txRoot, b.header.txRoot)) throw new ConsortiaError(ChainCodes.BLOCK_INVALID, 'txRoot mismatch');
  if (!bytesEqual(r.evidenceRoot, b.header.evidenceRoot))
    throw new ConsortiaError(ChainCodes.BLOCK_INVALID, 'evidenceRoot mismatch');
  if (!bytesEqual(r.lastCommitHash, b.header.lastCommitHash))
    throw new ConsortiaError(ChainCodes.BLOCK_INVALID, 'lastCommitHash mismatch');
}

// ---- validator sets ----
export function sortValidators(vs: ValidatorInfo[]): ValidatorInfo[] {
  return [...vs].sort((a, b) => compareBytes(a.publicKey, b.publicKey));
}
/** Hash of the set sorted by public key (order-independent). */
export function validatorSetHash(vs: ValidatorInfo[]): Hash {
  const w = new Writer(64 + vs.length * 96).u32(vs.length);
  for (const v of sortValidators(vs)) w.fixed(v.publicKey, 32).u64(v.power).string(v.memberId);
  return sha256(w.finish());
}
export function totalPower(vs: ValidatorInfo[]): number {
  return vs.reduce((s, v) => s + v.power, 0);
}
/** Strictly more than 2/3 of total power (integer arithmetic). */
export function hasQuorum(power: number, total: number): boolean {
  return power * 3 > total * 2;
}

/** Throws COMMIT_* unless `cert` carries valid precommits from > 2/3 of the validators' power. */
export function verifyCommit(chainId: string, validators: ValidatorInfo[], cert: CommitCertificate): void {
  const byKey = new Map<string, ValidatorInfo>();
  for (const v of validators) byKey.set(toHex(v.publicKey), v);
  const msg = voteSignBytes(chainId, 'precommit', cert.height, cert.round, cert.blockHash);
  const seen = new Set<string>();
  let power = 0;
  for (const s of cert.signatures) {
    const k = toHex(s.validator);
    const v = byKey.get(k);
    if (!v)
      throw new ConsortiaError(ChainCodes.COMMIT_UNKNOWN_VALIDATOR, 'commit signed by a non-validator', {
        validator: k,
      });
    if (seen.has(k))
      throw new ConsortiaError(ChainCodes.COMMIT_DUPLICATE_SIGNATURE, 'duplicate commit signature', { validator: k });
    seen.add(k);
    if (!verifyDomain(Tags.VOTE, s.validator, msg, s.signature)) {
      throw new ConsortiaError(ChainCodes.COMMIT_BAD_SIGNATURE, 'invalid precommit signature', { validator: k });
    }
    power += v.power;
  }
  const total = totalPower(validators);
  if (!hasQuorum(power, total)) {
    throw new ConsortiaError(ChainCodes.COMMIT_INSUFFICIENT_POWER, 'commit lacks > 2/3 of voting power', {
      power,
      total,
    });
  }
}
