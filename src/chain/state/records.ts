import { Reader, Writer, Limits } from '../codec.js';
import { CodecError, ChainCodes } from '../errors.js';
import { toHex, type Hash } from '../bytes.js';
import { NODE_ROLES, type NodeRole } from '../params.js';
import { accountKeyOfHex, balanceKey, keysOf } from './pk-keys.js';

/** State keys (strings; hex for bytes). Asset ids never contain '/'. */
export const StateKeys = {
  chain: 'chain',
  params: 'params',
  /** validatorSetHash of the set that signs the NEXT block: lets light clients follow validator-set changes by proof. */
  valset: 'valset',
  account: (pk: Uint8Array): string => keysOf(pk).account,
  /** The account key from a signer's lowercase hex (the mempool indexes signers by hex). */
  accountOfHex: accountKeyOfHex,
  balance: (pk: Uint8Array, asset: string): string => balanceKey(keysOf(pk), asset),
  balancePrefix: (pk: Uint8Array): string => 'bal/' + keysOf(pk).hex + '/',
  asset: (id: string): string => 'asset/' + id,
  anchor: (hash: Uint8Array): string => 'anchor/' + toHex(hash),
  member: (id: string): string => 'member/' + id,
  validator: (pk: Uint8Array): string => 'validator/' + toHex(pk),
  node: (pk: Uint8Array): string => 'node/' + toHex(pk),
  gov: (proposalId: string): string => 'gov/' + proposalId,
  evidence: (id: Uint8Array): string => 'evidence/' + toHex(id),
  /** An admin key replaced by replace_admin_keys: never valid again, for any member. */
  retiredKey: (pk: Uint8Array): string => 'retired/' + toHex(pk),
} as const;

function dec<T>(b: Uint8Array, f: (r: Reader) => T): T {
  const r = new Reader(b);
  const v = f(r);
  r.end();
  return v;
}

export interface ChainRecord {
  chainId: string;
  genesisHash: Hash;
}
export const encodeChainRecord = (c: ChainRecord): Uint8Array =>
  new Writer(96).string(c.chainId).fixed(c.genesisHash, 32).finish();
export const decodeChainRecord = (b: Uint8Array): ChainRecord =>
  dec(b, (r) => ({ chainId: r.string(Limits.chainId), genesisHash: r.fixed(32) }));

export interface AccountRecord {
  nonce: number;
}
// Accounts and balances are read and written by every transfer (admission and execution): plain
// 8-byte big-endian fast paths, same bytes and same errors as the Writer/Reader forms. They touch
// the bytes one by one, never `.buffer` / a DataView: an 8-byte Uint8Array lives on the JS heap
// until something asks for its ArrayBuffer, which then costs a malloc'd backing store per value.
function u64Words(b: Uint8Array): [hi: number, lo: number] {
  if (b.length < 8) throw new CodecError(ChainCodes.CODEC_TRUNCATED, `truncated input: need 8 bytes at offset 0`);
  if (b.length > 8) throw new CodecError(ChainCodes.CODEC_TRAILING_BYTES, `${b.length - 8} trailing bytes`);
  return [
    ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0,
    ((b[4]! << 24) | (b[5]! << 16) | (b[6]! << 8) | b[7]!) >>> 0,
  ];
}
function u64Bytes(hi: number, lo: number): Uint8Array {
  const out = new Uint8Array(8);
  out[0] = hi >>> 24;
  out[1] = hi >>> 16;
  out[2] = hi >>> 8;
  out[3] = hi;
  out[4] = lo >>> 24;
  out[5] = lo >>> 16;
  out[6] = lo >>> 8;
  out[7] = lo;
  return out;
}
export function encodeAccount(a: AccountRecord): Uint8Array {
  if (!Number.isSafeInteger(a.nonce) || a.nonce < 0)
    throw new CodecError(ChainCodes.CODEC_RANGE, `u64 out of range: ${a.nonce}`);
  return u64Bytes(Math.floor(a.nonce / 0x100000000), a.nonce >>> 0);
}
export function decodeAccount(b: Uint8Array): AccountRecord {
  const [hi, lo] = u64Words(b);
  if (hi > 0x1fffff) throw new CodecError(ChainCodes.CODEC_RANGE, 'integer exceeds 2^53-1');
  return { nonce: hi * 0x100000000 + lo };
}

export function encodeAmount(v: bigint): Uint8Array {
  if (v < 0n || v > 0xffffffffffffffffn) throw new CodecError(ChainCodes.CODEC_RANGE, `u64 out of range: ${v}`);
  return u64Bytes(Number(v >> 32n), Number(v & 0xffffffffn));
}
export function decodeAmount(b: Uint8Array): bigint {
  const [hi, lo] = u64Words(b);
  return hi <= 0x1fffff ? BigInt(hi * 0x100000000 + lo) : (BigInt(hi) << 32n) | BigInt(lo); // one BigInt below 2^53
}

