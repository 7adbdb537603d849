import { ConsortiaError } from '../../lib/errors.js';
import { bytesEqual, toHex, type Hash } from '../bytes.js';
import { isConsortiaError } from '../../lib/errors.js';
import { ChainCodes, RejectionCodes, type RejectionCode } from '../errors.js';
import { isValidPublicKey, verifyProofOfPossession } from '../keys.js';
import { encodeParams, tallyPasses, validateParams, type ChainParams } from '../params.js';
import { decodeTxShared, encodeTx, txIdShared, verifyEncodedTxSignature, type Tx, type TxBody } from '../tx.js';
import {
  ADMIN_KEYS_MAX,
  governanceActionHash,
  verifyAdminKeyEndorsement,
  verifyGovernanceVote,
  type GovernanceAction,
} from '../governance.js';
import {
  checkEvidence,
  encodeEvidence,
  evidenceId,
  validatorSetHash,
  type Block,
  type ValidatorInfo,
} from '../block.js';
import {
  StateKeys,
  decodeAccount,
  decodeAmount,
  decodeAsset,
  decodeMember,
  decodeNode,
  decodeRetiredKey,
  decodeValidator,
  encodeAccount,
  encodeAmount,
  encodeAnchor,
  encodeAsset,
  encodeEvidenceRecord,
  encodeGov,
  encodeMember,
  encodeNode,
  encodeRetiredKey,
  encodeValidator,
} from './records.js';
import { getChainId, getMember, getParams, getValidators } from './views.js';
import {
  Overlay,
  applyWritesToTree,
  precomputedTrees,
  type StateReader,
  type StateWrites,
  type WorldState,
} from './world-state.js';
import { nodeHash } from './smt.js';
import { balanceKey, keysOf, type PkKeys } from './pk-keys.js';

const U64_MAX = 0xffffffffffffffffn;
const ZERO_TX_HASH = new Uint8Array(32); // checkTx runs before a tx has a place in a block

export interface TxRejection {
  code: RejectionCode;
  message: string;
}
export interface CheckTxContext {
  /** Encoded size (else re-encoded to measure). */
  txBytes?: number;
  /** Mempool: nonce expected after this account's pending txs (default: the account's state nonce). */
  expectedNonce?: number;
  /** Extra size cap (e.g. the node's own limit); the effective cap is min(this, params.maxTxBytes). */
  maxTxBytes?: number;
  /** Height the tx would land at (anchor records); default 0. */
  height?: number;
}
export interface TxResult {
  hash: Hash;
  hashHex: string;
  code: 'OK' | RejectionCode;
  message?: string;
}
export type ChainEvent =
  | { type: 'governance_executed'; proposalId: string; action: string; txHash: string }
  | { type: 'evidence_recorded'; validator: string; height: number; round: number }
  | { type: 'validator_set_changed' }
  | { type: 'params_changed' }
  | { type: 'admin_keys_replaced'; memberId: string };
export interface BlockExecution {
  results: TxResult[];
  writes: StateWrites;
  stateRoot: Hash;
  /** Validator set after this block, sorted by public key. */
  validators: ValidatorInfo[];
  validatorsChanged: boolean;
  events: ChainEvent[];
}
export interface ExecuteOptions {
  /** Hex hashes of txs whose signatures the caller already verified (a bounded cache). */
  verifiedTxHashes?: { has(hashHex: string): boolean };
  /** Told of each tx signature this execution verified, so the caller can cache it. */
  onSignatureVerified?: (hashHex: string) => void;
}

interface Env {
  chainId: string;
  params: ChainParams;
  height: number;
  txHash: Hash;
  txHashHex: string;
  expectedNonce: number | undefined;
  events: ChainEvent[];
  /** Admission check: the outcome only; a transfer's writes (the hot path) are skipped. */
  checkOnly?: boolean;
}

const reject = (code: RejectionCode, message: string): TxRejection => ({ code, message });

