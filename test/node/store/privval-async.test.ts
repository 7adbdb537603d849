import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateKeyPair, sign, verify } from '../../../src/chain/index.js';
import { DoubleSignError, PrivValidator } from '../../../src/node/store/index.js';

// A privval whose key signs only asynchronously (as a KMS key does): each request waits until the
// test answers it, so what privval recorded before the key answered can be checked.
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function asyncPrivval() {
  const dir = mkdtempSync(join(tmpdir(), 'privval-async-'));
  dirs.push(dir);
  const file = join(dir, 'privval.state');
  const key = generateKeyPair();
  const requests: { message: Uint8Array; resolve(s: Uint8Array): void; reject(e: Error): void }[] = [];
  const signer = {
    sign: (message: Uint8Array) =>
      new Promise<Uint8Array>((resolve, reject) => {
        requests.push({ message, resolve, reject });
      }),
  };
  const answer = (i: number): void => requests[i]!.resolve(sign(key.secretKey, requests[i]!.message));
  return { file, key, signer, requests, answer, pv: new PrivValidator(file, signer) };
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const A = new Uint8Array([1, 1, 1]);
const B = new Uint8Array([2, 2, 2]);

describe('privval with a key that signs asynchronously', () => {
  it('records the position durably before the key is asked', async () => {
    const { file, signer, requests, pv } = asyncPrivval();
    expect(pv.signsSync).toBe(false);
    const first = pv.signAsync(5, 0, 'prevote', A);
    expect(requests).toHaveLength(1);
    // A crash now: the restarted node knows the position and signs nothing else there.
    const restarted = new PrivValidator(file, signer);
    expect(restarted.lastSigned()).toEqual({ height: 5, round: 0, step: 2 });
    await expect(restarted.signAsync(5, 0, 'prevote', B)).rejects.toBeInstanceOf(DoubleSignError);
    await expect(restarted.signAsync(4, 9, 'precommit', B)).rejects.toBeInstanceOf(DoubleSignError);
    restarted.close();
    pv.close();
    void first.catch(() => undefined);
  });

  it('refuses other bytes at a position whose signature is pending; the same bytes share one request', async () => {
    const { key, requests, answer, pv } = asyncPrivval();
    const first = pv.signAsync(5, 0, 'prevote', A);
    await expect(pv.signAsync(5, 0, 'prevote', B)).rejects.toBeInstanceOf(DoubleSignError);
    const again = pv.signAsync(5, 0, 'prevote', A);
    expect(requests).toHaveLength(1); // one request to the key
    answer(0);
    const [s1, s2] = await Promise.all([first, again]);
    expect(verify(key.publicKey, A, s1)).toBe(true);
    expect(hex(s2)).toBe(hex(s1));
    // Signed: the stored signature is handed out again without asking the key.
    expect(hex(await pv.signAsync(5, 0, 'prevote', A))).toBe(hex(s1));
    expect(requests).toHaveLength(1);
    await expect(pv.signAsync(5, 0, 'prevote', B)).rejects.toBeInstanceOf(DoubleSignError);
    pv.close();
  });

  it('after a failed request the same bytes may be signed again, other bytes still not', async () => {
    const { key, requests, answer, pv } = asyncPrivval();
    const first = pv.signAsync(7, 1, 'precommit', A);
    requests[0]!.reject(new Error('ThrottlingException'));
    await expect(first).rejects.toThrow('ThrottlingException');
    await expect(pv.signAsync(7, 1, 'precommit', B)).rejects.toBeInstanceOf(DoubleSignError);
    const retry = pv.signAsync(7, 1, 'precommit', A);
    expect(requests).toHaveLength(2);
    answer(1);
    expect(verify(key.publicKey, A, await retry)).toBe(true);
    pv.close();
  });

  it('moves on to a later position while an earlier signature is pending, never overwritten by it', async () => {
    const { file, signer, answer, pv } = asyncPrivval();
    const prevote = pv.signAsync(3, 0, 'prevote', A);
    const precommit = pv.signAsync(3, 0, 'precommit', B);
    answer(1);
    await precommit;
    answer(0);
    await prevote;
    pv.close();
    const restarted = new PrivValidator(file, signer);
    expect(restarted.lastSigned()).toEqual({ height: 3, round: 0, step: 3 });
    await expect(restarted.signAsync(3, 0, 'prevote', A)).rejects.toBeInstanceOf(DoubleSignError);
    restarted.close();
  });

  it('has no synchronous path; a synchronous key keeps its own', async () => {
    const { pv } = asyncPrivval();
    expect(() => pv.sign(1, 0, 'prevote', A)).toThrow(/asynchronously/);
    pv.close();
    const dir = mkdtempSync(join(tmpdir(), 'privval-sync-'));
    dirs.push(dir);
    const key = generateKeyPair();
    const sync = new PrivValidator(join(dir, 'privval.state'), (m) => sign(key.secretKey, m));
    expect(sync.signsSync).toBe(true);
    const s = sync.sign(1, 0, 'prevote', A);
    expect(hex(await sync.signAsync(1, 0, 'prevote', A))).toBe(hex(s));
    await expect(sync.signAsync(1, 0, 'prevote', B)).rejects.toBeInstanceOf(DoubleSignError);
    sync.close();
  });
});
