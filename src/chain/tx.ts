import { Reader, Writer, Limits, utf8Length } from './codec.js';
import { CodecError, ChainCodes } from './errors.js';
import { sha256, sha256WithHex, type Hash } from './bytes.js';
import { Tags, signDomain, verifyDomain } from './keys.js';
import {
  readGovernanceAction,
  readGovernanceVote,
  writeGovernanceAction,
  writeGovernanceVote,
  type GovernanceAction,
  type GovernanceVote,
} from './governance.js';

export type TxBody =
  | { type: 'create_account' }
  | { type: 'issue_asset'; asset: string; amount: bigint; to: Uint8Array }
  | { type: 'burn_asset'; asset: string; amount: bigint }
  | { type: 'transfer'; asset: string; to: Uint8Array; amount: bigint }
  | { type: 'anchor'; hash: Uint8Array; metadata: string }
  | { type: 'governance'; proposalId: string; action: GovernanceAction; votes: GovernanceVote[] }
  /** Declares an asset and its gateway issuer up front; such an asset keeps an issued/burned ledger (state/records.ts). */
  | { type: 'create_asset'; asset: string; issuer: Uint8Array };
export type TxType = TxBody['type'];

export interface Tx {
  chainId: string;
  signer: Uint8Array;
  nonce: number;
  body: TxBody;
  signature: Uint8Array;
}
export type UnsignedTx = Omit<Tx, 'signature'>;

const TX_VERSION = 1;
// Append only: a tag's number is part of every signed tx that uses it.
const BODY_TAGS: readonly TxType[] = [
  'create_account',
  'issue_asset',
  'burn_asset',
  'transfer',
  'anchor',
  'governance',
  'create_asset',
];
/** Asset ids: 1..64 chars of [A-Za-z0-9._:-]. */
export const ASSET_ID_RE = /^[A-Za-z0-9._:-]{1,64}$/;

function checkAsset(asset: string): void {
  if (!ASSET_ID_RE.test(asset)) throw new CodecError(ChainCodes.CODEC_INVALID, `invalid asset id`);
}

function writeUnsigned(w: Writer, u: UnsignedTx): void {
  w.u8(TX_VERSION).string(u.chainId, Limits.chainId).fixed(u.signer, 32).u64(u.nonce);
  const b = u.body;
  const tag = BODY_TAGS.indexOf(b.type);
  if (tag < 0) throw new CodecError(ChainCodes.CODEC_INVALID, 'unknown tx type');
  w.u8(tag);
  switch (b.type) {
    case 'create_account':
      break;
    case 'issue_asset':
      checkAsset(b.asset);
      w.string(b.asset).u64(b.amount).fixed(b.to, 32);
      break;
    case 'burn_asset':
      checkAsset(b.asset);
      w.string(b.asset).u64(b.amount);
      break;
    case 'transfer':
      checkAsset(b.asset);
      w.string(b.asset).fixed(b.to, 32).u64(b.amount);
      break;
    case 'anchor':
      if (utf8Length(b.metadata) > Limits.metadata)
        throw new CodecError(ChainCodes.CODEC_OVERSIZE, 'anchor metadata over 1024 bytes');
      w.fixed(b.hash, 32).string(b.metadata);
      break;
    case 'governance':
      w.string(b.proposalId, Limits.id);
      writeGovernanceAction(w, b.action);
      w.u32(b.votes.length);
      for (const v of b.votes) writeGovernanceVote(w, v);
      break;
    case 'create_asset':
      checkAsset(b.asset);
      w.string(b.asset).fixed(b.issuer, 32);
      break;
  }
}

function readBody(r: Reader, key: (r: Reader) => Uint8Array = (x) => x.fixed(32)): TxBody {
  const tag = r.u8();
  switch (BODY_TAGS[tag]) {
    case 'create_account':
      return { type: 'create_account' };
    case 'issue_asset': {
      const asset = r.string(64);
      checkAsset(asset);
      return { type: 'issue_asset', asset, amount: r.u64(), to: key(r) };
    }
    case 'burn_asset': {
      const asset = r.string(64);
      checkAsset(asset);
      return { type: 'burn_asset', asset, amount: r.u64() };
    }
    case 'transfer': {
      const asset = r.string(64);
      checkAsset(asset);
      return { type: 'transfer', asset, to: key(r), amount: r.u64() };
    }
    case 'anchor':
      return { type: 'anchor', hash: r.fixed(32), metadata: r.string(Limits.metadata) };
    case 'governance': {
      const proposalId = r.string(Limits.id);
      const action = readGovernanceAction(r);
      const n = r.count(Limits.maxList);
      const votes: GovernanceVote[] = [];
      for (let i = 0; i < n; i++) votes.push(readGovernanceVote(r));
      return { type: 'governance', proposalId, action, votes };
    }
    case 'create_asset': {
      const asset = r.string(64);
      checkAsset(asset);
      return { type: 'create_asset', asset, issuer: key(r) };
    }
    default:
      throw new CodecError(ChainCodes.CODEC_INVALID, `unknown tx type tag ${tag}`);
  }
}

