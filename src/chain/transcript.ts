/**
 * Hash-chained genesis ceremony transcript. Each entry's hash = SHA-256 over the canonical JSON
 * of {seq, type, at, data, prevHash}; prevHash links to the previous entry (64 zeros for
 * the first). The control plane appends entries; the CLI verifies a downloaded transcript with
 * verifyTranscript, the same code, which is why it lives here and not in src/control-plane.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../lib/canonical-json.js';

export interface TranscriptEntry {
  seq: number;
  type: string;
  at: string;
  data: unknown;
  prevHash: string;
  hash: string;
}

export const GENESIS_PREV_HASH = '0'.repeat(64);

export function entryHash(e: Omit<TranscriptEntry, 'hash'>): string {
  const body = canonicalJson({ seq: e.seq, type: e.type, at: e.at, data: e.data, prevHash: e.prevHash });
  return createHash('sha256').update(body, 'utf8').digest('hex');
}

export function appendEntry(entries: TranscriptEntry[], type: string, at: string, data: unknown): TranscriptEntry[] {
  const prev = entries[entries.length - 1];
  const base = { seq: entries.length, type, at, data, prevHash: prev ? prev.hash : GENESIS_PREV_HASH };
  return [...entries, { ...base, hash: entryHash(base) }];
}

export type TranscriptVerdict =
  | { ok: true; head: string; length: number }
  | { ok: false; index: number; reason: string };

export function verifyTranscript(entries: readonly TranscriptEntry[]): TranscriptVerdict {
  let prevHash = GENESIS_PREV_HASH;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (e.seq !== i) return { ok: false, index: i, reason: `seq ${String(e.seq)} != ${i}` };
    if (e.prevHash !== prevHash) return { ok: false, index: i, reason: 'prevHash does not link to the previous entry' };
    if (entryHash(e) !== e.hash) return { ok: false, index: i, reason: 'hash does not match the entry content' };
    prevHash = e.hash;
  }
  return { ok: true, head: prevHash, length: entries.length };
}
