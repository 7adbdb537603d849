import { compareBytes, fromHex, type Hash } from '../bytes.js';
import { decodeParams, DEFAULT_PARAMS, type ChainParams, type NodeRole } from '../params.js';
import type { ValidatorInfo } from '../block.js';
import {
  StateKeys,
  decodeAccount,
  decodeAmount,
  decodeAnchor,
  decodeAsset,
  decodeChainRecord,
  decodeMember,
  decodeNode,
  decodeValidator,
  type AccountRecord,
  type AnchorRecord,
  type AssetRecord,
  type ChainRecord,
  type MemberRecord,
} from './records.js';
import type { StateReader } from './world-state.js';

// State values are never mutated in place (a write replaces the array), so a decoded record can be
// reused while the same bytes are current: admission and execution read these for every tx.
const decodedChain = new WeakMap<Uint8Array, ChainRecord>();
const decodedParams = new WeakMap<Uint8Array, ChainParams>();

export function getChainRecord(s: StateReader): ChainRecord | undefined {
  const b = s.get(StateKeys.chain);
  if (b === undefined) return undefined;
  let r = decodedChain.get(b);
  if (r === undefined) decodedChain.set(b, (r = Object.freeze(decodeChainRecord(b))));
  return r;
}
export function getChainId(s: StateReader): string {
  return getChainRecord(s)?.chainId ?? '';
}
export function getParams(s: StateReader): ChainParams {
  const b = s.get(StateKeys.params);
  if (b === undefined) return DEFAULT_PARAMS;
  let p = decodedParams.get(b);
  if (p === undefined) decodedParams.set(b, (p = Object.freeze(decodeParams(b))));
  return p;
}
export function getAccount(s: StateReader, pk: Uint8Array): AccountRecord | undefined {
  const b = s.get(StateKeys.account(pk));
  return b === undefined ? undefined : decodeAccount(b);
}
export function getBalance(s: StateReader, pk: Uint8Array, asset: string): bigint {
  const b = s.get(StateKeys.balance(pk, asset));
  return b === undefined ? 0n : decodeAmount(b);
}
/** Non-zero balances of an account, sorted by asset id. */
export function getBalances(s: StateReader, pk: Uint8Array): { asset: string; amount: bigint }[] {
  const prefix = StateKeys.balancePrefix(pk);
  return s
    .keysWithPrefix(prefix)
    .sort()
    .map((k) => ({ asset: k.slice(prefix.length), amount: decodeAmount(s.get(k)!) }));
}
export function getAsset(s: StateReader, id: string): AssetRecord | undefined {
  const b = s.get(StateKeys.asset(id));
  return b === undefined ? undefined : decodeAsset(b);
}
export function getAnchor(s: StateReader, hash: Hash): AnchorRecord | undefined {
  const b = s.get(StateKeys.anchor(hash));
  return b === undefined ? undefined : decodeAnchor(b);
}
export function getMember(s: StateReader, memberId: string): MemberRecord | undefined {
  const b = s.get(StateKeys.member(memberId));
  return b === undefined ? undefined : decodeMember(b);
}
/** Members sorted by memberId. */
export function getMembers(s: StateReader): MemberRecord[] {
  return s
    .keysWithPrefix('member/')
    .sort()
    .map((k) => decodeMember(s.get(k)!));
}
/** Validator set sorted by public key (the canonical order). */
export function getValidators(s: StateReader): ValidatorInfo[] {
  return s
    .keysWithPrefix('validator/')
    .map((k) => {
      const v = decodeValidator(s.get(k)!);
      return { publicKey: fromHex(k.slice('validator/'.length), 32), power: v.power, memberId: v.memberId };
    })
    .sort((a, b) => compareBytes(a.publicKey, b.publicKey));
}
export interface NodeRegistryEntry {
  publicKey: Uint8Array;
  memberId: string;
  role: NodeRole;
}
/** P2P registry (nodes of current members), sorted by public key. */
export function getNodeRegistry(s: StateReader): NodeRegistryEntry[] {
  return s
    .keysWithPrefix('node/')
    .map((k) => {
      const n = decodeNode(s.get(k)!);
      return { publicKey: fromHex(k.slice('node/'.length), 32), memberId: n.memberId, role: n.role };
    })
    .sort((a, b) => compareBytes(a.publicKey, b.publicKey));
}
export function getNode(s: StateReader, pk: Uint8Array): NodeRegistryEntry | undefined {
  const b = s.get(StateKeys.node(pk));
  if (b === undefined) return undefined;
  const n = decodeNode(b);
  return { publicKey: pk, memberId: n.memberId, role: n.role };
}
