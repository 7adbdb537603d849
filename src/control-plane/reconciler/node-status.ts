/**
 * What the reconciler reads from a running node's GET /v1/status: its height and, when the node
 * reports it (tiered storage, docs/storage-tiers.md), the retained block range and bytes on disk. Anything
 * malformed is ignored rather than copied into the API.
 */
import { fetch, type Dispatcher } from 'undici';
import type { NodeStorageStatus } from '../domain/types.js';

export interface NodeChainStatus {
  height: number;
  storage?: NodeStorageStatus;
  /** Whether the node's own key is in the current validator set (when the node reports both). */
  inValidatorSet?: boolean;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

export function parseNodeStatus(body: unknown): NodeChainStatus | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const j = body as {
    height?: unknown;
    nodeKey?: unknown;
    consensusKey?: unknown;
    genesisInstalled?: unknown;
    validators?: unknown;
    storage?: { lowestHeight?: unknown; highestHeight?: unknown; bytes?: unknown } | null;
  };
  if (!isCount(j.height)) return undefined;
  const s = j.storage;
  const storage =
    s && isCount(s.lowestHeight) && isCount(s.highestHeight) && isCount(s.bytes) && s.lowestHeight <= s.highestHeight
      ? { lowestHeight: s.lowestHeight, highestHeight: s.highestHeight, bytes: s.bytes }
      : undefined;
  const keys = Array.isArray(j.validators)
    ? j.validators.map((v) => (v as { publicKey?: unknown } | null)?.publicKey)
    : undefined;
  // A validator that rotated its consensus key votes as that key; its node key stays its p2p identity.
  const signingKey = typeof j.consensusKey === 'string' ? j.consensusKey : j.nodeKey;
  const inValidatorSet =
    j.genesisInstalled === true && typeof signingKey === 'string' && keys?.every((k) => typeof k === 'string')
      ? keys.includes(signingKey)
      : undefined;
  return {
    height: j.height,
    ...(storage ? { storage } : {}),
    ...(inValidatorSet !== undefined ? { inValidatorSet } : {}),
  };
}

/** `dispatcher`: trusts the node CA (main.ts), for nodes serving HTTPS with a certificate it signed. */
export async function httpFetchNodeStatus(
  api: string,
  timeoutMs = 2000,
  dispatcher?: Dispatcher,
): Promise<NodeChainStatus | undefined> {
  const r = await fetch(`${api}/v1/status`, {
    signal: AbortSignal.timeout(timeoutMs),
    ...(dispatcher ? { dispatcher } : {}),
  });
  if (!r.ok) return undefined;
  return parseNodeStatus(await r.json());
}
