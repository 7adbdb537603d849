/**
 * Genesis assembly for the key ceremony. Inputs are public data only: member admin keys
 * and each node's reported identity (public key + proof of possession). Node private keys
 * stay in the node's runtime; org keys stay with the org (CLI).
 */
import { ConsortiaError } from '../../lib/errors.js';
import {
  fromHex,
  genesisHash,
  proofOfPossessionPayload,
  sealedGenesisToJSON,
  TAG_GENESIS_APPROVAL,
  TAG_POP,
  toHex,
  verifyDomain,
  type Genesis,
  type SealedGenesis,
} from './chain-port.js';
import { CpCodes } from './errors.js';
import { hexField } from './governance.js';
import type { Ceremony, Consortium, GenesisRecord, Member, NodeRecord, Organization } from './types.js';

export function verifyProofOfPossession(chainId: string, publicKeyHex: string, popHex: string): boolean {
  try {
    const pk = fromHex(publicKeyHex, 32);
    return verifyDomain(TAG_POP, pk, proofOfPossessionPayload(chainId, pk), fromHex(popHex, 64));
  } catch {
    return false;
  }
}

export function assembleGenesis(
  c: Consortium,
  members: { member: Member; org: Organization }[],
  nodes: NodeRecord[],
  genesisTimeMs: number,
): GenesisRecord {
  const withId = nodes.filter((n) => n.status.identity?.verified);
  return {
    chainId: c.chainId,
    genesisTime: genesisTimeMs,
    params: { ...c.params, votingPolicy: c.votingPolicy },
    members: members.map(({ member, org }) => ({
      memberId: member.memberId,
      name: org.name,
      adminKeys: [...org.adminPublicKeys],
    })),
    validators: withId
      .filter((n) => n.role === 'validator')
      .map((n) => ({
        memberId: n.orgId,
        publicKey: n.status.identity!.publicKey,
        power: 1,
        proofOfPossession: n.status.identity!.proofOfPossession,
      })),
    nodes: withId.map((n) => ({ memberId: n.orgId, publicKey: n.status.identity!.publicKey, role: n.role })),
  };
}

export function genesisFromRecord(g: GenesisRecord): Genesis {
  return {
    chainId: g.chainId,
    genesisTime: g.genesisTime,
    params: g.params,
    members: g.members.map((m) => ({
      memberId: m.memberId,
      name: m.name,
      adminKeys: m.adminKeys.map((k) => fromHex(k, 32)),
    })),
    validators: g.validators.map((v) => ({
      memberId: v.memberId,
      publicKey: fromHex(v.publicKey, 32),
      power: v.power,
      proofOfPossession: fromHex(v.proofOfPossession, 64),
    })),
    nodes: g.nodes.map((n) => ({ memberId: n.memberId, publicKey: fromHex(n.publicKey, 32), role: n.role })),
    accounts: [],
  };
}

export function genesisHashHex(g: GenesisRecord): string {
  return toHex(genesisHash(genesisFromRecord(g)));
}

/** Throws unless adminKey is one of the member's genesis admin keys and signed genesisHash. */
export function verifyGenesisApproval(
  g: GenesisRecord,
  hashHex: string,
  a: { memberId: string; adminKey: string; signature: string },
): void {
  const member = g.members.find((m) => m.memberId === a.memberId);
  if (!member) throw new ConsortiaError(CpCodes.NOT_A_MEMBER, `${a.memberId} is not a founding member of this genesis`);
  const pk = hexField(a.adminKey, 'adminKey', 32);
  if (!member.adminKeys.includes(a.adminKey)) {
    throw new ConsortiaError(CpCodes.INVALID_KEY, 'adminKey is not an admin key of this member', { field: 'adminKey' });
  }
  const sig = hexField(a.signature, 'signature', 64);
  let ok = false;
  try {
    ok = verifyDomain(TAG_GENESIS_APPROVAL, pk, fromHex(hashHex, 32), sig);
  } catch {
    ok = false;
  }
  if (!ok)
    throw new ConsortiaError(CpCodes.INVALID_SIGNATURE, 'approval signature does not verify over the genesis hash', {
      field: 'signature',
    });
}

export function sealedGenesis(c: Ceremony): SealedGenesis {
  if (!c.genesis) throw new ConsortiaError(CpCodes.INVALID_STATE, 'genesis not assembled yet');
  return {
    genesis: genesisFromRecord(c.genesis),
    approvals: c.approvals.map((a) => ({
      memberId: a.memberId,
      adminKey: fromHex(a.adminKey, 32),
      signature: fromHex(a.signature, 64),
    })),
  };
}

/** The JSON nodes receive (PUT /v1/genesis / NodeSpec.genesis). */
export function sealedGenesisJson(c: Ceremony): unknown {
  return sealedGenesisToJSON(sealedGenesis(c));
}
