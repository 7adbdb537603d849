import { Reader, Writer, Limits } from '../codec.js';
import { CodecError, ChainCodes } from '../errors.js';
import { toHex, type Hash } from '../bytes.js';
import { NODE_ROLES, type NodeRole } from '../params.js';
import { balanceKey, keysOf } from './pk-keys.js';

/** State keys (strings; hex for bytes). Asset ids never contain '/'. */
export const StateKeys = {
  chain: 'chain',
  params: 'params',
  /** validatorSetHash of the set that signs the NEXT block: lets light clients follow validator-set changes by proof. */
  valset: 'valset',
  account: (pk: Uint8Array): string => keysOf(pk).account,
  /** The account key from a signer's lowercase hex (the mempool indexes signers by hex). */
  accountOfHex: (hex: string): string => 'acct/' + hex,
  balance: (pk: Uint8Array, asset: string): string => balanceKey(keysOf(pk), asset),
  balancePrefix: (pk: Uint8Array): string => 'bal/' + keysOf(pk).hex + '/',
  asset: (id: string): string => 'asset/' + id,
  anchor: (hash: Uint8Array): string => 'anchor/' + toHex(hash),
  member: (id: string): string => 'member/' + id,
  validator: (pk: Uint8Array): string => 'validator/' + toHex(pk),
  node: (pk: Uint8Array): string => 'node/' + toHex(pk),
  gov: (proposalId: string): string => 'gov/' + proposalId,
  evidence: (id: Uint8Array): string => 'evidence/' + toHex(id),
} as const;

function dec<T>(b: Uint8Array, f: (r: Reader) => T): T {
  const r = new Reader(b);
  const v = f(r);
  r.end();
  return v;
}

export interface ChainRecord { chainId: string; genesisHash: Hash }
export const encodeChainRecord = (c: ChainRecord): Uint8Array => new Writer(96).string(c.chainId).fixed(c.genesisHash, 32).finish();
export const decodeChainRecord = (b: Uint8Array): ChainRecord => dec(b, (r) => ({ chainId: r.string(Limits.chainId), genesisHash: r.fixed(32) }));

export interface AccountRecord { nonce: number }
// Accounts and balances are read and written by every transfer (admission and execution): plain
// 8-byte big-endian fast paths, same bytes and same errors as the Writer/Reader forms.
function u64Record(b: Uint8Array): DataView {
  if (b.length < 8) throw new CodecError(ChainCodes.CODEC_TRUNCATED, `truncated input: need 8 bytes at offset 0`);
  if (b.length > 8) throw new CodecError(ChainCodes.CODEC_TRAILING_BYTES, `${b.length - 8} trailing bytes`);
  return new DataView(b.buffer, b.byteOffset, 8);
}
export function encodeAccount(a: AccountRecord): Uint8Array {
  if (!Number.isSafeInteger(a.nonce) || a.nonce < 0) throw new CodecError(ChainCodes.CODEC_RANGE, `u64 out of range: ${a.nonce}`);
  const out = new Uint8Array(8);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, Math.floor(a.nonce / 0x100000000));
  dv.setUint32(4, a.nonce >>> 0);
  return out;
}
export function decodeAccount(b: Uint8Array): AccountRecord {
  const dv = u64Record(b);
  const hi = dv.getUint32(0);
  if (hi > 0x1fffff) throw new CodecError(ChainCodes.CODEC_RANGE, 'integer exceeds 2^53-1');
  return { nonce: hi * 0x100000000 + dv.getUint32(4) };
}

export function encodeAmount(v: bigint): Uint8Array {
  if (v < 0n || v > 0xffffffffffffffffn) throw new CodecError(ChainCodes.CODEC_RANGE, `u64 out of range: ${v}`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, v);
  return out;
}
export const decodeAmount = (b: Uint8Array): bigint => u64Record(b).getBigUint64(0);

/** issuer is 32 zero bytes for assets created by genesis balances (no issuer). */
export interface AssetRecord { issuer: Uint8Array; supply: bigint }
export const encodeAsset = (a: AssetRecord): Uint8Array => new Writer(48).fixed(a.issuer, 32).u64(a.supply).finish();
export const decodeAsset = (b: Uint8Array): AssetRecord => dec(b, (r) => ({ issuer: r.fixed(32), supply: r.u64() }));

export interface AnchorRecord { submitter: Uint8Array; metadata: string; height: number; txHash: Hash }
export const encodeAnchor = (a: AnchorRecord): Uint8Array =>
  new Writer(128).fixed(a.submitter, 32).string(a.metadata).u64(a.height).fixed(a.txHash, 32).finish();
export const decodeAnchor = (b: Uint8Array): AnchorRecord =>
  dec(b, (r) => ({ submitter: r.fixed(32), metadata: r.string(Limits.metadata), height: r.u64n(), txHash: r.fixed(32) }));

export interface MemberRecord { memberId: string; name: string; adminKeys: Uint8Array[] }
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

export interface ValidatorRecord { memberId: string; power: number }
export const encodeValidator = (v: ValidatorRecord): Uint8Array => new Writer(64).string(v.memberId).u64(v.power).finish();
export const decodeValidator = (b: Uint8Array): ValidatorRecord => dec(b, (r) => ({ memberId: r.string(Limits.id), power: r.u64n() }));

export interface NodeRecord { memberId: string; role: NodeRole }
export const encodeNode = (n: NodeRecord): Uint8Array => new Writer(64).string(n.memberId).u8(NODE_ROLES.indexOf(n.role)).finish();
export const decodeNode = (b: Uint8Array): NodeRecord =>
  dec(b, (r) => {
    const memberId = r.string(Limits.id);
    const role = NODE_ROLES[r.u8()];
    if (role === undefined) throw new CodecError(ChainCodes.CODEC_INVALID, 'bad node role');
    return { memberId, role };
  });

export interface GovRecord { height: number; actionHash: Hash; txHash: Hash }
export const encodeGov = (g: GovRecord): Uint8Array => new Writer(80).u64(g.height).fixed(g.actionHash, 32).fixed(g.txHash, 32).finish();
export const decodeGov = (b: Uint8Array): GovRecord => dec(b, (r) => ({ height: r.u64n(), actionHash: r.fixed(32), txHash: r.fixed(32) }));

export interface EvidenceRecord { height: number; evidence: Uint8Array /* encodeEvidence */ }
export const encodeEvidenceRecord = (e: EvidenceRecord): Uint8Array => new Writer(400).u64(e.height).bytes(e.evidence).finish();
export const decodeEvidenceRecord = (b: Uint8Array): EvidenceRecord => dec(b, (r) => ({ height: r.u64n(), evidence: r.bytes(4096) }));
