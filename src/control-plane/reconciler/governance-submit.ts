/**
 * Submits one governance tx (the action plus the members' signed votes) to a node, signed by the
 * control plane's submitter key: an account with no authority of its own — the chain re-verifies
 * every vote. Creates the submitter account on first use.
 */
import { encodeTx, signTx, toHex, type GovernanceAction, type GovernanceVote, type KeyPair, type UnsignedTx } from '../domain/chain-port.js';
import type { NodeRecord } from '../domain/types.js';
import type { ChainClient, SubmitResult } from './governance-worker.js';

export interface GovernanceTx {
  proposalId: string;
  action: GovernanceAction;
  votes: GovernanceVote[];
}

export async function submitGovernanceTx(chain: ChainClient, submitter: KeyPair, chainId: string, api: string, g: GovernanceTx): Promise<SubmitResult> {
  const send = (u: UnsignedTx) => chain.submit(api, toHex(encodeTx(signTx(u, submitter.secretKey))));
  const pk = toHex(submitter.publicKey);
  let nonce = await chain.accountNonce(api, pk);
  if (nonce === null) {
    const created = await send({ chainId, signer: submitter.publicKey, nonce: 0, body: { type: 'create_account' } });
    if (!created.ok && created.code !== 'ACCOUNT_EXISTS') return { ...created, retry: true };
    nonce = (await chain.accountNonce(api, pk)) ?? 1;
  }
  const res = await send({ chainId, signer: submitter.publicKey, nonce, body: { type: 'governance', proposalId: g.proposalId, action: g.action, votes: g.votes } });
  return res.code === 'BAD_NONCE' ? { ...res, retry: true } : res;
}

/** API URL of a ready, running node of the consortium to submit to. */
export function readyNodeApi(nodes: NodeRecord[]): string | undefined {
  return nodes.find((n) => n.desired === 'present' && n.mode === 'run' && n.status.ready && n.status.endpoints?.api)?.status.endpoints?.api;
}
