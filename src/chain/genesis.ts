import { Reader, Writer, Limits } from './codec.js';
import { CodecError, ChainCodes } from './errors.js';
import { ConsortiaError } from '../lib/errors.js';
import { bytesEqual, fromHex, sha256, toHex, type Hash } from './bytes.js';
import { Tags, signDomain, verifyDomain, verifyProofOfPossession } from './keys.js';
import {
  NODE_ROLES,
  readParams,
  validateParams,
  writeParams,
  type ChainParams,
  type NodeRole,
  type VotingPolicy,
} from './params.js';
import { ASSET_ID_RE } from './tx.js';

export type { ChainParams, VotingPolicy, NodeRole } from './params.js';

export interface GenesisMember {
  memberId: string;
  name: string;
  adminKeys: Uint8Array[];
}
export interface GenesisValidator {
  memberId: string;
  publicKey: Uint8Array;
  power: number;
  proofOfPossession: Uint8Array;
}
export interface GenesisNode {
  memberId: string;
  publicKey: Uint8Array;
  role: NodeRole;
}
export interface GenesisAccount {
  publicKey: Uint8Array;
  balances: { asset: string; amount: bigint }[];
}
export interface Genesis {
  chainId: string;
  genesisTime: number; // ms
  params: ChainParams;
  members: GenesisMember[];
  validators: GenesisValidator[];
  nodes: GenesisNode[]; // P2P registry (validators included)
  accounts: GenesisAccount[];
}
export interface GenesisApproval {
  memberId: string;
  adminKey: Uint8Array;
  signature: Uint8Array;
}
export interface SealedGenesis {
  genesis: Genesis;
  approvals: GenesisApproval[];
}

const GENESIS_VERSION = 1;

export function encodeGenesis(g: Genesis): Uint8Array {
  const w = new Writer(1024);
  w.u8(GENESIS_VERSION).string(g.chainId).u64(g.genesisTime);
  writeParams(w, g.params);
  w.u32(g.members.length);
  for (const m of g.members) {
    w.string(m.memberId).string(m.name).u32(m.adminKeys.length);
    for (const k of m.adminKeys) w.fixed(k, 32);
  }
  w.u32(g.validators.length);
  for (const v of g.validators) w.string(v.memberId).fixed(v.publicKey, 32).u64(v.power).fixed(v.proofOfPossession, 64);
  w.u32(g.nodes.length);
  for (const n of g.nodes) {
    const role = NODE_ROLES.indexOf(n.role);
    if (role < 0) throw new CodecError(ChainCodes.CODEC_INVALID, 'unknown node role');
    w.string(n.memberId).fixed(n.publicKey, 32).u8(role);
  }
  w.u32(g.accounts.length);
  for (const a of g.accounts) {
    w.fixed(a.publicKey, 32).u32(a.balances.length);
    for (const b of a.balances) w.string(b.asset).u64(b.amount);
  }
  return w.finish();
}

export function decodeGenesis(b: Uint8Array): Genesis {
  const r = new Reader(b);
  if (r.u8() !== GENESIS_VERSION) throw new CodecError(ChainCodes.CODEC_INVALID, 'unknown genesis version');
  const chainId = r.string(Limits.chainId);
  const genesisTime = r.u64n();
  const params = readParams(r);
  const members: GenesisMember[] = [];
  for (let i = 0, n = r.count(Limits.maxList); i < n; i++) {
    const memberId = r.string(Limits.id);
    const name = r.string(Limits.id);
    const adminKeys: Uint8Array[] = [];
    for (let j = 0, k = r.count(Limits.maxList); j < k; j++) adminKeys.push(r.fixed(32));
    members.push({ memberId, name, adminKeys });
  }
  const validators: GenesisValidator[] = [];
  for (let i = 0, n = r.count(Limits.maxList); i < n; i++) {
    validators.push({
      memberId: r.string(Limits.id),
      publicKey: r.fixed(32),
      power: r.u64n(),
      proofOfPossession: r.fixed(64),
    });
  }
  const nodes: GenesisNode[] = [];
  for (let i = 0, n = r.count(Limits.maxList * 16); i < n; i++) {
    const memberId = r.string(Limits.id);
    const publicKey = r.fixed(32);
    const role = NODE_ROLES[r.u8()];
    if (role === undefined) throw new CodecError(ChainCodes.CODEC_INVALID, 'unknown node role');
    nodes.push({ memberId, publicKey, role });
  }
  const accounts: GenesisAccount[] = [];
  for (let i = 0, n = r.count(1_000_000); i < n; i++) {
    const publicKey = r.fixed(32);
    const balances: { asset: string; amount: bigint }[] = [];
    for (let j = 0, k = r.count(Limits.maxList); j < k; j++) balances.push({ asset: r.string(64), amount: r.u64() });
    accounts.push({ publicKey, balances });
  }
  r.end();
  return { chainId, genesisTime, params, members, validators, nodes, accounts };
}

