import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { WorldState, verifyStateProof, ZERO_HASH } from '../../src/chain/index.js';

const kv = fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), fc.uint8Array({ minLength: 1, maxLength: 8 }), {
  maxKeys: 60,
});

describe('sparse Merkle state commitment', () => {
  it('empty state has the zero root and proves non-inclusion', () => {
    const s = WorldState.empty();
    expect(s.root()).toEqual(ZERO_HASH);
    expect(verifyStateProof(s.root(), 'x', undefined, s.prove('x'))).toBe(true);
    expect(verifyStateProof(s.root(), 'x', new Uint8Array([1]), s.prove('x'))).toBe(false);
  });

  it('roots are pinned: the commitment (and so every block) is the same across implementations', () => {
    const entries: [string, Uint8Array][] = [];
    for (let i = 0; i < 50; i++) entries.push([`k/${i}`, new Uint8Array([i, i + 1, i + 2])]);
    const s = WorldState.fromEntries(entries);
    expect(Buffer.from(s.root()).toString('hex')).toBe(
      'ad3dc2bbcbef193f5183ecb7e001b1127e3404ff25180f1394bf86d365a99a06',
    );
    s.commit(
      new Map([
        ['k/3', null],
        ['k/7', new Uint8Array([9])],
        ['new', new Uint8Array([1])],
      ]),
    );
    expect(Buffer.from(s.root()).toString('hex')).toBe(
      '3528ce1f65f542a6e79adc1cc5c773d5351d534d03376abacf5d965af1018476',
    );
  });

  it('root is history independent: incremental writes/deletes == bulk build', () => {
    fc.assert(
      fc.property(kv, kv, (a, b) => {
        const s = WorldState.empty();
        s.commit(new Map(Object.entries(a)));
        // overwrite with b, delete keys of a that b lacks, in two batches
        const w1 = new Map<string, Uint8Array | null>(Object.entries(b));
        s.commit(w1);
        const w2 = new Map<string, Uint8Array | null>();
        for (const k of Object.keys(a)) if (!Object.hasOwn(b, k)) w2.set(k, null);
        s.commit(w2);
        const fresh = WorldState.fromEntries(Object.entries(b));
        expect(s.root()).toEqual(fresh.root());
        expect(s.size).toBe(Object.keys(b).length);
      }),
      { numRuns: 150 },
    );
  });

  it('proves inclusion and non-inclusion; rejects tampered value, key and path', () => {
    fc.assert(
      fc.property(kv, fc.string({ minLength: 1, maxLength: 12 }), (m, absent) => {
        fc.pre(!Object.hasOwn(m, absent));
        const s = WorldState.fromEntries(Object.entries(m));
        const root = s.root();
        for (const [k, v] of Object.entries(m)) {
          const p = s.prove(k);
          expect(verifyStateProof(root, k, v, p)).toBe(true);
          expect(verifyStateProof(root, k, undefined, p)).toBe(false);
          const tv = v.slice();
          tv[0]! ^= 1;
          expect(verifyStateProof(root, k, tv, p)).toBe(false);
          if (p.siblings.length > 0) {
            const sib = p.siblings.map((x) => x.slice());
            sib[sib.length - 1]![0]! ^= 1;
            expect(verifyStateProof(root, k, v, { ...p, siblings: sib })).toBe(false);
            expect(verifyStateProof(root, k, v, { ...p, siblings: p.siblings.slice(1) })).toBe(false);
          }
          expect(verifyStateProof(root, absent, v, p)).toBe(false);
        }
        const np = s.prove(absent);
        expect(verifyStateProof(root, absent, undefined, np)).toBe(true);
        expect(verifyStateProof(root, absent, new Uint8Array([1]), np)).toBe(false);
        const [k0, v0] = Object.entries(m)[0] ?? [];
        if (k0 !== undefined) {
          // a non-inclusion proof cannot be made for a present key
          expect(verifyStateProof(root, k0, undefined, np)).toBe(false);
          expect(verifyStateProof(root, k0, undefined, s.prove(k0))).toBe(false);
        }
      }),
      { numRuns: 80 },
    );
  });

  it('clone is independent and commit does not leak into clones', () => {
    const s = WorldState.fromEntries([['a', new Uint8Array([1])]]);
    const c = s.clone();
    s.commit(new Map([['b', new Uint8Array([2])]]));
    expect(c.get('b')).toBeUndefined();
    expect(c.root()).not.toEqual(s.root());
    expect(WorldState.fromEntries(c.entries()).root()).toEqual(c.root());
  });
});

describe('state proof JSON', () => {
  it('round-trips and still verifies', async () => {
    const { stateProofToJSON, stateProofFromJSON } = await import('../../src/chain/index.js');
    const s = WorldState.fromEntries([
      ['a', new Uint8Array([1])],
      ['b', new Uint8Array([2])],
      ['c', new Uint8Array([3])],
    ]);
    for (const k of ['a', 'zz']) {
      const j = JSON.parse(JSON.stringify(stateProofToJSON(s.prove(k))));
      expect(verifyStateProof(s.root(), k, s.get(k), stateProofFromJSON(j))).toBe(true);
    }
    expect(() => stateProofFromJSON({ siblings: ['zz'], leaf: null })).toThrow();
  });
});
