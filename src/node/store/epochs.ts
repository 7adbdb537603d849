import {
  decodeCommit,
  decodeHeader,
  encodeHeader,
  fromHex,
  stateProofFromJSON,
  stateProofToJSON,
  toHex,
  type BlockHeader,
  type CommitCertificate,
  type StateProof,
  type ValidatorInfo,
  type ValsetEpoch,
} from '../../chain/index.js';

/**
 * Epoch record: block h changed the validator set. Kept forever by every full node (a few
 * hundred bytes per change) so that a snapshot joiner or light client can skip from genesis
 * to any height without the pruned history (chain/light verifyHeaderSkipping).
 */
export interface EpochJSON {
  header: string;
  commit: string;
  validators: { publicKey: string; power: number; memberId: string }[];
  proof: ReturnType<typeof stateProofToJSON>;
}

export function encodeEpoch(
  header: BlockHeader,
  commitBytes: Uint8Array,
  validators: ValidatorInfo[],
  proof: StateProof,
): Uint8Array {
  const j: EpochJSON = {
    header: toHex(encodeHeader(header)),
    commit: toHex(commitBytes),
    validators: validators.map((v) => ({ publicKey: toHex(v.publicKey), power: v.power, memberId: v.memberId })),
    proof: stateProofToJSON(proof),
  };
  return Buffer.from(JSON.stringify(j));
}

export function epochToJSON(b: Uint8Array): EpochJSON {
  return JSON.parse(Buffer.from(b).toString('utf8')) as EpochJSON;
}

/** Throws on malformed input (callers treat that as a lying peer). */
export function epochFromJSON(j: EpochJSON): ValsetEpoch {
  const header: BlockHeader = decodeHeader(fromHex(j.header));
  const commit: CommitCertificate = decodeCommit(fromHex(j.commit));
  if (!Array.isArray(j.validators) || j.validators.length === 0 || j.validators.length > 1000)
    throw new Error('bad epoch validators');
  const validators = j.validators.map((v) => {
    if (!Number.isSafeInteger(v.power) || v.power < 1 || typeof v.memberId !== 'string')
      throw new Error('bad epoch validator');
    return { publicKey: fromHex(v.publicKey, 32), power: v.power, memberId: v.memberId };
  });
  return { header, commit, change: { validators, proof: stateProofFromJSON(j.proof) } };
}
