import {
  closeSync,
  fdatasyncSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
  existsSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';

/**
 * Double-sign guard. Before a validator releases a signature, the (height, round, step)
 * and the exact bytes it signs are written and fsynced to `file`; a later request for an
 * earlier or equal position with different bytes is refused, so a crash/restart can never
 * make the node sign two conflicting votes. Re-signing the identical bytes returns the
 * stored signature (safe re-broadcast).
 *
 * The file holds two checksummed slots written alternately with one pwrite + fdatasync on an
 * open descriptor, so a signature costs one disk flush on the consensus path (a tmp file,
 * rename and directory fsync cost three, and blocked the event loop each vote). A torn write
 * only ever damages the slot being written; the other still holds the previous record.
 *
 * A key that signs only asynchronously (a KMS key, src/node/node-key.ts) goes through `signAsync`:
 * the position and bytes are recorded durably before the key is asked, with no signature yet, so a
 * crash or a failed request can never let the node sign something else at that position. Asking
 * again for the identical bytes is allowed (the same message, not a second vote) and, while a
 * request is in flight, gets that request's promise.
 */
export const SignStep = { proposal: 1, prevote: 2, precommit: 3 } as const;
export type SignStepName = keyof typeof SignStep;

interface Record_ {
  height: number;
  round: number;
  step: number;
  signBytes: string;
  signature: string;
  /** Public key (hex) that made the signature; absent in records written before key rotation existed. */
  key?: string;
}

export class DoubleSignError extends Error {}

/** A key that signs synchronously (a function, or an object with signSync) or only asynchronously (sign alone). */
export type PrivSigner =
  | ((message: Uint8Array) => Uint8Array)
  | { signSync?: (message: Uint8Array) => Uint8Array; sign: (message: Uint8Array) => Promise<Uint8Array> };

interface Pending {
  height: number;
  round: number;
  step: number;
  signBytes: string;
  promise: Promise<Uint8Array>;
}

const SLOT = 4096; // one page per slot: a torn write cannot reach the other slot
const MAGIC = 0x43505632; // 'CPV2'
const HEAD = 4 + 8 + 4; // magic, seq (u64), payload length (u32); then payload, then sha256(head + payload)

function encodeSlot(seq: number, rec: Record_): Buffer {
  const payload = Buffer.from(JSON.stringify(rec), 'utf8');
  if (HEAD + payload.length + 32 > SLOT) throw new Error('privval record does not fit its slot');
  const b = Buffer.alloc(HEAD + payload.length + 32);
  b.writeUInt32BE(MAGIC, 0);
  b.writeBigUInt64BE(BigInt(seq), 4);
  b.writeUInt32BE(payload.length, 12);
  payload.copy(b, HEAD);
  createHash('sha256')
    .update(b.subarray(0, HEAD + payload.length))
    .digest()
    .copy(b, HEAD + payload.length);
  return b;
}

function decodeSlot(b: Buffer): { seq: number; rec: Record_ } | null {
  if (b.length < HEAD + 32 || b.readUInt32BE(0) !== MAGIC) return null;
  const len = b.readUInt32BE(12);
  if (HEAD + len + 32 > b.length) return null;
  const sum = createHash('sha256')
    .update(b.subarray(0, HEAD + len))
    .digest();
  if (!sum.equals(b.subarray(HEAD + len, HEAD + len + 32))) return null;
  return {
    seq: Number(b.readBigUInt64BE(4)),
    rec: JSON.parse(b.subarray(HEAD, HEAD + len).toString('utf8')) as Record_,
  };
}

export class PrivValidator {
  private last: Record_ | null = null;
  private seq = 0;
  private fd: number;
  private readonly signSyncFn: ((msg: Uint8Array) => Uint8Array) | undefined;
  private readonly signAsyncFn: (msg: Uint8Array) => Promise<Uint8Array>;
  /** The asynchronous request in flight for the last recorded position, if any. */
  private pending: Pending | null = null;

  /** `legacyJsonFile`: the earlier single-record JSON file, carried over (durably, once) when `file` is new. */
  constructor(
    private readonly file: string,
    signer: PrivSigner,
    legacyJsonFile?: string,
    /**
     * The key `signer` signs with now (hex). A validator that rotated its consensus key
     * (src/node/consensus-keys.ts) keeps this one record across both keys: positions stay strictly
     * increasing whichever key signs, and a stored signature is handed out again only for its own key.
     */
    private readonly currentKey?: () => string,
  ) {
    if (typeof signer === 'function') {
      this.signSyncFn = signer;
      this.signAsyncFn = async (m) => signer(m);
    } else {
      this.signSyncFn = signer.signSync;
      this.signAsyncFn = (m) => signer.sign(m);
    }
    if (existsSync(file)) {
      const raw = readFileSync(file);
      const slots = [decodeSlot(raw.subarray(0, SLOT)), decodeSlot(raw.subarray(SLOT, 2 * SLOT))];
      const best = slots.reduce((a, b) => (b !== null && (a === null || b.seq > a.seq) ? b : a), null);
      if (best === null && raw.some((x) => x !== 0)) {
        throw new Error(
          `privval file ${file} holds no valid record; refusing to sign (restore it, or remove it knowingly)`,
        );
      }
      if (best) {
        this.last = best.rec;
        this.seq = best.seq;
      }
    } else if (legacyJsonFile !== undefined && existsSync(legacyJsonFile)) {
      this.last = JSON.parse(readFileSync(legacyJsonFile, 'utf8')) as Record_;
      this.seq = 1;
      writeDurably(file, encodeSlot(1, this.last));
    } else {
      writeDurably(file, new Uint8Array(0)); // the file (and its directory entry) exist before any signature
    }
    this.fd = openSync(file, 'r+');
  }

  lastSigned(): { height: number; round: number; step: number; key?: string } | null {
    return this.last
      ? {
          height: this.last.height,
          round: this.last.round,
          step: this.last.step,
          ...(this.last.key !== undefined ? { key: this.last.key } : {}),
        }
      : null;
  }

  /** Whether `sign` can be used (the key signs synchronously); otherwise only `signAsync`. */
  get signsSync(): boolean {
    return this.signSyncFn !== undefined;
  }

  /**
   * The stored signature when (h, r, step) is the last recorded position with the same bytes and a
   * signature; null when signing there is allowed; DoubleSignError when it is not.
   */
  private check(height: number, round: number, step: SignStepName, bytesHex: string): Uint8Array | null {
    const s = SignStep[step];
    const l = this.last;
    if (!l) return null;
    const cmp = height - l.height || round - l.round || s - l.step;
    if (cmp < 0)
      throw new DoubleSignError(
        `refusing to sign ${height}/${round}/${step}: already signed ${l.height}/${l.round}/${l.step}`,
      );
    if (cmp > 0) return null;
    const key = this.currentKey?.();
    if (l.key !== undefined && key !== undefined && l.key !== key)
      throw new DoubleSignError(`refusing to sign ${height}/${round}/${step} again with another key`);
    if (l.signBytes !== bytesHex)
      throw new DoubleSignError(`refusing conflicting signature at ${height}/${round}/${step}`);
    return l.signature === '' ? null : Buffer.from(l.signature, 'hex');
  }

  /** Signs `signBytes` at (h, r, step) iff that position is after the last signed one. */
  sign(height: number, round: number, step: SignStepName, signBytes: Uint8Array): Uint8Array {
    const signSync = this.signSyncFn;
    if (signSync === undefined) throw new Error('this validator key signs asynchronously: use signAsync');
    const bytesHex = Buffer.from(signBytes).toString('hex');
    const stored = this.check(height, round, step, bytesHex);
    if (stored !== null) return stored;
    const key = this.currentKey?.();
    const signature = signSync(signBytes);
    this.write({
      height,
      round,
      step: SignStep[step],
      signBytes: bytesHex,
      signature: Buffer.from(signature).toString('hex'),
      ...(key !== undefined ? { key } : {}),
    });
    return signature; // released only after the flush above
  }

  /**
   * The same guard for a key that signs asynchronously: the position is recorded (and flushed)
   * before the key is asked, so a second request for it with other bytes is refused even while the
   * first is in flight. A key that signs synchronously takes the `sign` path.
   */
  async signAsync(height: number, round: number, step: SignStepName, signBytes: Uint8Array): Promise<Uint8Array> {
    if (this.signSyncFn !== undefined) return this.sign(height, round, step, signBytes);
    const bytesHex = Buffer.from(signBytes).toString('hex');
    const stored = this.check(height, round, step, bytesHex);
    if (stored !== null) return stored;
    const s = SignStep[step];
    const p = this.pending;
    if (p && p.height === height && p.round === round && p.step === s && p.signBytes === bytesHex) return p.promise;
    const l = this.last;
    if (!l || l.height !== height || l.round !== round || l.step !== s) {
      const key = this.currentKey?.();
      this.write({ height, round, step: s, signBytes: bytesHex, signature: '', ...(key !== undefined ? { key } : {}) });
    }
    const rec = this.last!;
    const promise = this.signAsyncFn(signBytes).then((signature) => {
      // Stored for a re-broadcast, unless a later position was recorded meanwhile (it is never overwritten).
      if (this.last === rec) {
        try {
          this.write({ ...rec, signature: Buffer.from(signature).toString('hex') });
        } catch {
          /* closed meanwhile: the position is recorded, the signature is only a cache */
        }
      }
      return signature;
    });
    const entry: Pending = { height, round, step: s, signBytes: bytesHex, promise };
    this.pending = entry;
    const clear = (): void => {
      if (this.pending === entry) this.pending = null;
    };
    promise.then(clear, clear);
    return promise;
  }

  private write(rec: Record_): void {
    const seq = this.seq + 1;
    const slot = encodeSlot(seq, rec);
    writeSync(this.fd, slot, 0, slot.length, (seq % 2) * SLOT);
    fdatasyncSync(this.fd);
    this.seq = seq;
    this.last = rec;
  }

  close(): void {
    try {
      closeSync(this.fd);
    } catch {
      /* already closed */
    }
  }
}

/** tmp file + fsync + rename + fsync(dir): the file is either old or new after a crash. */
export function writeDurably(file: string, data: string | Uint8Array): void {
  const tmp = file + '.tmp';
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  try {
    const dfd = openSync(dirname(file), 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    /* directory fsync unsupported on some filesystems */
  }
}