/** Stateless + stateful admission of one tx against `state`, WITHOUT the tx signature check. */
export function checkTx(state: StateReader, tx: Tx, ctx: CheckTxContext = {}): TxRejection | null {
  const params = getParams(state);
  let size = ctx.txBytes;
  if (size === undefined) {
    try {
      size = encodeTx(tx).length;
    } catch (e) {
      return reject(RejectionCodes.INVALID_TX, isConsortiaError(e) ? e.message : 'unencodable tx');
    }
  }
  const cap = Math.min(params.maxTxBytes, ctx.maxTxBytes ?? Infinity);
  if (size > cap) return reject(RejectionCodes.TX_TOO_LARGE, `tx of ${size} bytes exceeds ${cap}`);
  const env: Env = {
    chainId: getChainId(state),
    params,
    height: ctx.height ?? 0,
    txHash: ZERO_TX_HASH,
    txHashHex: '',
    expectedNonce: ctx.expectedNonce,
    events: [],
    checkOnly: true,
  };
  return applyTx(new Overlay(state), tx, env);
}

/**
 * Executes a block on an overlay of `state` (which is NOT mutated): returns per-tx results, the
 * writes, the resulting state root and validator set. Apply with `state.commit(execution)`.
 * Throws BLOCK_INVALID / BLOCK_INVALID_EVIDENCE for block-level faults.
 */
export function executeBlock(state: WorldState, block: Block, opts: ExecuteOptions = {}): BlockExecution {
  const chainId = getChainId(state);
  const params = getParams(state);
  if (block.header.chainId !== chainId) throw new ConsortiaError(ChainCodes.BLOCK_INVALID, 'block of another chain');
  if (block.txs.length > params.maxBlockTxs)
    throw new ConsortiaError(ChainCodes.BLOCK_INVALID, 'too many txs in block');
  const o = new Overlay(state);
  const events: ChainEvent[] = [];
  const height = block.header.height;
  const validatorsBefore = getValidators(state);

  for (const ev of block.evidence) {
    const why = checkEvidence(chainId, validatorsBefore, ev);
    if (why !== null) throw new ConsortiaError(ChainCodes.BLOCK_INVALID_EVIDENCE, why);
    const key = StateKeys.evidence(evidenceId(ev));
    if (o.get(key) !== undefined) continue; // already recorded: idempotent
    o.set(key, encodeEvidenceRecord({ height, evidence: encodeEvidence(ev) }));
    events.push({
      type: 'evidence_recorded',
      validator: toHex(ev.voteA.validator),
      height: ev.voteA.height,
      round: ev.voteA.round,
    });
  }

  const verified = opts.verifiedTxHashes;
  const results: TxResult[] = new Array(block.txs.length);
  let validatorsChanged = false;
  for (let i = 0; i < block.txs.length; i++) {
    const bytes = block.txs[i]!;
    const { hash, hex: hashHex } = txIdShared(bytes);
    let rej: TxRejection | null = null;
    if (bytes.length > params.maxTxBytes) rej = reject(RejectionCodes.TX_TOO_LARGE, `tx of ${bytes.length} bytes`);
    let tx: Tx | undefined;
    if (rej === null) {
      try {
        tx = decodeTxShared(bytes);
      } catch (e) {
        rej = reject(RejectionCodes.INVALID_TX, isConsortiaError(e) ? e.message : 'undecodable tx');
      }
    }
    if (rej === null && tx !== undefined && !(verified?.has(hashHex) ?? false)) {
      if (!verifyEncodedTxSignature(bytes, tx)) rej = reject(RejectionCodes.BAD_SIGNATURE, 'invalid tx signature');
      else opts.onSignatureVerified?.(hashHex);
    }
    if (rej === null && tx !== undefined) {
      rej = applyTx(o, tx, {
        chainId,
        params: getParamsIfChanged(o, params),
        height,
        txHash: hash,
        txHashHex: hashHex,
        expectedNonce: undefined,
        events,
      });
      if (rej === null && tx.body.type === 'governance') validatorsChanged ||= affectsValidators(tx.body);
    }
    results[i] = rej === null ? { hash, hashHex, code: 'OK' } : { hash, hashHex, code: rej.code, message: rej.message };
  }

  const validators = validatorsChanged ? getValidators(o) : validatorsBefore;
  if (validatorsChanged) o.set(StateKeys.valset, validatorSetHash(validators)); // committed for light clients
  const base = state.treeHandle();
  const tree = applyWritesToTree(base, o.writes);
  if (validatorsChanged) events.push({ type: 'validator_set_changed' });
  const exec: BlockExecution = {
    results,
    writes: o.writes,
    stateRoot: nodeHash(tree),
    validators,
    validatorsChanged,
    events,
  };
  precomputedTrees.set(exec, { base, tree });
  return exec;
}

