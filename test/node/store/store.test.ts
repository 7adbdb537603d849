import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
      const h1 = randomBytes(32),
        tx1 = randomBytes(32);
      await s.commitBlock({
        height: 1,
        hash: h1,
        blockBytes: Buffer.from('b1'),
        commitBytes: Buffer.from('c1'),
        txs: [{ hash: tx1, code: 'OK' }],
        writes: new Map([
          ['acct/aa', Buffer.from('x')],
          ['bal/aa/USD', Buffer.from('5')],
        ]),
      });
      await expect(
        s.commitBlock({
          height: 3,
          hash: h1,
          blockBytes: Buffer.alloc(1),
          commitBytes: Buffer.alloc(1),
          txs: [],
          writes: new Map(),
        }),
      ).rejects.toThrow(/expected 2/);
      await s.commitBlock({
        height: 2,
        hash: randomBytes(32),
        blockBytes: Buffer.from('b2'),
        commitBytes: Buffer.from('c2'),
        txs: [],
        writes: new Map([['bal/aa/USD', null]]),
      });
      await s.close();
      s = await ChainStore.open(dir);
      expect(s.head()?.height).toBe(2);
      expect(Buffer.from((await s.getBlockBytes(1))!).toString()).toBe('b1');
      expect(Buffer.from((await s.getCommitBytes(2))!).toString()).toBe('c2');
      expect(await s.getHeightByHash(h1)).toBe(1);
      expect(await s.getTx(tx1.toString('hex'))).toEqual({ height: 1, index: 0, code: 'OK' });
      expect((await s.loadState()).map(([k]) => k)).toEqual(['acct/aa']);
      await s.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('PrivValidator', () => {
  // a fresh data dir per test; the fake signer's signature depends on the signed bytes
  const withDir = (fn: (dir: string, signer: (m: Uint8Array) => Uint8Array) => void): void => {
    const dir = mkdtempSync(join(tmpdir(), 'pv-'));
    try {
      fn(dir, (m) => new Uint8Array(64).fill(m[0]!));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it('persists before signing and refuses to sign backwards or conflicting bytes, also after reopen', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pv-'));
    const key = createPrivateKey({
      key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), randomBytes(32)]),
      format: 'der',
      type: 'pkcs8',
    });
    const signer = (m: Uint8Array): Uint8Array => sign(null, m, key);
    try {
      const file = join(dir, 'privval.state');
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
      pv.close();
      pv2.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('survives a torn write of the slot being written (the other slot holds the previous record)', () => {
    withDir((dir, signer) => {
      const file = join(dir, 'privval.state');
      const pv = new PrivValidator(file, signer);
      pv.sign(7, 0, 'prevote', Buffer.from('A')); // seq 1 -> slot 1
      pv.sign(7, 0, 'precommit', Buffer.from('A')); // seq 2 -> slot 0
      pv.close();
      // tear the newest slot (slot 0): the guard falls back to 7/0/prevote, never to "nothing signed"
      const raw = readFileSync(file);
      raw[40] = raw[40]! ^ 0xff;
      writeFileSync(file, raw);
      const pv2 = new PrivValidator(file, signer);
      expect(pv2.lastSigned()).toEqual({ height: 7, round: 0, step: 2 });
      expect(() => pv2.sign(7, 0, 'prevote', Buffer.from('B'))).toThrow(DoubleSignError);
      pv2.close();
      // both slots damaged: refuse to start rather than sign from scratch
      const raw2 = readFileSync(file);
      raw2[4096 + 40] = raw2[4096 + 40]! ^ 0xff;
      writeFileSync(file, raw2);
      expect(() => new PrivValidator(file, signer)).toThrow(/no valid record/);
    });
  });

  it('carries over the earlier JSON record', () => {
    withDir((dir, signer) => {
      const legacy = join(dir, 'privval.json');
      writeFileSync(
        legacy,
        JSON.stringify({
          height: 9,
          round: 2,
          step: 3,
          signBytes: Buffer.from('X').toString('hex'),
          signature: 'ab'.repeat(64),
        }),
      );
      const pv = new PrivValidator(join(dir, 'privval.state'), signer, legacy);
      expect(pv.lastSigned()).toEqual({ height: 9, round: 2, step: 3 });
      expect(() => pv.sign(9, 2, 'prevote', Buffer.from('Y'))).toThrow(DoubleSignError);
      pv.sign(10, 0, 'prevote', Buffer.from('Y'));
      pv.close();
      expect(new PrivValidator(join(dir, 'privval.state'), signer, legacy).lastSigned()).toEqual({
        height: 10,
        round: 0,
        step: 2,
      });
    });
  });
});