export function genesisHash(g: Genesis): Hash {
  return sha256(encodeGenesis(g));
}

/** What a founding member's admin key signs (tag genesis-approval): the genesis hash. */
export function signGenesisApproval(
  g: Genesis | Hash,
  memberId: string,
  adminSecretKey: Uint8Array,
  adminKey: Uint8Array,
): GenesisApproval {
  const h = g instanceof Uint8Array ? g : genesisHash(g);
  return { memberId, adminKey, signature: signDomain(Tags.GENESIS_APPROVAL, adminSecretKey, h) };
}

function invalid(message: string, details?: Record<string, unknown>): never {
  throw new ConsortiaError(ChainCodes.GENESIS_INVALID, message, details);
}

/** Structural checks (unique ids/keys, references, params); throws GENESIS_INVALID. */
export function validateGenesis(g: Genesis): void {
  if (typeof g.chainId !== 'string' || g.chainId.length === 0 || Buffer.byteLength(g.chainId) > Limits.chainId)
    invalid('bad chainId');
  if (!Number.isSafeInteger(g.genesisTime) || g.genesisTime < 0) invalid('bad genesisTime');
  const pr = validateParams(g.params);
  if (pr) invalid(`bad params: ${pr}`);
  if (g.members.length === 0) invalid('genesis needs at least one member');
  const members = new Map<string, GenesisMember>();
  for (const m of g.members) {
    if (!m.memberId || members.has(m.memberId)) invalid('duplicate or empty memberId', { memberId: m.memberId });
    if (m.adminKeys.length === 0) invalid('member without admin keys', { memberId: m.memberId });
    const ks = new Set(m.adminKeys.map(toHex));
    if (ks.size !== m.adminKeys.length) invalid('duplicate admin key', { memberId: m.memberId });
    members.set(m.memberId, m);
  }
  if (g.validators.length === 0) invalid('genesis needs at least one validator');
  const vals = new Set<string>();
  for (const v of g.validators) {
    const k = toHex(v.publicKey);
    if (vals.has(k)) invalid('duplicate validator', { publicKey: k });
    if (!members.has(v.memberId)) invalid('validator of unknown member', { memberId: v.memberId });
    if (!Number.isSafeInteger(v.power) || v.power < 1) invalid('validator power must be >= 1', { publicKey: k });
    vals.add(k);
  }
  const nodes = new Set<string>();
  for (const n of g.nodes) {
    const k = toHex(n.publicKey);
    if (nodes.has(k)) invalid('duplicate node', { publicKey: k });
    if (!members.has(n.memberId)) invalid('node of unknown member', { memberId: n.memberId });
    nodes.add(k);
  }
  const accts = new Set<string>();
  for (const a of g.accounts) {
    const k = toHex(a.publicKey);
    if (accts.has(k)) invalid('duplicate account', { publicKey: k });
    accts.add(k);
    const assets = new Set<string>();
    for (const b of a.balances) {
      if (!ASSET_ID_RE.test(b.asset) || assets.has(b.asset)) invalid('bad or duplicate asset id', { asset: b.asset });
      if (typeof b.amount !== 'bigint' || b.amount <= 0n || b.amount > 0xffffffffffffffffn)
        invalid('bad balance amount');
      assets.add(b.asset);
    }
  }
}