function getParamsIfChanged(o: Overlay, p: ChainParams): ChainParams {
  return o.writes.has(StateKeys.params) ? getParams(o) : p;
}
function affectsValidators(b: Extract<TxBody, { type: 'governance' }>): boolean {
  const t = b.action.type;
  return t === 'add_validator' || t === 'remove_validator' || t === 'remove_member' || t === 'rotate_validator_key';
}

function applyTx(o: Overlay, tx: Tx, env: Env): TxRejection | null {
  if (tx.chainId !== env.chainId) return reject(RejectionCodes.WRONG_CHAIN, `tx for chain ${tx.chainId}`);
  const signerKeys = keysOf(tx.signer);
  const acctKey = signerKeys.account;
  const acctBytes = o.get(acctKey);
  if (tx.body.type === 'create_account') {
    if (acctBytes !== undefined) return reject(RejectionCodes.ACCOUNT_EXISTS, 'account exists');
    if (tx.nonce !== 0) return reject(RejectionCodes.BAD_NONCE, 'create_account must use nonce 0');
    o.set(acctKey, encodeAccount({ nonce: 1 }));
    return null;
  }
  if (acctBytes === undefined) return reject(RejectionCodes.NO_ACCOUNT, 'signer has no account');
  const expected = env.expectedNonce ?? decodeAccount(acctBytes).nonce;
  if (tx.nonce !== expected) return reject(RejectionCodes.BAD_NONCE, `expected nonce ${expected}, got ${tx.nonce}`);
  const rej = applyBody(o, tx, env, signerKeys); // checks before it writes: a rejected body wrote nothing
  // A tx signed with the right nonce uses it up even when its body fails (as in Ethereum and the
  // Cosmos SDK): else its bytes, committed with a failure code, could be put in a later block by
  // anyone and succeed then, long after the signer moved on.
  if (!env.checkOnly) o.set(acctKey, encodeAccount({ nonce: tx.nonce + 1 }));
  return rej;
}

function balanceOf(o: Overlay, key: string): bigint {
  const b = o.get(key);
  return b === undefined ? 0n : decodeAmount(b);
}
function setBalance(o: Overlay, key: string, v: bigint): void {
  if (v === 0n) o.delete(key);
  else o.set(key, encodeAmount(v));
}

