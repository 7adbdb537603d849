/**
 * Proposal kind rotate_validator_key: a validator node replaces its consensus key without leaving the
 * set. The control plane asks the node (its admin API, POST /v1/consensus-keys) for a key made in
 * the node's own key backend, checks its proof of possession, and proposes the chain action
 * rotate_validator_key(old, new, pop) (src/chain/governance.ts). Only public data crosses.
 */
import { NodeRefusedKeyError } from '../reconciler/node-consensus-key.js';
import { ConsortiaError } from '../../lib/errors.js';
import { CpCodes } from '../domain/errors.js';
import { verifyProofOfPossession } from '../domain/genesis.js';
import type {
  ApiAction,
  ChainActionJson,
  Consortium,
  NodeRecord,
  PreparedValidatorKey,
  Proposal,
} from '../domain/types.js';
import type { ApiContext } from './context.js';

/** The key a validator node signs consensus messages with, as the control plane recorded it. */
export function currentConsensusKey(n: NodeRecord): string | undefined {
  return n.consensusKey?.publicKey ?? n.status.identity?.publicKey;
}

const refuse = (code: string, msg: string, details: Record<string, unknown> = { field: 'action.nodeId' }) =>
  new ConsortiaError(code, msg, details);

/**
 * Checks the request and gets the node's new key: runs before the proposal's transaction (it calls
 * the node), which is safe to repeat since the node hands out its pending key again.
 */
export async function resolveValidatorKeyRotation(
  ctx: ApiContext,
  c: Consortium,
  a: Extract<ApiAction, { type: 'rotate_validator_key' }>,
  proposerOrg: string | null,
): Promise<ChainActionJson> {
  if (c.status !== 'ACTIVE')
    throw refuse(
      CpCodes.INVALID_STATE,
      `consortium ${c.id} is ${c.status}: a validator key is rotated on its running chain`,
      { field: 'action.type' },
    );
  const n = await ctx.q.node(c.id, a.nodeId);
  if (!n || n.desired === 'deleted')
    throw refuse(CpCodes.INVALID_ACTION, `node ${a.nodeId} not found in this consortium`);
  if (n.role !== 'validator')
    throw refuse(CpCodes.INVALID_ACTION, `node ${a.nodeId} has role ${n.role}, not validator`);
  if (proposerOrg !== n.orgId)
    throw refuse(CpCodes.FORBIDDEN, `only ${n.orgId} proposes the rotation of its validator's key`, {
      field: 'action.nodeId',
      reason: 'organization',
    });
  const oldKey = currentConsensusKey(n);
  if (!n.status.identity?.verified || oldKey === undefined)
    throw refuse(CpCodes.INVALID_ACTION, `node ${a.nodeId} has not reported a verified identity yet`);
  if (n.status.inValidatorSet === false)
    throw refuse(CpCodes.INVALID_STATE, `node ${a.nodeId} is not in the validator set: there is no key to rotate`);
  const open = (await ctx.q.allProposals(c.id)).find(
    (p: Proposal) =>
      (p.status === 'IN_PROGRESS' || p.status === 'APPROVED') &&
      p.chainAction.type === 'rotate_validator_key' &&
      p.chainAction.oldPublicKey === oldKey,
  );
  if (open)
    throw refuse(
      CpCodes.INVALID_STATE,
      `proposal ${open.id} already rotates the key of node ${a.nodeId} (${open.status})`,
      {
        field: 'action.nodeId',
        proposalId: open.id,
      },
    );
  // A KMS node holds no kms:CreateKey (src/node/rpc/routes/consensus-keys.ts refuses it too).
  if (n.key?.backend === 'aws-kms')
    throw refuse(
      CpCodes.INVALID_STATE,
      `node ${a.nodeId} keeps its key in AWS KMS (provider ${n.key.provider}), where a node cannot make a new key`,
      { field: 'action.nodeId' },
    );
  if (!ctx.requestConsensusKey)
    throw refuse(CpCodes.UNSUPPORTED, 'this control plane cannot reach node admin APIs', { field: 'action.type' });
  if (!n.status.ready || !n.status.endpoints)
    throw refuse(CpCodes.NODE_UNAVAILABLE, `node ${a.nodeId} is not running and ready; retry when it is`);
  let k: PreparedValidatorKey;
  try {
    k = await ctx.requestConsensusKey(n);
  } catch (err) {
    if (err instanceof NodeRefusedKeyError && err.status === 409)
      throw refuse(CpCodes.INVALID_STATE, `node ${a.nodeId} cannot make a new key: ${err.message}`, {
        field: 'action.nodeId',
      });
    throw refuse(CpCodes.NODE_UNAVAILABLE, `node ${a.nodeId} did not make a new key: ${(err as Error).message}`);
  }
  if (k.currentKey !== oldKey)
    throw refuse(
      CpCodes.INVALID_STATE,
      `node ${a.nodeId} signs with ${k.currentKey.slice(0, 16)}…, not the recorded ${oldKey.slice(0, 16)}…: wait for the control plane to catch up`,
    );
  if (k.publicKey === oldKey || !verifyProofOfPossession(c.chainId, k.publicKey, k.proofOfPossession))
    throw refuse(
      CpCodes.NODE_UNAVAILABLE,
      `node ${a.nodeId} answered with a key whose proof of possession does not verify`,
    );
  return {
    type: 'rotate_validator_key',
    oldPublicKey: oldKey,
    newPublicKey: k.publicKey,
    proofOfPossession: k.proofOfPossession,
  };
}
