import { Type } from 'typebox';
import type { NodeApiContext, NodeApp } from '../context.js';
import { hex } from '../json.js';
import { requireGenesis, supported } from './common.js';

/** Nothing to send: the node chooses the backend (its node key's) and generates the key itself. */
const RotateBody = Type.Object({}, { additionalProperties: false });

/**
 * Consensus key rotation (src/node/consensus-keys.ts). POST is an admin route like every mutating
 * one (rpc/admin-auth.ts): it makes the node generate a key inside its backend and answers with
 * the public key and proof of possession a `rotate_validator_key` proposal carries; the private key
 * never leaves the backend. GET lists the public keys the node holds and which one signs now.
 */
export function registerConsensusKeyRoutes(app: NodeApp, ctx: NodeApiContext): void {
  const { backend } = ctx;

  app.get('/v1/consensus-keys', async () => {
    const list = supported(backend.consensusKeys?.bind(backend), 'consensus key rotation')();
    return { keys: list };
  });

  app.post(
    '/v1/consensus-keys',
    { schema: { body: Type.Optional(RotateBody) }, preHandler: requireGenesis(backend) },
    async () => {
      const p = supported(backend.prepareConsensusKey?.bind(backend), 'consensus key rotation')();
      return {
        publicKey: hex(p.publicKey),
        proofOfPossession: hex(p.proofOfPossession),
        currentKey: hex(p.currentKey),
        created: p.created,
      };
    },
  );
}