function applyBody(o: Overlay, tx: Tx, env: Env, signerKeys: PkKeys): TxRejection | null {
  const b = tx.body;
  switch (b.type) {
    case 'create_account':
      return null; // handled by applyTx
    case 'transfer': {
      if (b.amount <= 0n) return reject(RejectionCodes.BAD_AMOUNT, 'amount must be positive');
      if (o.get(StateKeys.asset(b.asset)) === undefined)
        return reject(RejectionCodes.UNKNOWN_ASSET, `unknown asset ${b.asset}`);
      const toKeys = keysOf(b.to);
      if (o.get(toKeys.account) === undefined) return reject(RejectionCodes.NO_ACCOUNT, 'recipient has no account');
      const fromKey = balanceKey(signerKeys, b.asset);
      const from = balanceOf(o, fromKey);
      if (from < b.amount) return reject(RejectionCodes.INSUFFICIENT_BALANCE, `balance ${from} < ${b.amount}`);
      if (bytesEqual(tx.signer, b.to)) return null;
      const toKey = balanceKey(toKeys, b.asset);
      const to = balanceOf(o, toKey) + b.amount;
      if (to > U64_MAX) return reject(RejectionCodes.BAD_AMOUNT, 'recipient balance overflow');
      if (env.checkOnly) return null; // nothing after this point can reject
      setBalance(o, fromKey, from - b.amount);
      setBalance(o, toKey, to);
      return null;
    }
    case 'issue_asset': {
      if (b.amount <= 0n) return reject(RejectionCodes.BAD_AMOUNT, 'amount must be positive');
      const ab = o.get(StateKeys.asset(b.asset));
      const asset = ab === undefined ? { issuer: tx.signer, supply: 0n } : decodeAsset(ab);
      if (!bytesEqual(asset.issuer, tx.signer)) return reject(RejectionCodes.NOT_ISSUER, 'signer is not the issuer');
      if (o.get(StateKeys.account(b.to)) === undefined)
        return reject(RejectionCodes.NO_ACCOUNT, 'recipient has no account');
      const supply = asset.supply + b.amount;
      if (supply > U64_MAX) return reject(RejectionCodes.BAD_AMOUNT, 'supply overflow');
      const ledger = asset.ledger && { issued: asset.ledger.issued + b.amount, burned: asset.ledger.burned };
      if (ledger && ledger.issued > U64_MAX) return reject(RejectionCodes.BAD_AMOUNT, 'issued total overflow');
      const toKey = StateKeys.balance(b.to, b.asset);
      o.set(StateKeys.asset(b.asset), encodeAsset({ issuer: asset.issuer, supply, ...(ledger ? { ledger } : {}) }));
      setBalance(o, toKey, balanceOf(o, toKey) + b.amount);
      return null;
    }
    case 'burn_asset': {
      if (b.amount <= 0n) return reject(RejectionCodes.BAD_AMOUNT, 'amount must be positive');
      const ab = o.get(StateKeys.asset(b.asset));
      if (ab === undefined) return reject(RejectionCodes.UNKNOWN_ASSET, `unknown asset ${b.asset}`);
      const asset = decodeAsset(ab);
      if (!bytesEqual(asset.issuer, tx.signer)) return reject(RejectionCodes.NOT_ISSUER, 'only the issuer burns');
      const key = StateKeys.balance(tx.signer, b.asset);
      const bal = balanceOf(o, key);
      if (bal < b.amount) return reject(RejectionCodes.INSUFFICIENT_BALANCE, `balance ${bal} < ${b.amount}`);
      setBalance(o, key, bal - b.amount);
      // burned never exceeds issued: it only burns units the issuer holds, all of which were issued
      const ledger = asset.ledger && { issued: asset.ledger.issued, burned: asset.ledger.burned + b.amount };
      o.set(
        StateKeys.asset(b.asset),
        encodeAsset({ issuer: asset.issuer, supply: asset.supply - b.amount, ...(ledger ? { ledger } : {}) }),
      );
      return null;
    }
    case 'create_asset': {
      const key = StateKeys.asset(b.asset);
      if (o.get(key) !== undefined) return reject(RejectionCodes.ASSET_EXISTS, `asset ${b.asset} exists`);
      if (o.get(StateKeys.account(b.issuer)) === undefined)
        return reject(RejectionCodes.NO_ACCOUNT, 'issuer has no account');
      o.set(key, encodeAsset({ issuer: b.issuer, supply: 0n, ledger: { issued: 0n, burned: 0n } }));
      return null;
    }
    case 'anchor': {
      const key = StateKeys.anchor(b.hash);
      if (o.get(key) !== undefined) return reject(RejectionCodes.DUPLICATE_ANCHOR, 'hash already anchored');
      o.set(key, encodeAnchor({ submitter: tx.signer, metadata: b.metadata, height: env.height, txHash: env.txHash }));
      return null;
    }
    case 'governance':
      return applyGovernance(o, tx, b, env);
  }
}

function invalidAction(message: string): TxRejection {
  return reject(RejectionCodes.GOV_INVALID_ACTION, message);
}

/** GOV_KEY_RETIRED naming the first of `keys` that replace_admin_keys retired, else null. */
function retiredKeyRejection(o: Overlay, keys: Uint8Array[]): TxRejection | null {
  for (const k of keys) {
    const b = o.get(StateKeys.retiredKey(k));
    if (b === undefined) continue;
    const r = decodeRetiredKey(b);
    return reject(
      RejectionCodes.GOV_KEY_RETIRED,
      `admin key ${toHex(k)} of ${r.memberId} was retired at height ${r.height}`,
    );
  }
  return null;
}

