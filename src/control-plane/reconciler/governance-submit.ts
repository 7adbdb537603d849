/**
 * Submits one governance tx (the action plus the members' signed votes) to a node, signed by the
 * control plane's submitter key: an account with no authority of its own — the chain re-verifies
 * every vote. Creates the submitter account on first use.
 */
import {
  encodeTx,
  signTx,
  toHex,
  type GovernanceAction,
  type GovernanceVote,
  type KeyPair,
  type UnsignedTx,
} from '../domain/chain-port.js';
import type { NodeRecord } from '../domain/types.js';
import type { ChainClient, SubmitResult } from './chain-client.js';

export interface GovernanceTx {
  proposalId: string;
  action: GovernanceAction;
  votes: GovernanceVote[];
}

export async function submitGovernanceTx(
  chain: ChainClient,
  submitter: KeyPair,
  chainId: string,
  api: string,
  g: GovernanceTx,
): Promise<SubmitResult> {
  const send = (u: UnsignedTx) => chain.submit(api, toHex(encodeTx(signTx(u, submitter.secretKey))));
  const pk = toHex(submitter.publicKey);
  let nonce = await chain.accountNonce(api, pk);
  if (nonce === null) {
    const created = await send({ chainId, signer: submitter.publicKey, nonce: 0, body: { type: 'create_account' } });
    if (!created.ok && created.code !== 'ACCOUNT_EXISTS') return { ...created, retry: true };
    nonce = (await chain.accountNonce(api, pk)) ?? 1;
  }
  const res = await send({
    chainId,
    signer: submitter.publicKey,
    nonce,
    body: { type: 'governance', proposalId: g.proposalId, action: g.action, votes: g.votes },
  });
  return res.code === 'BAD_NONCE' ? { ...res, retry: true } : res;
}

/** How many nodes one submission tries before it waits for the next pass. */
export const SUBMIT_TARGETS_MAX = 3;

/**
 * API URLs to submit to, best first: ready running nodes, then running ones not (yet) ready for
 * their current spec — a node that is rolling to a new spec or whose readiness the control plane
 * has not re-observed since it restarted still accepts transactions.
 */
export function submitTargets(nodes: NodeRecord[]): string[] {
  const running = nodes.filter(
    (n) => n.desired === 'present' && n.mode === 'run' && n.status.phase === 'Running' && n.status.endpoints?.api,
  );
  const ordered = [...running.filter((n) => n.status.ready), ...running.filter((n) => !n.status.ready)];
  return [...new Set(ordered.map((n) => n.status.endpoints!.api))];
}

/**
 * Submits to the consortium's nodes in submitTargets order, moving on while a node does not answer
 * for the chain (unreachable, overloaded, refusing); an answer of the chain — committed, refused, or
 * accepted and pending — ends the attempt.
 */
export async function submitToConsortium(
  chain: ChainClient,
  submitter: KeyPair,
  chainId: string,
  nodes: NodeRecord[],
  g: GovernanceTx,
): Promise<SubmitResult> {
  const targets = submitTargets(nodes).slice(0, SUBMIT_TARGETS_MAX);
  let last: SubmitResult = {
    ok: false,
    code: 'NO_READY_NODE',
    retry: true,
    message: 'no running node of the consortium to submit to',
  };
  for (const api of targets) {
    last = await submitGovernanceTx(chain, submitter, chainId, api, g).catch((err: unknown) => ({
      ok: false,
      code: 'SUBMIT_FAILED',
      retry: true,
      message: `${api}: ${(err as Error).message}`,
    }));
    if (!last.retry || last.code === 'NOT_COMMITTED_YET') return last;
  }
  return last;
}
