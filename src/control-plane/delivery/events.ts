/**
 * Pure event building: which txs of a committed block a subscription's filter selects, the
 * deterministic event ids and positions, and the control-plane change events. No I/O.
 */
import { decodeTx, toHex, txHash } from '../domain/chain-port.js';
import type { AuditEvent } from '../domain/types.js';
import type { DeliveryEvent, PendingEvent, Subscription, SubscriptionFilter } from './types.js';

/** A committed block as the worker reads it from a node (GET /v1/blocks/{h}), txs decoded. */
export interface BlockView {
  height: number;
  hash: string;
  timeMs: number;
  txs: TxView[];
}

export interface TxView {
  hash: string;
  type: string;
  signer: string;
  nonce: number;
  /** The tx body as JSON (bytes hex, amounts decimal strings), without `type`. */
  body: Record<string, unknown>;
}

/** Decodes one committed tx (encoded bytes) into its JSON view. */
export function txView(bytes: Uint8Array): TxView {
  const tx = decodeTx(bytes);
  const body: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(tx.body)) {
    if (k === 'type') continue;
    body[k] =
      v instanceof Uint8Array
        ? toHex(v)
        : typeof v === 'bigint'
          ? v.toString(10)
          : k === 'action' || k === 'votes'
            ? jsonSafe(v)
            : v;
  }
  return { hash: toHex(txHash(bytes)), type: tx.body.type, signer: toHex(tx.signer), nonce: tx.nonce, body };
}

function jsonSafe(v: unknown): unknown {
  if (v instanceof Uint8Array) return toHex(v);
  if (typeof v === 'bigint') return v.toString(10);
  if (Array.isArray(v)) return v.map(jsonSafe);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonSafe(x)]));
  return v;
}

const ASSET_TXS: ReadonlySet<string> = new Set(['create_asset', 'issue_asset', 'burn_asset', 'transfer']);

/** Whether a tx-level filter selects this tx (blocks and control_plane select no single tx). */
export function txMatches(f: SubscriptionFilter, tx: TxView): boolean {
  switch (f.kind) {
    case 'account_txs':
      return tx.signer === f.account || tx.body['to'] === f.account || tx.body['issuer'] === f.account;
    case 'asset_movements':
      return ASSET_TXS.has(tx.type) && tx.body['asset'] === f.asset;
    case 'anchors':
      return tx.type === 'anchor' && (f.account === undefined || tx.signer === f.account);
    default:
      return false;
  }
}

const pad = (n: number, w: number) => n.toString().padStart(w, '0');
export const chainPosition = (height: number, index: number) => `${pad(height, 12)}-${pad(index, 6)}`;
export const changePosition = (seq: number) => `c${pad(seq, 15)}`;

/** Event ids: `${height}:${index}:${kind}` (chain; a block event has index 0) and `${seq}:control_plane`. */
export function eventIdOf(kind: Subscription['filter']['kind'], height: number, index: number): string {
  return `${height}:${index}:${kind}`;
}

/** The dead-letter position of an event id, or undefined if the id is not one this module makes. */
export function positionOfEventId(id: string): string | undefined {
  const parts = id.split(':');
  const nums = parts.slice(0, -1).map(Number);
  if (!nums.every((n) => Number.isSafeInteger(n) && n >= 0)) return undefined;
  if (parts.length === 2 && parts[1] === 'control_plane') return changePosition(nums[0]!);
  if (parts.length === 3 && parts[2] !== 'control_plane') return chainPosition(nums[0]!, nums[1]!);
  return undefined;
}

/**
 * Index of the next position of `block` at or after `fromIndex` this subscription delivers, or
 * undefined when the rest of the block has nothing for it. Blocks: index 0 is the block's event.
 */
export function nextIndexInBlock(sub: Subscription, block: BlockView, fromIndex: number): number | undefined {
  if (sub.filter.kind === 'blocks') return fromIndex === 0 ? 0 : undefined;
  for (let i = fromIndex; i < block.txs.length; i++) if (txMatches(sub.filter, block.txs[i]!)) return i;
  return undefined;
}

/** The event at (block, index) for this subscription; `code` is the tx's execution result ('OK' or a rejection code). */
export function chainEvent(sub: Subscription, block: BlockView, index: number, code: string | undefined): PendingEvent {
  const base = {
    id: eventIdOf(sub.filter.kind, block.height, index),
    kind: sub.filter.kind,
    subscriptionId: sub.id,
    consortiumId: sub.consortiumId,
    height: block.height,
    index,
    blockHash: block.hash,
    at: new Date(block.timeMs).toISOString(),
  };
  let event: DeliveryEvent;
  let next: PendingEvent['next'];
  if (sub.filter.kind === 'blocks') {
    event = {
      ...base,
      block: {
        height: block.height,
        hash: block.hash,
        time: base.at,
        txCount: block.txs.length,
        txHashes: block.txs.map((t) => t.hash),
      },
    };
    next = { height: block.height + 1, index: 0, seq: 0 };
  } else {
    const t = block.txs[index]!;
    event = {
      ...base,
      tx: { hash: t.hash, type: t.type, signer: t.signer, nonce: t.nonce, body: t.body, code: code ?? 'UNKNOWN' },
    };
    next = { height: block.height, index: index + 1, seq: 0 };
  }
  return { event, position: chainPosition(block.height, index), next, committedAtMs: block.timeMs };
}

/** Whether a control-plane change belongs to this subscription: its consortium's resources, visible to its organization. */
export function changeMatches(sub: Subscription, a: AuditEvent): boolean {
  const r = a.resource;
  const inConsortium = r === `consortia/${sub.consortiumId}` || r.startsWith(`consortia/${sub.consortiumId}/`);
  return inConsortium && a.orgIds.includes(sub.orgId);
}

export function changeEvent(sub: Subscription, seq: number, a: AuditEvent): PendingEvent {
  const event: DeliveryEvent = {
    id: `${seq}:control_plane`,
    kind: 'control_plane',
    subscriptionId: sub.id,
    consortiumId: sub.consortiumId,
    at: a.at,
    change: {
      seq,
      id: a.id,
      type: a.action,
      resource: a.resource,
      actor: a.actor,
      ...(a.details ? { details: a.details } : {}),
    },
  };
  return { event, position: changePosition(seq), next: { height: 0, index: 0, seq }, committedAtMs: Date.parse(a.at) };
}
