import { Reader, Writer } from './codec.js';
import { CodecError, ChainCodes } from './errors.js';

export type NodeRole = 'validator' | 'super' | 'ordinary' | 'light';
export const NODE_ROLES: readonly NodeRole[] = ['validator', 'super', 'ordinary', 'light'];

export type ThresholdComparator = 'GREATER_THAN' | 'GREATER_THAN_OR_EQUAL_TO';
export interface VotingPolicy {
  thresholdPercentage: number; // integer 0..100
  thresholdComparator: ThresholdComparator;
  proposalDurationSeconds: number;
}
export interface ChainParams {
  blockIntervalMs: number;
  maxBlockBytes: number;
  maxTxBytes: number;
  maxBlockTxs: number;
  votingPolicy: VotingPolicy;
}

export const DEFAULT_PARAMS: ChainParams = {
  blockIntervalMs: 1000,
  maxBlockBytes: 8 * 1024 * 1024,
  maxTxBytes: 64 * 1024,
  maxBlockTxs: 10_000,
  votingPolicy: { thresholdPercentage: 50, thresholdComparator: 'GREATER_THAN', proposalDurationSeconds: 86_400 },
};

/** Whether `yes` votes out of `members` pass the policy (shared by the control plane and the chain). */
export function tallyPasses(policy: VotingPolicy, yes: number, members: number): boolean {
  if (members <= 0 || yes < 0) return false;
  // integer arithmetic: yes/members vs pct/100
  const lhs = yes * 100;
  const rhs = policy.thresholdPercentage * members;
  return policy.thresholdComparator === 'GREATER_THAN' ? lhs > rhs : lhs >= rhs;
}

function isU32(n: unknown, min = 0): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= min && n <= 0xffffffff;
}

export function validateVotingPolicy(v: VotingPolicy): string | null {
  if (!v || typeof v !== 'object') return 'votingPolicy must be an object';
  if (!Number.isInteger(v.thresholdPercentage) || v.thresholdPercentage < 0 || v.thresholdPercentage > 100)
    return 'thresholdPercentage must be an integer 0..100';
  if (v.thresholdComparator !== 'GREATER_THAN' && v.thresholdComparator !== 'GREATER_THAN_OR_EQUAL_TO')
    return 'thresholdComparator must be GREATER_THAN or GREATER_THAN_OR_EQUAL_TO';
  if (!isU32(v.proposalDurationSeconds, 1)) return 'proposalDurationSeconds must be a positive integer';
  return null;
}

/** null when valid, else a reason. */
export function validateParams(p: ChainParams): string | null {
  if (!p || typeof p !== 'object') return 'params must be an object';
  if (!isU32(p.blockIntervalMs, 1)) return 'blockIntervalMs must be a positive integer';
  if (!isU32(p.maxBlockBytes, 1024)) return 'maxBlockBytes must be >= 1024';
  if (!isU32(p.maxTxBytes, 256) || p.maxTxBytes > p.maxBlockBytes) return 'maxTxBytes must be in 256..maxBlockBytes';
  if (!isU32(p.maxBlockTxs, 1)) return 'maxBlockTxs must be a positive integer';
  return validateVotingPolicy(p.votingPolicy);
}

function writePolicy(w: Writer, v: VotingPolicy): void {
  w.u8(v.thresholdPercentage)
    .u8(v.thresholdComparator === 'GREATER_THAN' ? 0 : 1)
    .u32(v.proposalDurationSeconds);
}
function readPolicy(r: Reader): VotingPolicy {
  const thresholdPercentage = r.u8();
  if (thresholdPercentage > 100) throw new CodecError(ChainCodes.CODEC_INVALID, 'thresholdPercentage > 100');
  const c = r.u8();
  if (c > 1) throw new CodecError(ChainCodes.CODEC_INVALID, 'bad threshold comparator');
  return {
    thresholdPercentage,
    thresholdComparator: c === 0 ? 'GREATER_THAN' : 'GREATER_THAN_OR_EQUAL_TO',
    proposalDurationSeconds: r.u32(),
  };
}

export function writeParams(w: Writer, p: ChainParams): void {
  w.u32(p.blockIntervalMs).u32(p.maxBlockBytes).u32(p.maxTxBytes).u32(p.maxBlockTxs);
  writePolicy(w, p.votingPolicy);
}
export function readParams(r: Reader): ChainParams {
  return {
    blockIntervalMs: r.u32(),
    maxBlockBytes: r.u32(),
    maxTxBytes: r.u32(),
    maxBlockTxs: r.u32(),
    votingPolicy: readPolicy(r),
  };
}
export function encodeParams(p: ChainParams): Uint8Array {
  const w = new Writer(32);
  writeParams(w, p);
  return w.finish();
}
export function decodeParams(b: Uint8Array): ChainParams {
  const r = new Reader(b);
  const p = readParams(r);
  r.end();
  return p;
}

const PARTIAL_FIELDS = ['blockIntervalMs', 'maxBlockBytes', 'maxTxBytes', 'maxBlockTxs'] as const;

/** Partial params: a presence bitmask (bit i = field i, bit 4 = votingPolicy) then present fields in order. */
export function writePartialParams(w: Writer, p: Partial<ChainParams>): void {
  let mask = 0;
  PARTIAL_FIELDS.forEach((f, i) => {
    if (p[f] !== undefined) mask |= 1 << i;
  });
  if (p.votingPolicy !== undefined) mask |= 1 << 4;
  w.u8(mask);
  for (const f of PARTIAL_FIELDS) if (p[f] !== undefined) w.u32(p[f]);
  if (p.votingPolicy !== undefined) writePolicy(w, p.votingPolicy);
}
export function readPartialParams(r: Reader): Partial<ChainParams> {
  const mask = r.u8();
  if (mask & 0xe0) throw new CodecError(ChainCodes.CODEC_NON_CANONICAL, 'unknown params bits set');
  const out: Partial<ChainParams> = {};
  PARTIAL_FIELDS.forEach((f, i) => {
    if (mask & (1 << i)) out[f] = r.u32();
  });
  if (mask & (1 << 4)) out.votingPolicy = readPolicy(r);
  return out;
}

export function paramsToJSON(p: ChainParams): ChainParams {
  return { ...p, votingPolicy: { ...p.votingPolicy } };
}
