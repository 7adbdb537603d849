/**
 * Certificate fingerprints as users see and type them: "sha256:" + 64 lowercase hex digits.
 * Also accepted on input: upper case, colon-separated pairs (node's fingerprint256, openssl's
 * `-fingerprint -sha256` output), with or without the "sha256:" prefix.
 */
import { ConsortiaError, CommonCodes } from './errors.js';

export const FINGERPRINT_PREFIX = 'sha256:';

/** Canonical form, or undefined when `text` is not a SHA-256 fingerprint. */
export function normalizeFingerprint(text: string): string | undefined {
  let t = text.trim();
  if (t.toLowerCase().startsWith(FINGERPRINT_PREFIX)) t = t.slice(FINGERPRINT_PREFIX.length);
  const hex = t.replace(/:/g, '').toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? FINGERPRINT_PREFIX + hex : undefined;
}

/** Canonical form of a fingerprint known to be well formed (e.g. node's fingerprint256). */
export function formatFingerprint(text: string): string {
  const f = normalizeFingerprint(text);
  if (f === undefined) throw new ConsortiaError(CommonCodes.INTERNAL, `not a SHA-256 fingerprint: ${text}`);
  return f;
}

/** Canonical form of a user-supplied fingerprint; INVALID_ARGUMENT naming `setting` otherwise. */
export function parseFingerprint(text: string, setting: string): string {
  const f = normalizeFingerprint(text);
  if (f === undefined) {
    throw new ConsortiaError(
      CommonCodes.INVALID_ARGUMENT,
      `${setting} must be a SHA-256 certificate fingerprint like sha256:<64 hex digits> (colons allowed), got ${JSON.stringify(text)}`,
    );
  }
  return f;
}