function checkReplaceAdminKeys(
  o: Overlay,
  a: Extract<GovernanceAction, { type: 'replace_admin_keys' }>,
  env: Env,
): TxRejection | null {
  const m = getMember(o, a.memberId);
  if (m === undefined) return invalidAction('unknown member');
  if (a.newAdminKeys.length === 0) return invalidAction('member needs admin keys');
  if (a.newAdminKeys.length > ADMIN_KEYS_MAX) return invalidAction(`more than ${ADMIN_KEYS_MAX} admin keys`);
  const fresh = new Set(a.newAdminKeys.map(toHex));
  if (fresh.size !== a.newAdminKeys.length) return invalidAction('duplicate admin key');
  if (!a.newAdminKeys.every(isValidPublicKey)) return invalidAction('an admin key is not an Ed25519 public key');
  if (m.adminKeys.length === fresh.size && m.adminKeys.every((k) => fresh.has(toHex(k))))
    return invalidAction('the new admin keys are the current ones');
  const retired = retiredKeyRejection(o, a.newAdminKeys);
  if (retired !== null) return retired;
  for (const k of o.keysWithPrefix('member/')) {
    const other = decodeMember(o.get(k)!);
    if (other.memberId !== a.memberId && other.adminKeys.some((x) => fresh.has(toHex(x))))
      return invalidAction(`an admin key belongs to member ${other.memberId}`);
  }
  if (a.endorsement !== null) {
    const e = a.endorsement;
    const gone = retiredKeyRejection(o, [e.adminKey]);
    if (gone !== null) return gone;
    if (!m.adminKeys.some((k) => bytesEqual(k, e.adminKey)))
      return reject(RejectionCodes.GOV_BAD_ENDORSEMENT, `endorsing key is not an admin key of ${a.memberId}`);
    if (!verifyAdminKeyEndorsement(env.chainId, a.memberId, a.newAdminKeys, e))
      return reject(RejectionCodes.GOV_BAD_ENDORSEMENT, 'endorsement signature does not verify');
  } else if (o.keysWithPrefix('member/').length < 2) {
    return invalidAction('recovery needs another member to vote');
  }
  return null;
}

/** Null when `adminKey` may vote for `memberId` (a current admin key of it); a retired key is named as such. */
function voterKeyRejection(o: Overlay, memberId: string, adminKey: Uint8Array): TxRejection | null {
  const retired = retiredKeyRejection(o, [adminKey]);
  if (retired !== null) return retired;
  const m = getMember(o, memberId);
  if (m === undefined || !m.adminKeys.some((k) => bytesEqual(k, adminKey)))
    return reject(RejectionCodes.GOV_UNKNOWN_MEMBER, `vote by ${memberId} is not from a current member's admin key`);
  return null;
}

