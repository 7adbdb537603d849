import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Double-sign guard. Before a validator releases a signature, the (height, round, step)
 * and the exact bytes it signs are written and fsynced to `file`; a later request for an
 * earlier or equal position with different bytes is refused, so a crash/restart can never
 * make the node sign two conflicting votes. Re-signing the identical bytes returns the
 * stored signature (safe re-broadcast).
 */
export const SignStep = { proposal: 1, prevote: 2, precommit: 3 } as const;
export type SignStepName = keyof typeof SignStep;

interface Record_ { height: number; round: number; step: number; signBytes: string; signature: string }

export class DoubleSignError extends Error {}

export class PrivValidator {
  private last: Record_ | null;

  constructor(private readonly file: string, private readonly signer: (msg: Uint8Array) => Uint8Array) {
    this.last = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record_) : null;
  }

  lastSigned(): { height: number; round: number; step: number } | null {
    return this.last ? { height: this.last.height, round: this.last.round, step: this.last.step } : null;
  }

  /** Signs `signBytes` at (h, r, step) iff that position is after the last signed one. */
  sign(height: number, round: number, step: SignStepName, signBytes: Uint8Array): Uint8Array {
    const s = SignStep[step];
    const bytesHex = Buffer.from(signBytes).toString('hex');
    const l = this.last;
    if (l) {
      const cmp = height - l.height || round - l.round || s - l.step;
      if (cmp < 0) throw new DoubleSignError(`refusing to sign ${height}/${round}/${step}: already signed ${l.height}/${l.round}/${l.step}`);
      if (cmp === 0) {
        if (l.signBytes === bytesHex) return Buffer.from(l.signature, 'hex');
        throw new DoubleSignError(`refusing conflicting signature at ${height}/${round}/${step}`);
      }
    }
    const signature = this.signer(signBytes);
    const rec: Record_ = { height, round, step: s, signBytes: bytesHex, signature: Buffer.from(signature).toString('hex') };
    writeDurably(this.file, JSON.stringify(rec));
    this.last = rec;
    return signature; // released only after the fsync above
  }
}

/** tmp file + fsync + rename + fsync(dir): the record is either old or new after a crash. */
export function writeDurably(file: string, text: string): void {
  const tmp = file + '.tmp';
  const fd = openSync(tmp, 'w', 0o600);
  try { writeSync(fd, text); fsyncSync(fd); } finally { closeSync(fd); }
  renameSync(tmp, file);
  try {
    const dfd = openSync(dirname(file), 'r');
    try { fsyncSync(dfd); } finally { closeSync(dfd); }
  } catch { /* directory fsync unsupported on some filesystems */ }
}
