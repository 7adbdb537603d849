/**
 * Asks a validator node for a new consensus key: POST /v1/consensus-keys on its API with its admin
 * token (src/node/rpc/routes/consensus-keys.ts). The node makes the key in its own backend and
 * answers with public data only; a node that cannot be reached or refuses is an error here.
 */
import { fetch, type Dispatcher } from 'undici';
import { openNodeAdminToken } from '../domain/node-credentials.js';
import type { NodeRecord, PreparedValidatorKey } from '../domain/types.js';
import type { Queries } from '../store/index.js';

/** A node generating a key in a PKCS#11 token answers within this; longer is reported as unavailable. */
export const CONSENSUS_KEY_REQUEST_TIMEOUT_MS = 15_000;
const HEX32 = /^[0-9a-f]{64}$/;
const HEX64 = /^[0-9a-f]{128}$/;

/** The node answered, and refused: a 409 (e.g. KEY_ROTATION_UNSUPPORTED) is the node's state, not its absence. */
export class NodeRefusedKeyError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

export function nodeConsensusKeyRequester(
  q: Pick<Queries, 'nodeSecret'>,
  nodeSecretsKey: Buffer,
  dispatcher?: Dispatcher,
): (node: NodeRecord) => Promise<PreparedValidatorKey> {
  return async (node) => {
    const api = node.status.endpoints?.api;
    if (api === undefined) throw new Error('the node publishes no API endpoint');
    const rec = await q.nodeSecret(node.consortiumId, node.id);
    if (!rec) throw new Error('the node has no admin credential yet');
    const token = openNodeAdminToken(nodeSecretsKey, rec);
    const r = await fetch(`${api}/v1/consensus-keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: '{}',
      signal: AbortSignal.timeout(CONSENSUS_KEY_REQUEST_TIMEOUT_MS),
      ...(dispatcher ? { dispatcher } : {}),
    });
    const body = (await r.json().catch(() => null)) as Record<string, unknown> | null;
    if (!r.ok) {
      const e = (body?.['error'] ?? {}) as { code?: string; message?: string };
      throw new NodeRefusedKeyError(r.status, e.code, `HTTP ${r.status} ${e.code ?? ''} ${e.message ?? ''}`.trim());
    }
    const publicKey = body?.['publicKey'];
    const proofOfPossession = body?.['proofOfPossession'];
    const currentKey = body?.['currentKey'];
    if (
      typeof publicKey !== 'string' ||
      !HEX32.test(publicKey) ||
      typeof currentKey !== 'string' ||
      !HEX32.test(currentKey) ||
      typeof proofOfPossession !== 'string' ||
      !HEX64.test(proofOfPossession)
    )
      throw new Error('malformed answer');
    return { publicKey, proofOfPossession, currentKey };
  };
}
