/**
 * What the reconciler reads from a running node's GET /v1/status: its height and, when the node
 * reports it (tiered storage, docs/storage-tiers.md), the retained block range and bytes on disk. Anything
 * malformed is ignored rather than copied into the API.
 */
import type { NodeStorageStatus } from '../domain/types.js';

export interface NodeChainStatus {
  height: number;
  storage?: NodeStorageStatus;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

export function parseNodeStatus(body: unknown): NodeChainStatus | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const j = body as { height?: unknown; storage?: { lowestHeight?: unknown; highestHeight?: unknown; bytes?: unknown } | null };
  if (!isCount(j.height)) return undefined;
  const s = j.storage;
  const storage = s && isCount(s.lowestHeight) && isCount(s.highestHeight) && isCount(s.bytes) && s.lowestHeight <= s.highestHeight
    ? { lowestHeight: s.lowestHeight, highestHeight: s.highestHeight, bytes: s.bytes }
    : undefined;
  return { height: j.height, ...(storage ? { storage } : {}) };
}

export async function httpFetchNodeStatus(api: string, timeoutMs = 2000): Promise<NodeChainStatus | undefined> {
  const r = await fetch(`${api}/v1/status`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!r.ok) return undefined;
  return parseNodeStatus(await r.json());
}
