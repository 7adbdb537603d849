import { ConsortiaError } from '../../lib/errors.js';
import type { BlockHeader } from '../block.js';
import { verifyMerkleProof, type MerkleProof } from '../merkle.js';
import { verifyStateProof, type StateProof } from '../state/world-state.js';
import { LightCodes } from './codes.js';

/** Throws STATE_PROOF_INVALID unless `value` (undefined = absent) is what `header`'s state root commits for `key`. */
export function checkStateValue(
  header: BlockHeader,
  key: string,
  value: Uint8Array | undefined,
  proof: StateProof,
): void {
  if (!verifyStateProof(header.stateRoot, key, value, proof)) {
    throw new ConsortiaError(
      LightCodes.STATE_PROOF_INVALID,
      `proof for ${key} does not match the state root of header ${header.height}`,
    );
  }
}

/** Throws TX_PROOF_INVALID unless `tx` is included in `header`'s tx root. */
export function checkTxInclusion(header: BlockHeader, tx: Uint8Array, proof: MerkleProof): void {
  if (!verifyMerkleProof(header.txRoot, tx, proof)) {
    throw new ConsortiaError(LightCodes.TX_PROOF_INVALID, `tx is not included in header ${header.height}`);
  }
}
