import { ConsortiaError } from '../../lib/errors.js';

/**
 * What a peer provably did wrong. Only signatures count: a node sends its own signed votes and
 * proposals and gossips txs it verified, so a bad signature from a peer is that peer's doing,
 * while a message it cannot decode may just be a newer version's (a rolling upgrade must not
 * turn into bans).
 */
export const P2PCodes = { BAD_SIGNATURE: 'P2P_BAD_SIGNATURE' } as const;

/** Thrown by a message handler: the network counts it against the peer (see P2PNetwork.penalize). */
export function badSignature(what: string): ConsortiaError {
  return new ConsortiaError(P2PCodes.BAD_SIGNATURE, `${what} signature does not verify`);
}
