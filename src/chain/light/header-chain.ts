import { ConsortiaError } from '../../lib/errors.js';
import { bytesEqual, type Hash } from '../bytes.js';
import {
  blockHash,
  validatorSetHash,
  verifyCommit,
  type BlockHeader,
  type CommitCertificate,
  type ValidatorInfo,
} from '../block.js';
import { StateKeys } from '../state/records.js';
import { verifyStateProof, type StateProof } from '../state/world-state.js';
import { LightCodes } from './codes.js';

/**
 * Header-chain verification for light clients and snapshot bootstrap (pure).
 *
 * Trust at height h is (header hash, state root, V(h)). Header h+1 must extend the hash chain and
 * carry a commit of > 2/3 of V(h+1). V(h+1) = V(h) unless the header's validatorSetHash differs;
 * then the new set must be proven by the `valset` state key under the TRUSTED state root of h
 * (executing block h produced the change), so a full node cannot invent a validator set.
 */
export interface LightTrust {
  chainId: string;
  height: number;
  /** Hash of the trusted header (genesis hash at height 0). */
  hash: Hash;
  /** State root after the trusted header (null at height 0: genesis set is given directly). */
  stateRoot: Hash | null;
  /** Validators that signed the trusted header (for height 0: the genesis set, V(1)). */
  validators: ValidatorInfo[];
}

/** A validator-set change after block `header` (its execution changed the set to `validators`). */
export interface ValsetChange {
  validators: ValidatorInfo[];
  /** Proof of the `valset` key (= validatorSetHash(validators)) under the root of the block that changed it. */
  proof: StateProof;
}

function fail(code: string, msg: string, details?: Record<string, unknown>): never {
  throw new ConsortiaError(code, msg, details);
}

function checkCommit(chainId: string, header: BlockHeader, commit: CommitCertificate, vals: ValidatorInfo[]): Hash {
  const hash = blockHash(header);
  if (commit.height !== header.height || !bytesEqual(commit.blockHash, hash)) {
    fail(LightCodes.HEADER_BAD_COMMIT, `commit does not certify header ${header.height}`);
  }
  try {
    verifyCommit(chainId, vals, commit);
  } catch (e) {
    fail(LightCodes.HEADER_BAD_COMMIT, `commit of header ${header.height} rejected: ${(e as Error).message}`, {
      cause: (e as ConsortiaError).code,
    });
  }
  return hash;
}

/** Validators that must have signed a header whose previous trusted root is `stateRoot`. */
function signersFor(
  header: BlockHeader,
  trusted: ValidatorInfo[],
  stateRoot: Hash | null,
  change?: ValsetChange,
): ValidatorInfo[] {
  if (bytesEqual(header.validatorSetHash, validatorSetHash(trusted))) return trusted;
  if (!change || stateRoot === null)
    fail(LightCodes.HEADER_VALSET_MISMATCH, `header ${header.height} names an unknown validator set`);
  if (!bytesEqual(validatorSetHash(change.validators), header.validatorSetHash)) {
    fail(LightCodes.HEADER_VALSET_MISMATCH, `offered validator set does not match header ${header.height}`);
  }
  if (!verifyStateProof(stateRoot, StateKeys.valset, header.validatorSetHash, change.proof)) {
    fail(
      LightCodes.VALSET_PROOF_INVALID,
      `validator-set change before header ${header.height} is not proven by the trusted state root`,
    );
  }
  return change.validators;
}

/** Verifies header trust.height+1; returns the new trust. Throws a LightCodes error when anything is off. */
export function verifyNextHeader(
  trust: LightTrust,
  header: BlockHeader,
  commit: CommitCertificate,
  change?: ValsetChange,
): LightTrust {
  if (header.chainId !== trust.chainId) fail(LightCodes.HEADER_NOT_CHAINED, 'header of another chain');
  if (header.height !== trust.height + 1)
    fail(LightCodes.HEADER_NOT_CHAINED, `header ${header.height} does not follow ${trust.height}`);
  if (!bytesEqual(header.prevHash, trust.hash))
    fail(LightCodes.HEADER_NOT_CHAINED, `header ${header.height} does not extend the trusted chain`);
  const vals = signersFor(header, trust.validators, trust.stateRoot, change);
  const hash = checkCommit(trust.chainId, header, commit, vals);
  return { chainId: trust.chainId, height: header.height, hash, stateRoot: header.stateRoot, validators: vals };
}

/** An epoch boundary: block `header` (certified by `commit`) changed the set to `change.validators`. */
export interface ValsetEpoch {
  header: BlockHeader;
  commit: CommitCertificate;
  change: ValsetChange;
}

/**
 * Skips from `trust` straight to a far header (snapshot bootstrap): walks the validator-set epochs
 * in order, each certified by the set before it, then checks the target header's commit. Sound
 * because a header naming a set we do not hold is rejected: a node that hides a change fails.
 */
export function verifyHeaderSkipping(
  trust: LightTrust,
  epochs: ValsetEpoch[],
  header: BlockHeader,
  commit: CommitCertificate,
): LightTrust {
  let vals = trust.validators;
  let last = trust.height;
  for (const e of epochs) {
    if (e.header.chainId !== trust.chainId || e.header.height <= last || e.header.height >= header.height) {
      fail(LightCodes.HEADER_NOT_CHAINED, `epoch header ${e.header.height} out of order`);
    }
    if (!bytesEqual(e.header.validatorSetHash, validatorSetHash(vals)))
      fail(LightCodes.HEADER_VALSET_MISMATCH, `epoch header ${e.header.height} names an unknown validator set`);
    checkCommit(trust.chainId, e.header, e.commit, vals);
    if (
      !verifyStateProof(e.header.stateRoot, StateKeys.valset, validatorSetHash(e.change.validators), e.change.proof)
    ) {
      fail(LightCodes.VALSET_PROOF_INVALID, `validator-set change at ${e.header.height} is not proven`);
    }
    vals = e.change.validators;
    last = e.header.height;
  }
  if (header.chainId !== trust.chainId || header.height <= trust.height)
    fail(LightCodes.HEADER_NOT_CHAINED, `header ${header.height} is not ahead of trust`);
  if (!bytesEqual(header.validatorSetHash, validatorSetHash(vals)))
    fail(LightCodes.HEADER_VALSET_MISMATCH, `header ${header.height} names an unknown validator set`);
  const hash = checkCommit(trust.chainId, header, commit, vals);
  return { chainId: trust.chainId, height: header.height, hash, stateRoot: header.stateRoot, validators: vals };
}