/** Action validity against the current state; null when it can execute. */
function checkAction(o: Overlay, b: Extract<TxBody, { type: 'governance' }>, env: Env): TxRejection | null {
  const a = b.action;
  switch (a.type) {
    case 'add_member': {
      if (!a.memberId || a.memberId.includes('\u0000')) return invalidAction('empty memberId');
      if (o.get(StateKeys.member(a.memberId)) !== undefined) return invalidAction('member exists');
      if (a.adminKeys.length === 0) return invalidAction('member needs admin keys');
      if (new Set(a.adminKeys.map(toHex)).size !== a.adminKeys.length) return invalidAction('duplicate admin key');
      return retiredKeyRejection(o, a.adminKeys);
    }
    case 'remove_member': {
      if (o.get(StateKeys.member(a.memberId)) === undefined) return invalidAction('unknown member');
      if (o.keysWithPrefix('member/').length <= 1) return invalidAction('cannot remove the last member');
      const remaining = getValidators(o).filter((v) => v.memberId !== a.memberId);
      if (remaining.length === 0) return invalidAction('removal would leave no validators');
      return null;
    }
    case 'add_validator': {
      if (o.get(StateKeys.member(a.memberId)) === undefined) return invalidAction('unknown member');
      if (o.get(StateKeys.validator(a.publicKey)) !== undefined) return invalidAction('already a validator');
      if (!Number.isSafeInteger(a.power) || a.power < 1) return invalidAction('power must be >= 1');
      const nb = o.get(StateKeys.node(a.publicKey));
      if (nb !== undefined && decodeNode(nb).memberId !== a.memberId)
        return invalidAction('node key belongs to another member');
      if (!verifyProofOfPossession(env.chainId, a.publicKey, a.proofOfPossession))
        return invalidAction('invalid proof of possession');
      return null;
    }
    case 'remove_validator': {
      if (o.get(StateKeys.validator(a.publicKey)) === undefined) return invalidAction('not a validator');
      if (o.keysWithPrefix('validator/').length <= 1) return invalidAction('cannot remove the last validator');
      return null;
    }
    case 'register_node': {
      if (o.get(StateKeys.member(a.memberId)) === undefined) return invalidAction('unknown member');
      if (o.get(StateKeys.node(a.publicKey)) !== undefined) return invalidAction('node already registered');
      return null;
    }
    case 'change_params': {
      const merged = { ...env.params, ...a.params };
      const why = validateParams(merged);
      return why === null ? null : invalidAction(why);
    }
    case 'replace_admin_keys':
      return checkReplaceAdminKeys(o, a, env);
    case 'rotate_validator_key': {
      if (o.get(StateKeys.validator(a.oldPublicKey)) === undefined) return invalidAction('old key is not a validator');
      if (bytesEqual(a.oldPublicKey, a.newPublicKey)) return invalidAction('new key equals the old key');
      if (o.get(StateKeys.validator(a.newPublicKey)) !== undefined)
        return invalidAction('new key is already a validator');
      const holder = decodeValidator(o.get(StateKeys.validator(a.oldPublicKey))!).memberId;
      const nb = o.get(StateKeys.node(a.newPublicKey));
      if (nb !== undefined && decodeNode(nb).memberId !== holder)
        return invalidAction('new key belongs to another member');
      if (!verifyProofOfPossession(env.chainId, a.newPublicKey, a.proofOfPossession))
        return invalidAction('invalid proof of possession');
      return null;
    }
  }
}

function applyGovernance(o: Overlay, tx: Tx, b: Extract<TxBody, { type: 'governance' }>, env: Env): TxRejection | null {
  if (!b.proposalId) return invalidAction('empty proposalId');
  const govKey = StateKeys.gov(b.proposalId);
  if (o.get(govKey) !== undefined)
    return reject(RejectionCodes.GOV_ALREADY_EXECUTED, `proposal ${b.proposalId} already executed`);
  const a = b.action;
  const bad = checkAction(o, b, env);
  if (bad !== null) return bad;
  const actionHash = governanceActionHash(a);

  // A member admits its own non-validator nodes without the others' votes: it signs the tx with one
  // of its admin keys, or the tx (relayed by anyone) carries exactly one YES vote of that member.
  const selfMember = a.type === 'register_node' && a.role !== 'validator' ? a.memberId : undefined;
  if (b.votes.length === 0) {
    const self = selfMember !== undefined ? getMember(o, selfMember) : undefined;
    if (self === undefined || !self.adminKeys.some((k) => bytesEqual(k, tx.signer))) {
      if (self !== undefined) {
        const retired = retiredKeyRejection(o, [tx.signer]);
        if (retired !== null) return retired;
      }
      return reject(RejectionCodes.GOV_THRESHOLD_NOT_MET, 'no votes');
    }
  } else if (selfMember !== undefined && b.votes.length === 1 && b.votes[0]!.memberId === selfMember) {
    const v = b.votes[0]!;
    const bad = voterKeyRejection(o, v.memberId, v.adminKey);
    if (bad !== null) return bad;
    if (!verifyGovernanceVote(env.chainId, b.proposalId, actionHash, v))
      return reject(RejectionCodes.GOV_BAD_SIGNATURE, `bad vote signature from ${v.memberId}`);
    if (v.vote !== 'YES') return reject(RejectionCodes.GOV_THRESHOLD_NOT_MET, `${v.memberId} voted NO on its own node`);
  } else {
    // Recovery (replace_admin_keys without endorsement): the member's keys are lost or stolen, so
    // it does not vote; the policy is applied to the other members (docs/trust-model.md).
    const recovered = a.type === 'replace_admin_keys' && a.endorsement === null ? a.memberId : undefined;
    const seen = new Set<string>();
    let yes = 0;
    for (const v of b.votes) {
      const bad = voterKeyRejection(o, v.memberId, v.adminKey);
      if (bad !== null) return bad;
      if (v.memberId === recovered)
        return invalidAction(`${recovered} does not vote on the recovery of its own admin keys`);
      if (seen.has(v.memberId))
        return reject(RejectionCodes.GOV_DUPLICATE_VOTE, `more than one vote from ${v.memberId}`);
      seen.add(v.memberId);
      if (!verifyGovernanceVote(env.chainId, b.proposalId, actionHash, v)) {
        return reject(RejectionCodes.GOV_BAD_SIGNATURE, `bad vote signature from ${v.memberId}`);
      }
      if (v.vote === 'YES') yes++;
    }
    const members = o.keysWithPrefix('member/').length - (recovered !== undefined ? 1 : 0);
    if (!tallyPasses(env.params.votingPolicy, yes, members)) {
      return reject(RejectionCodes.GOV_THRESHOLD_NOT_MET, `${yes} of ${members} members voted YES`);
    }
  }

  executeAction(o, b, env);
  o.set(govKey, encodeGov({ height: env.height, actionHash, txHash: env.txHash }));
  env.events.push({ type: 'governance_executed', proposalId: b.proposalId, action: a.type, txHash: env.txHashHex });
  return null;
}