/** The signed payload (signature is over domain 'consortia/tx/v1' || 0x00 || these bytes). */
export function txSignBytes(u: UnsignedTx): Uint8Array {
  const w = new Writer(160);
  writeUnsigned(w, u);
  return w.finish();
}

/** Encoded signed tx = txSignBytes(tx) || signature(64). */
export function encodeTx(tx: Tx): Uint8Array {
  const w = new Writer(224);
  writeUnsigned(w, tx);
  w.fixed(tx.signature, 64);
  return w.finish();
}

export function decodeTx(b: Uint8Array, maxBytes: number = Limits.maxTxBytes): Tx {
  return decodeTxFrom(b, maxBytes, false);
}

// alias: keys and signature are views into `b` instead of copies (decodeTxShared: the bytes and
// the tx are immutable and live together; three fewer allocations per pending tx).
function decodeTxFrom(b: Uint8Array, maxBytes: number, alias: boolean): Tx {
  if (b.length > maxBytes)
    throw new CodecError(ChainCodes.CODEC_OVERSIZE, `tx of ${b.length} bytes exceeds ${maxBytes}`);
  const r = new Reader(b);
  const v = r.u8();
  if (v !== TX_VERSION) throw new CodecError(ChainCodes.CODEC_INVALID, `unknown tx version ${v}`);
  const chainId = r.string(Limits.chainId);
  const signer = alias ? r.view(32) : r.fixed(32);
  const nonce = r.u64n();
  const body = alias ? readBody(r, (x) => x.view(32)) : readBody(r);
  const signature = alias ? r.view(64) : r.fixed(64);
  r.end();
  return { chainId, signer, nonce, body, signature };
}

// Decoded form and id of encoded tx bytes that are still alive (mempool entry, block body):
// admission, execution and the commit's account index use the same bytes object. One weak entry
// per bytes object holds both (each WeakMap entry is an ephemeron the GC must trace, and a write
// barrier per insert). Callers must not mutate the bytes, the tx or the id.
interface SharedTx {
  tx: Tx | undefined;
  id: TxId | undefined;
}
const sharedTxs = new WeakMap<Uint8Array, SharedTx>();

/** decodeTx, reusing an earlier decode of this very bytes object (same result, same errors). */
export function decodeTxShared(b: Uint8Array): Tx {
  const s = sharedTxs.get(b);
  if (s?.tx !== undefined) return s.tx;
  const tx = decodeTxFrom(b, Limits.maxTxBytes, true);
  if (s !== undefined) s.tx = tx;
  else sharedTxs.set(b, { tx, id: undefined });
  return tx;
}

export function signTx(u: UnsignedTx, sk: Uint8Array): Tx {
  return { ...u, signature: signDomain(Tags.TX, sk, txSignBytes(u)) };
}

/** sha256 of the encoded signed tx. */
export function txHash(encodedTx: Uint8Array): Hash {
  return sha256(encodedTx);
}

/** A tx's hash and its lowercase hex (the mempool, verified-cache and index key). */
export interface TxId {
  hash: Hash;
  hex: string;
}

/** txHash and its hex, reusing an earlier computation for this very bytes object. */
export function txIdShared(b: Uint8Array): TxId {
  const s = sharedTxs.get(b);
  if (s?.id !== undefined) return s.id;
  const id = sha256WithHex(b);
  if (s !== undefined) s.id = id;
  else sharedTxs.set(b, { tx: undefined, id });
  return id;
}

export function verifyTxSignature(tx: Tx): boolean {
  return verifyDomain(Tags.TX, tx.signer, txSignBytes(tx), tx.signature);
}

/** Hot path: verify a decoded tx against its own encoding, without re-encoding it. */
export function verifyEncodedTxSignature(encodedTx: Uint8Array, tx: Tx): boolean {
  if (encodedTx.length < 64) return false;
  return verifyDomain(Tags.TX, tx.signer, encodedTx.subarray(0, encodedTx.length - 64), tx.signature);
}
