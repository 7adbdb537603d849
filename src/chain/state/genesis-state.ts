import { ZERO_HASH } from '../bytes.js';
import { encodeParams } from '../params.js';
import { genesisHash, validateGenesis, type Genesis } from '../genesis.js';
import { validatorSetHash } from '../block.js';
import {
  StateKeys,
  encodeAccount,
  encodeAmount,
  encodeAsset,
  encodeChainRecord,
  encodeMember,
  encodeNode,
  encodeValidator,
} from './records.js';
import type { StateWrites } from './state-writes.js';

/** Writes of the initial state (validated genesis; approvals are checked by verifySealedGenesis). */
export function genesisWrites(g: Genesis): StateWrites {
  validateGenesis(g);
  const w: StateWrites = new Map();
  w.set(StateKeys.chain, encodeChainRecord({ chainId: g.chainId, genesisHash: genesisHash(g) }));
  w.set(StateKeys.params, encodeParams(g.params));
  for (const m of g.members) w.set(StateKeys.member(m.memberId), encodeMember(m));
  for (const n of g.nodes) w.set(StateKeys.node(n.publicKey), encodeNode({ memberId: n.memberId, role: n.role }));
  for (const v of g.validators) {
    w.set(StateKeys.validator(v.publicKey), encodeValidator({ memberId: v.memberId, power: v.power }));
    // validators are always in the P2P registry
    if (!w.has(StateKeys.node(v.publicKey)))
      w.set(StateKeys.node(v.publicKey), encodeNode({ memberId: v.memberId, role: 'validator' }));
  }
  w.set(
    StateKeys.valset,
    validatorSetHash(g.validators.map((v) => ({ publicKey: v.publicKey, power: v.power, memberId: v.memberId }))),
  );
  const supply = new Map<string, bigint>();
  for (const a of g.accounts) {
    w.set(StateKeys.account(a.publicKey), encodeAccount({ nonce: 0 }));
    for (const b of a.balances) {
      w.set(StateKeys.balance(a.publicKey, b.asset), encodeAmount(b.amount));
      supply.set(b.asset, (supply.get(b.asset) ?? 0n) + b.amount);
    }
  }
  for (const [asset, s] of supply) w.set(StateKeys.asset(asset), encodeAsset({ issuer: ZERO_HASH, supply: s }));
  return w;
}
