import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, sign, createPrivateKey } from 'node:crypto';
import { ChainStore, PrivValidator, DoubleSignError } from '../../../src/node/store/index.js';

describe('ChainStore', () => {
  it('commits blocks atomically with tx index, state and head, and reopens at the head', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'store-'));
    try {
      let s = await ChainStore.open(dir);
      expect(s.head()).toBeNull();
      const h1 = randomBytes(32), tx1 = randomBytes(32);
      await s.commitBlock({ height: 1, hash: h1, blockBytes: Buffer.from('b1'), commitBytes: Buffer.from('c1'),
        txs: [{ hash: tx1, code: 'OK' }], writes: new Map([['acct/aa', Buffer.from('x')], ['bal/aa/USD', Buffer.from('5')]]) });
      await expect(s.commitBlock({ height: 3, hash: h1, blockBytes: Buffer.alloc(1), commitBytes: Buffer.alloc(1), txs: [], writes: new Map() })).rejects.toThrow(/expected 2/);
      await s.commitBlock({ height: 2, hash: randomBytes(32), blockBytes: Buffer.from('b2'), commitBytes: Buffer.from('c2'),
        txs: [], writes: new Map([['bal/aa/USD', null]]) });
      await s.close();
      s = await ChainStore.open(dir);
      expect(s.head()?.height).toBe(2);
      expect(Buffer.from((await s.getBlockBytes(1))!).toString()).toBe('b1');
      expect(Buffer.from((await s.getCommitBytes(2))!).toString()).toBe('c2');
      expect(await s.getHeightByHash(h1)).toBe(1);
      expect(await s.getTx(tx1.toString('hex'))).toEqual({ height: 1, index: 0, code: 'OK' });
      expect((await s.loadState()).map(([k]) => k)).toEqual(['acct/aa']);
      await s.close();
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
});

describe('PrivValidator', () => {
  it('persists before signing and refuses to sign backwards or conflicting bytes, also after reopen', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pv-'));
    const key = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), randomBytes(32)]), format: 'der', type: 'pkcs8' });
    const signer = (m: Uint8Array): Uint8Array => sign(null, m, key);
    try {
      const file = join(dir, 'privval.json');
      const pv = new PrivValidator(file, signer);
      const s1 = pv.sign(5, 0, 'prevote', Buffer.from('A'));
      expect(pv.sign(5, 0, 'prevote', Buffer.from('A'))).toEqual(s1); // identical re-sign is fine
      expect(() => pv.sign(5, 0, 'prevote', Buffer.from('B'))).toThrow(DoubleSignError);
      pv.sign(5, 0, 'precommit', Buffer.from('A'));
      const pv2 = new PrivValidator(file, signer); // "restart"
      expect(pv2.lastSigned()).toEqual({ height: 5, round: 0, step: 3 });
      expect(() => pv2.sign(5, 0, 'prevote', Buffer.from('A'))).toThrow(DoubleSignError);
      expect(() => pv2.sign(5, 0, 'precommit', Buffer.from('C'))).toThrow(DoubleSignError);
      pv2.sign(5, 1, 'prevote', Buffer.from('C'));
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
});
