import { fromHex, genesisFromJSON, genesisHash, governanceVotePayload, signDomainPortable, Tags, toHex } from './chain-port.js';
import type { OrgKey } from './key-file.js';

/** Signed governance vote body for POST .../votes (contracts §5). */
export function signVote(key: OrgKey, memberId: string, chainId: string, proposalId: string, actionHashHex: string, vote: 'YES' | 'NO') {
  const payload = governanceVotePayload(chainId, proposalId, fromHex(actionHashHex, 32), vote);
  return { memberId, vote, adminKey: toHex(key.publicKey), signature: toHex(signDomainPortable(Tags.GOV_VOTE, key.secretKey, payload)) };
}

/** Signed genesis approval body for POST .../ceremony/approvals. */
export function signGenesisApproval(key: OrgKey, memberId: string, genesisHashHex: string) {
  return { memberId, adminKey: toHex(key.publicKey), signature: toHex(signDomainPortable(Tags.GENESIS_APPROVAL, key.secretKey, fromHex(genesisHashHex, 32))) };
}

/** Recomputes the genesis hash from the genesis document (so we never sign a hash we were merely told). */
export function computeGenesisHash(doc: unknown): string {
  const g = genesisOf(doc);
  const withAccounts = { accounts: [], ...(g as Record<string, unknown>) };
  return toHex(genesisHash(genesisFromJSON(withAccounts)));
}

/** The genesis inside GET .../ceremony/genesis ({sealedGenesis:{genesis}}), a sealed genesis, or a bare genesis. */
export function genesisOf(doc: unknown): Record<string, unknown> {
  const d = doc as { sealedGenesis?: { genesis?: unknown }; genesis?: unknown };
  return (d.sealedGenesis?.genesis ?? d.genesis ?? doc) as Record<string, unknown>;
}