/**
 * A node refuses a genesis unless: it is structurally valid, every validator's proof of
 * possession verifies, and every member approved the genesis hash with one of its admin keys.
 */
export function verifySealedGenesis(s: SealedGenesis): void {
  const g = s.genesis;
  validateGenesis(g);
  for (const v of g.validators) {
    if (!verifyProofOfPossession(g.chainId, v.publicKey, v.proofOfPossession)) {
      throw new ConsortiaError(ChainCodes.GENESIS_BAD_POP, 'invalid validator proof of possession', {
        publicKey: toHex(v.publicKey),
      });
    }
  }
  const h = genesisHash(g);
  const approved = new Set<string>();
  for (const a of s.approvals) {
    const m = g.members.find((x) => x.memberId === a.memberId);
    if (!m?.adminKeys.some((k) => bytesEqual(k, a.adminKey))) {
      throw new ConsortiaError(
        ChainCodes.GENESIS_BAD_APPROVAL,
        'approval by a key that is not an admin key of that member',
        { memberId: a.memberId },
      );
    }
    if (!verifyDomain(Tags.GENESIS_APPROVAL, a.adminKey, h, a.signature)) {
      throw new ConsortiaError(ChainCodes.GENESIS_BAD_APPROVAL, 'invalid approval signature', { memberId: a.memberId });
    }
    approved.add(a.memberId);
  }
  for (const m of g.members) {
    if (!approved.has(m.memberId)) {
      throw new ConsortiaError(
        ChainCodes.GENESIS_MISSING_APPROVAL,
        `member ${m.memberId} has not approved the genesis`,
        { memberId: m.memberId },
      );
    }
  }
}

// ---- JSON forms (bytes as lowercase hex, amounts as decimal strings) ----

export function genesisToJSON(g: Genesis): Record<string, unknown> {
  return {
    chainId: g.chainId,
    genesisTime: g.genesisTime,
    params: { ...g.params, votingPolicy: { ...g.params.votingPolicy } },
    members: g.members.map((m) => ({ memberId: m.memberId, name: m.name, adminKeys: m.adminKeys.map(toHex) })),
    validators: g.validators.map((v) => ({
      memberId: v.memberId,
      publicKey: toHex(v.publicKey),
      power: v.power,
      proofOfPossession: toHex(v.proofOfPossession),
    })),
    nodes: g.nodes.map((n) => ({ memberId: n.memberId, publicKey: toHex(n.publicKey), role: n.role })),
    accounts: g.accounts.map((a) => ({
      publicKey: toHex(a.publicKey),
      balances: a.balances.map((b) => ({ asset: b.asset, amount: b.amount.toString() })),
    })),
  };
}

export function sealedGenesisToJSON(s: SealedGenesis): Record<string, unknown> {
  return {
    genesis: genesisToJSON(s.genesis),
    approvals: s.approvals.map((a) => ({
      memberId: a.memberId,
      adminKey: toHex(a.adminKey),
      signature: toHex(a.signature),
    })),
  };
}

type J = Record<string, unknown>;
function obj(x: unknown, what: string): J {
  if (x === null || typeof x !== 'object' || Array.isArray(x)) invalid(`${what} must be an object`);
  return x as J;
}
function arr(x: unknown, what: string): unknown[] {
  if (!Array.isArray(x)) invalid(`${what} must be an array`);
  return x;
}
function str(x: unknown, what: string): string {
  if (typeof x !== 'string') invalid(`${what} must be a string`);
  return x;
}
function int(x: unknown, what: string): number {
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) invalid(`${what} must be a non-negative integer`);
  return x;
}
function hex(x: unknown, len: number, what: string): Uint8Array {
  try {
    return fromHex(str(x, what), len);
  } catch {
    invalid(`${what} must be ${len} bytes of lowercase hex`);
  }
}
function amount(x: unknown, what: string): bigint {
  const s = str(x, what);
  if (!/^(0|[1-9][0-9]{0,19})$/.test(s)) invalid(`${what} must be a decimal string`);
  return BigInt(s);
}
const ROLES = new Set<string>(NODE_ROLES);

