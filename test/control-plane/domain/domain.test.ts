import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  appendEntry,
  decide,
  openSecret,
  parseEncryptionKey,
  sealSecret,
  verifyTranscript,
} from '../../../src/control-plane/domain/index.js';

describe('decide (threshold over all members)', () => {
  const gt = { thresholdPercentage: 50, thresholdComparator: 'GREATER_THAN' as const, proposalDurationSeconds: 1 };
  const ge = { ...gt, thresholdComparator: 'GREATER_THAN_OR_EQUAL_TO' as const };
  it.each([
    [gt, 2, 0, 4, 'IN_PROGRESS'],
    [gt, 3, 0, 4, 'APPROVED'],
    [gt, 0, 1, 4, 'IN_PROGRESS'],
    [gt, 0, 2, 4, 'REJECTED'],
    [ge, 2, 0, 4, 'APPROVED'],
    [ge, 1, 2, 4, 'IN_PROGRESS'],
    [ge, 0, 3, 4, 'REJECTED'],
    [{ ...gt, thresholdPercentage: 0 }, 0, 0, 3, 'IN_PROGRESS'],
    [{ ...gt, thresholdPercentage: 0 }, 1, 0, 3, 'APPROVED'],
    [{ ...ge, thresholdPercentage: 100 }, 2, 0, 3, 'IN_PROGRESS'],
    [{ ...ge, thresholdPercentage: 100 }, 2, 1, 3, 'REJECTED'],
  ])('%j yes=%i no=%i of %i -> %s', (policy, yes, no, n, out) => {
    expect(decide(policy, yes, no, n)).toBe(out);
  });
});

describe('transcript', () => {
  it('chains entries and detects edits, reordering and truncation at the front', () => {
    let t = appendEntry([], 'a', 't0', { x: 1 });
    t = appendEntry(t, 'b', 't1', { y: [1, 2] });
    t = appendEntry(t, 'c', 't2', null);
    expect(verifyTranscript(t)).toMatchObject({ ok: true, length: 3, head: t[2]!.hash });
    expect(verifyTranscript([t[0]!, t[2]!, t[1]!]).ok).toBe(false);
    expect(verifyTranscript(t.slice(1)).ok).toBe(false);
    const edited = structuredClone(t);
    (edited[1]!.data as { y: number[] }).y[0] = 9;
    expect(verifyTranscript(edited)).toMatchObject({ ok: false, index: 1 });
  });
});

describe('secret box (AES-256-GCM)', () => {
  it('round-trips, binds the record id, and rejects a wrong key', () => {
    const key = parseEncryptionKey(randomBytes(32).toString('hex'));
    const sealed = sealSecret(key, 'apiVersion: v1\nkind: Config', 'cluster/c1');
    expect(sealed).not.toContain('apiVersion');
    expect(openSecret(key, sealed, 'cluster/c1')).toBe('apiVersion: v1\nkind: Config');
    expect(() => openSecret(key, sealed, 'cluster/c2')).toThrow();
    expect(() => openSecret(parseEncryptionKey(randomBytes(32).toString('base64')), sealed, 'cluster/c1')).toThrow();
    expect(() => parseEncryptionKey('short')).toThrow();
  });
});
