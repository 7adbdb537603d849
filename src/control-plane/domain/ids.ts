import { randomBytes } from 'node:crypto';

/** Resource ids: a readable prefix plus 16 random hex chars (never contains '/'). */
export function newId(prefix: 'org' | 'tok' | 'cls' | 'cons' | 'prop' | 'node' | 'evt' | 'sub'): string {
  return `${prefix}_${randomBytes(8).toString('hex')}`;
}

/** Time-ordered id for append-only logs (audit events, change events): sortable by key. */
let lastMs = 0;
let seq = 0;
export function timeOrderedId(nowMs: number): string {
  if (nowMs === lastMs) seq++;
  else {
    lastMs = nowMs;
    seq = 0;
  }
  return `${nowMs.toString().padStart(15, '0')}-${seq.toString().padStart(6, '0')}-${randomBytes(3).toString('hex')}`;
}
