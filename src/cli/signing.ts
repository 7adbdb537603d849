import { ConsortiaError } from '../lib/errors.js';
import {
  domainMessage,
  fromHex,
  genesisFromJSON,
  genesisHash,
  governanceActionHash,
  governanceVotePayload,
  Tags,
  toHex,
} from './chain-port.js';
import { CliCodes } from './errors.js';
import type { OrgKey } from './key-file.js';

/** Signed governance vote body for POST .../votes (docs/control-plane.md#governance); signed by the key's custody backend. */
export async function signVote(
  key: OrgKey,
  memberId: string,
  chainId: string,
  proposalId: string,
  actionHashHex: string,
  vote: 'YES' | 'NO',
) {
  const payload = governanceVotePayload(chainId, proposalId, fromHex(actionHashHex, 32), vote);
  return {
    memberId,
    vote,
    adminKey: toHex(key.publicKey),
    signature: toHex(await key.signer.sign(domainMessage(Tags.GOV_VOTE, payload))),
  };
}

export interface RegistrationView {
  id: string;
  orgId: string;
  role: string;
  status: { identity?: { publicKey: string } };
  registration?: {
    status: string;
    proposalId: string;
    txHash?: string;
    action?: { type: string; memberId: string; publicKey: string; role: string };
    actionHash?: string;
  };
}

/**
 * Signed registration of one's own node (POST .../nodes/:id/registration): a YES vote over the
 * register_node action, whose hash is recomputed here from the node's key and role — never a hash
 * we were merely told.
 */
export async function signNodeRegistration(key: OrgKey, memberId: string, chainId: string, node: RegistrationView) {
  const reg = node.registration;
  const a = reg?.action;
  const pk = node.status.identity?.publicKey;
  if (!reg || reg.status !== 'AWAITING_SIGNATURE' || !a || !pk) {
    throw new ConsortiaError(
      CliCodes.INVALID_STATE,
      `node ${node.id} is not awaiting a registration signature (${reg?.status ?? 'none needed'})`,
    );
  }
  if (
    a.type !== 'register_node' ||
    a.memberId !== memberId ||
    a.memberId !== node.orgId ||
    a.publicKey !== pk ||
    a.role !== node.role
  ) {
    throw new ConsortiaError(
      CliCodes.INVALID_STATE,
      `registration of ${node.id} does not match the node (${JSON.stringify(a)}); refusing to sign`,
    );
  }
  const hash = toHex(
    governanceActionHash({
      type: 'register_node',
      memberId,
      publicKey: fromHex(pk, 32),
      role: a.role as 'super' | 'ordinary' | 'light',
    }),
  );
  const v = await signVote(key, memberId, chainId, reg.proposalId, hash, 'YES');
  return { memberId, adminKey: v.adminKey, signature: v.signature };
}

/** Signed genesis approval body for POST .../ceremony/approvals. */
export async function signGenesisApproval(key: OrgKey, memberId: string, genesisHashHex: string) {
  return {
    memberId,
    adminKey: toHex(key.publicKey),
    signature: toHex(await key.signer.sign(domainMessage(Tags.GENESIS_APPROVAL, fromHex(genesisHashHex, 32)))),
  };
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