function executeAction(o: Overlay, b: Extract<TxBody, { type: 'governance' }>, env: Env): void {
  const a = b.action;
  switch (a.type) {
    case 'add_member':
      o.set(StateKeys.member(a.memberId), encodeMember({ memberId: a.memberId, name: a.name, adminKeys: a.adminKeys }));
      return;
    case 'remove_member': {
      o.delete(StateKeys.member(a.memberId));
      // a removed member is cut off: its validators and nodes leave with it
      for (const k of o.keysWithPrefix('validator/'))
        if (decodeValidator(o.get(k)!).memberId === a.memberId) o.delete(k);
      for (const k of o.keysWithPrefix('node/')) if (decodeNode(o.get(k)!).memberId === a.memberId) o.delete(k);
      return;
    }
    case 'add_validator':
      o.set(StateKeys.validator(a.publicKey), encodeValidator({ memberId: a.memberId, power: a.power }));
      o.set(StateKeys.node(a.publicKey), encodeNode({ memberId: a.memberId, role: 'validator' }));
      return;
    case 'remove_validator':
      o.delete(StateKeys.validator(a.publicKey));
      return;
    case 'register_node':
      o.set(StateKeys.node(a.publicKey), encodeNode({ memberId: a.memberId, role: a.role }));
      return;
    case 'change_params':
      o.set(StateKeys.params, encodeParams({ ...env.params, ...a.params }));
      env.events.push({ type: 'params_changed' });
      return;
    case 'replace_admin_keys': {
      // Effective from this tx on: a later tx of the same block already sees the old key retired.
      const m = getMember(o, a.memberId)!;
      const kept = new Set(a.newAdminKeys.map(toHex));
      for (const k of m.adminKeys)
        if (!kept.has(toHex(k)))
          o.set(StateKeys.retiredKey(k), encodeRetiredKey({ memberId: a.memberId, height: env.height }));
      o.set(StateKeys.member(a.memberId), encodeMember({ ...m, adminKeys: a.newAdminKeys }));
      env.events.push({ type: 'admin_keys_replaced', memberId: a.memberId });
      return;
    }
    case 'rotate_validator_key': {
      // One write set: the old key leaves and the new one enters with the same member and power, so
      // the set that signs the next block (src/node/engine/chain-tip.ts) has the new key only. The
      // old key stays a registered node: it is still the node's p2p identity (its TLS certificate,
      // src/node/p2p/tls-identity.ts); the new key is registered too, as add_validator does.
      const v = decodeValidator(o.get(StateKeys.validator(a.oldPublicKey))!);
      o.delete(StateKeys.validator(a.oldPublicKey));
      o.set(StateKeys.validator(a.newPublicKey), encodeValidator({ memberId: v.memberId, power: v.power }));
      o.set(StateKeys.node(a.newPublicKey), encodeNode({ memberId: v.memberId, role: 'validator' }));
      return;
    }
  }
}
