import { ConsortiaError } from '../../lib/errors.js';
import { bytesEqual, toHex, type Hash } from '../bytes.js';
import { LightCodes } from '../light/codes.js';
import { WorldState } from './world-state.js';

/**
 * A state snapshot is the full key/value state after some height; it is trusted only if it
 * rebuilds exactly the state root of a header that was itself verified (light/header-chain).
 */
export function stateFromSnapshot(entries: Iterable<readonly [string, Uint8Array]>, expectedRoot: Hash): WorldState {
  const s = WorldState.fromEntries(entries);
  if (!bytesEqual(s.root(), expectedRoot)) {
    throw new ConsortiaError(LightCodes.SNAPSHOT_ROOT_MISMATCH, 'snapshot does not rebuild the certified state root', {
      expected: toHex(expectedRoot),
      got: toHex(s.root()),
    });
  }
  return s;
}
