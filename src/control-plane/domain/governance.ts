/**
 * Proposals -> chain governance actions, their hash, and vote signature checks. What a
 * member signs is the chain's governanceVotePayload(chainId, proposalId, actionHash, vote)
 * under tag consortia/gov-vote/v1 — the same bytes the chain re-verifies at execution.
 */
import { ConsortiaError } from '../../lib/errors.js';
import {
  encodeGovernanceAction,
  fromHex,
  governanceVotePayload,
  sha256,
  TAG_GOV_VOTE,
  toHex,
  verifyDomain,
  type GovernanceAction,
  type GovernanceVote,
} from './chain-port.js';
import { CpCodes } from './errors.js';
import type { ChainActionJson, VoteRecord } from './types.js';

export function chainActionFromJson(a: ChainActionJson): GovernanceAction {
  switch (a.type) {
    case 'add_member':
      return {
        type: 'add_member',
        memberId: a.memberId,
        name: a.name,
        adminKeys: a.adminKeys.map((k) => fromHex(k, 32)),
      };
    case 'remove_member':
      return { type: 'remove_member', memberId: a.memberId };
    case 'add_validator':
      return {
        type: 'add_validator',
        memberId: a.memberId,
        publicKey: fromHex(a.publicKey, 32),
        power: a.power,
        proofOfPossession: fromHex(a.proofOfPossession, 64),
      };
    case 'remove_validator':
      return { type: 'remove_validator', publicKey: fromHex(a.publicKey, 32) };
    case 'register_node':
      return { type: 'register_node', memberId: a.memberId, publicKey: fromHex(a.publicKey, 32), role: a.role };
    case 'change_params':
      return { type: 'change_params', params: a.params } as GovernanceAction;
    case 'rotate_validator_key':
      return {
        type: 'rotate_validator_key',
        oldPublicKey: fromHex(a.oldPublicKey, 32),
        newPublicKey: fromHex(a.newPublicKey, 32),
        proofOfPossession: fromHex(a.proofOfPossession, 64),
      };
    case 'replace_admin_keys':
      return {
        type: 'replace_admin_keys',
        memberId: a.memberId,
        newAdminKeys: a.newAdminKeys.map((k) => fromHex(k, 32)),
        endorsement:
          a.endorsement === null
            ? null
            : { adminKey: fromHex(a.endorsement.adminKey, 32), signature: fromHex(a.endorsement.signature, 64) },
      };
  }
}

export function actionHashHex(a: ChainActionJson): string {
  return toHex(sha256(encodeGovernanceAction(chainActionFromJson(a))));
}

/** Decodes a hex field or fails VALIDATION_FAILED naming it (bad hex is bad input, not a bad signature). */
export function hexField(value: string, field: string, len: number): Uint8Array {
  if (!/^[0-9a-f]*$/.test(value) || value.length !== len * 2) {
    throw new ConsortiaError(CpCodes.VALIDATION_FAILED, `${field} must be ${len} bytes of lowercase hex`, { field });
  }
  return fromHex(value, len);
}

/** Throws INVALID_SIGNATURE unless `signature` is adminKey's signature over the vote payload. */
export function verifyVoteSignature(
  chainId: string,
  proposalId: string,
  actionHash: string,
  v: Pick<VoteRecord, 'adminKey' | 'vote' | 'signature'>,
): void {
  const pk = hexField(v.adminKey, 'adminKey', 32);
  const sig = hexField(v.signature, 'signature', 64);
  const payload = governanceVotePayload(chainId, proposalId, fromHex(actionHash, 32), v.vote);
  let ok = false;
  try {
    ok = verifyDomain(TAG_GOV_VOTE, pk, payload, sig);
  } catch {
    ok = false;
  }
  if (!ok)
    throw new ConsortiaError(
      CpCodes.INVALID_SIGNATURE,
      'vote signature does not verify for this proposal and admin key',
      { field: 'signature' },
    );
}

export function votesForChain(votes: VoteRecord[]): GovernanceVote[] {
  return votes.map((v) => ({
    memberId: v.memberId,
    adminKey: fromHex(v.adminKey, 32),
    vote: v.vote,
    signature: fromHex(v.signature, 64),
  }));
}