export function genesisFromJSON(j: unknown): Genesis {
  const o = obj(j, 'genesis');
  const p = obj(o.params, 'params');
  const vp = obj(p.votingPolicy, 'params.votingPolicy');
  const cmp = str(vp.thresholdComparator, 'thresholdComparator');
  if (cmp !== 'GREATER_THAN' && cmp !== 'GREATER_THAN_OR_EQUAL_TO') invalid('bad thresholdComparator');
  const votingPolicy: VotingPolicy = {
    thresholdPercentage: int(vp.thresholdPercentage, 'thresholdPercentage'),
    thresholdComparator: cmp,
    proposalDurationSeconds: int(vp.proposalDurationSeconds, 'proposalDurationSeconds'),
  };
  const params: ChainParams = {
    blockIntervalMs: int(p.blockIntervalMs, 'blockIntervalMs'),
    maxBlockBytes: int(p.maxBlockBytes, 'maxBlockBytes'),
    maxTxBytes: int(p.maxTxBytes, 'maxTxBytes'),
    maxBlockTxs: int(p.maxBlockTxs, 'maxBlockTxs'),
    votingPolicy,
  };
  const g: Genesis = {
    chainId: str(o.chainId, 'chainId'),
    genesisTime: int(o.genesisTime, 'genesisTime'),
    params,
    members: arr(o.members, 'members').map((x, i) => {
      const m = obj(x, `members[${i}]`);
      return {
        memberId: str(m.memberId, 'memberId'),
        name: str(m.name, 'name'),
        adminKeys: arr(m.adminKeys, 'adminKeys').map((k) => hex(k, 32, 'adminKey')),
      };
    }),
    validators: arr(o.validators, 'validators').map((x, i) => {
      const v = obj(x, `validators[${i}]`);
      return {
        memberId: str(v.memberId, 'memberId'),
        publicKey: hex(v.publicKey, 32, 'publicKey'),
        power: int(v.power, 'power'),
        proofOfPossession: hex(v.proofOfPossession, 64, 'proofOfPossession'),
      };
    }),
    nodes: arr(o.nodes ?? [], 'nodes').map((x, i) => {
      const n = obj(x, `nodes[${i}]`);
      const role = str(n.role, 'role');
      if (!ROLES.has(role)) invalid('bad node role');
      return {
        memberId: str(n.memberId, 'memberId'),
        publicKey: hex(n.publicKey, 32, 'publicKey'),
        role: role as NodeRole,
      };
    }),
    accounts: arr(o.accounts ?? [], 'accounts').map((x, i) => {
      const a = obj(x, `accounts[${i}]`);
      return {
        publicKey: hex(a.publicKey, 32, 'publicKey'),
        balances: arr(a.balances ?? [], 'balances').map((y) => {
          const b = obj(y, 'balance');
          return { asset: str(b.asset, 'asset'), amount: amount(b.amount, 'amount') };
        }),
      };
    }),
  };
  return g;
}

export function sealedGenesisFromJSON(j: unknown): SealedGenesis {
  const o = obj(j, 'sealed genesis');
  return {
    genesis: genesisFromJSON(o.genesis),
    approvals: arr(o.approvals, 'approvals').map((x, i) => {
      const a = obj(x, `approvals[${i}]`);
      return {
        memberId: str(a.memberId, 'memberId'),
        adminKey: hex(a.adminKey, 32, 'adminKey'),
        signature: hex(a.signature, 64, 'signature'),
      };
    }),
  };
}