/**
 * issuer is 32 zero bytes for assets created by genesis balances (no issuer). An asset declared by
 * create_asset also carries its ledger: everything ever issued and burned (redeemed), so that
 * supply = issued - burned. Assets created implicitly by a first issue_asset keep the original
 * 40-byte form (no ledger): their records, and so the state roots of existing chains, are unchanged.
 */
export interface AssetRecord {
  issuer: Uint8Array;
  supply: bigint;
  ledger?: { issued: bigint; burned: bigint };
}
export const encodeAsset = (a: AssetRecord): Uint8Array => {
  const w = new Writer(64).fixed(a.issuer, 32).u64(a.supply);
  if (a.ledger !== undefined) w.u64(a.ledger.issued).u64(a.ledger.burned);
  return w.finish();
};
export const decodeAsset = (b: Uint8Array): AssetRecord =>
  dec(b, (r) => {
    const issuer = r.fixed(32);
    const supply = r.u64();
    if (r.remaining === 0) return { issuer, supply };
    return { issuer, supply, ledger: { issued: r.u64(), burned: r.u64() } };
  });

export interface AnchorRecord {
  submitter: Uint8Array;
  metadata: string;
  height: number;
  txHash: Hash;
}
export const encodeAnchor = (a: AnchorRecord): Uint8Array =>
  new Writer(128).fixed(a.submitter, 32).string(a.metadata).u64(a.height).fixed(a.txHash, 32).finish();
export const decodeAnchor = (b: Uint8Array): AnchorRecord =>
  dec(b, (r) => ({
    submitter: r.fixed(32),
    metadata: r.string(Limits.metadata),
    height: r.u64n(),
    txHash: r.fixed(32),
  }));

export interface MemberRecord {
  memberId: string;
  name: string;
  adminKeys: Uint8Array[];
}
export const encodeMember = (m: MemberRecord): Uint8Array => {
  const w = new Writer(128).string(m.memberId).string(m.name).u32(m.adminKeys.length);
  for (const k of m.adminKeys) w.fixed(k, 32);
  return w.finish();
};
export const decodeMember = (b: Uint8Array): MemberRecord =>
  dec(b, (r) => {
    const memberId = r.string(Limits.id);
    const name = r.string(Limits.id);
    const adminKeys: Uint8Array[] = [];
    for (let i = 0, n = r.count(Limits.maxList); i < n; i++) adminKeys.push(r.fixed(32));
    return { memberId, name, adminKeys };
  });

export interface ValidatorRecord {
  memberId: string;
  power: number;
}
export const encodeValidator = (v: ValidatorRecord): Uint8Array =>
  new Writer(64).string(v.memberId).u64(v.power).finish();
export const decodeValidator = (b: Uint8Array): ValidatorRecord =>
  dec(b, (r) => ({ memberId: r.string(Limits.id), power: r.u64n() }));

export interface NodeRecord {
  memberId: string;
  role: NodeRole;
}
export const encodeNode = (n: NodeRecord): Uint8Array =>
  new Writer(64).string(n.memberId).u8(NODE_ROLES.indexOf(n.role)).finish();
export const decodeNode = (b: Uint8Array): NodeRecord =>
  dec(b, (r) => {
    const memberId = r.string(Limits.id);
    const role = NODE_ROLES[r.u8()];
    if (role === undefined) throw new CodecError(ChainCodes.CODEC_INVALID, 'bad node role');
    return { memberId, role };
  });

export interface GovRecord {
  height: number;
  actionHash: Hash;
  txHash: Hash;
}
export const encodeGov = (g: GovRecord): Uint8Array =>
  new Writer(80).u64(g.height).fixed(g.actionHash, 32).fixed(g.txHash, 32).finish();
export const decodeGov = (b: Uint8Array): GovRecord =>
  dec(b, (r) => ({ height: r.u64n(), actionHash: r.fixed(32), txHash: r.fixed(32) }));

/** Whose admin key it was and the height from which it no longer signs for that member. */
export interface RetiredKeyRecord {
  memberId: string;
  height: number;
}
export const encodeRetiredKey = (k: RetiredKeyRecord): Uint8Array =>
  new Writer(64).string(k.memberId).u64(k.height).finish();
export const decodeRetiredKey = (b: Uint8Array): RetiredKeyRecord =>
  dec(b, (r) => ({ memberId: r.string(Limits.id), height: r.u64n() }));

export interface EvidenceRecord {
  height: number;
  evidence: Uint8Array /* encodeEvidence */;
}
export const encodeEvidenceRecord = (e: EvidenceRecord): Uint8Array =>
  new Writer(400).u64(e.height).bytes(e.evidence).finish();
export const decodeEvidenceRecord = (b: Uint8Array): EvidenceRecord =>
  dec(b, (r) => ({ height: r.u64n(), evidence: r.bytes(4096) }));
