import { describe, expect, it } from 'vitest';
import {
  LightCodes,
  StateKeys,
  WorldState,
  blockHash,
  checkStateValue,
  checkTxInclusion,
  encodeAmount,
  generateKeyPair,
  genesisHash,
  merkleProof,
  sortValidators,
  stateFromSnapshot,
  validatorSetHash,
  verifyHeaderSkipping,
  verifyNextHeader,
  verifyStateProof,
  encodeValidator,
  toHex,
  type Block,
  type LightTrust,
  type ValidatorInfo,
} from '../../src/chain/index.js';
import { buildChain, certify, validatorsOf } from './chain-builder.js';
import { CHAIN, makeFixture, stx } from './fixtures.js';

const code = (fn: () => unknown): string => {
  try {
    fn();
    return 'OK';
  } catch (e) {
    return (e as { code: string }).code;
  }
};

function genesisTrustOf(f: ReturnType<typeof makeFixture>): LightTrust {
  return {
    chainId: CHAIN,
    height: 0,
    hash: genesisHash(f.genesis),
    stateRoot: null,
    validators: sortValidators(validatorsOf(f)),
  };
}

describe('light client header verification', () => {
  const { f, blocks } = buildChain(5, (h) =>
    h === 2
      ? [stx(makeFixture().alice, 0, { type: 'transfer', asset: 'USD', to: makeFixture().bob.publicKey, amount: 7n })]
      : [],
  );

  it('accepts a certified header chain and proves account state and tx inclusion against it', () => {
    let t = genesisTrustOf(f);
    for (const b of blocks) t = verifyNextHeader(t, b.block.header, b.commit);
    expect(t.height).toBe(5);
    const b2 = blocks[1]!;
    const key = StateKeys.balance(f.bob.publicKey, 'USD');
    const s = b2.state;
    expect(code(() => checkStateValue(b2.block.header, key, s.get(key), s.prove(key)))).toBe('OK');
    expect(code(() => checkTxInclusion(b2.block.header, b2.block.txs[0]!, merkleProof(b2.block.txs, 0)))).toBe('OK');
  });

  it('rejects a header certified by a non-validator, an unchained header and a tampered proof', () => {
    const t1 = verifyNextHeader(genesisTrustOf(f), blocks[0]!.block.header, blocks[0]!.commit);
    const forged: Block = structuredClone(blocks[1]!.block);
    forged.header.stateRoot = new Uint8Array(32).fill(9);
    const impostor = generateKeyPair();
    expect(code(() => verifyNextHeader(t1, forged.header, certify(forged, [impostor])))).toBe(
      LightCodes.HEADER_BAD_COMMIT,
    );
    // one real signature of 3 is not > 2/3 of the power
    expect(code(() => verifyNextHeader(t1, forged.header, certify(forged, [f.validators[0]!])))).toBe(
      LightCodes.HEADER_BAD_COMMIT,
    );
    // the real commit of another block does not certify this header
    expect(code(() => verifyNextHeader(t1, forged.header, blocks[1]!.commit))).toBe(LightCodes.HEADER_BAD_COMMIT);
    expect(code(() => verifyNextHeader(t1, blocks[2]!.block.header, blocks[2]!.commit))).toBe(
      LightCodes.HEADER_NOT_CHAINED,
    );
    const b2 = blocks[1]!;
    const key = StateKeys.balance(f.bob.publicKey, 'USD');
    expect(code(() => checkStateValue(b2.block.header, key, encodeAmount(1_000_000n), b2.state.prove(key)))).toBe(
      LightCodes.STATE_PROOF_INVALID,
    );
    expect(code(() => checkTxInclusion(b2.block.header, new Uint8Array([1, 2, 3]), merkleProof(b2.block.txs, 0)))).toBe(
      LightCodes.TX_PROOF_INVALID,
    );
  });

  it('follows a validator-set change only when it is proven by the trusted state root', () => {
    // synthetic chain: block 1 (old set) changes the set to `next`; block 2 is signed by `next`
    const fx = makeFixture();
    const old = sortValidators(validatorsOf(fx));
    const newKeys = [generateKeyPair(), generateKeyPair(), generateKeyPair(), generateKeyPair()];
    const next: ValidatorInfo[] = sortValidators(
      newKeys.map((k) => ({ publicKey: k.publicKey, power: 1, memberId: 'm0' })),
    );
    const s = WorldState.fromGenesis(fx.genesis);
    const w = new Map<string, Uint8Array | null>();
    for (const v of old) w.set(StateKeys.validator(v.publicKey), null);
    for (const v of next) w.set(StateKeys.validator(v.publicKey), encodeValidator({ memberId: 'm0', power: 1 }));
    w.set(StateKeys.valset, validatorSetHash(next));
    s.commit(w);
    const mk = (height: number, prev: Uint8Array, vals: ValidatorInfo[], root: Uint8Array): Block => ({
      header: {
        chainId: CHAIN,
        height,
        time: height,
        prevHash: prev,
        txRoot: new Uint8Array(32),
        stateRoot: root,
        validatorSetHash: validatorSetHash(vals),
        proposer: vals[0]!.publicKey,
        lastCommitHash: new Uint8Array(32),
        evidenceRoot: new Uint8Array(32),
      },
      txs: [],
      evidence: [],
      lastCommit: null,
    });
    const b1 = mk(1, genesisHash(fx.genesis), old, s.root());
    const b2 = mk(2, blockHash(b1.header), next, s.root());
    const t1 = verifyNextHeader(genesisTrustOf(fx), b1.header, certify(b1, fx.validators));
    const c2 = certify(b2, newKeys);
    expect(code(() => verifyNextHeader(t1, b2.header, c2))).toBe(LightCodes.HEADER_VALSET_MISMATCH);
    const change = { validators: next, proof: s.prove(StateKeys.valset) };
    const t2 = verifyNextHeader(t1, b2.header, c2, change);
    expect(t2.validators.map((v) => toHex(v.publicKey))).toEqual(next.map((v) => toHex(v.publicKey)));
    // a set the root does not commit to is refused, even with valid signatures from it
    const fakeKeys = [generateKeyPair(), generateKeyPair()];
    const fake = sortValidators(fakeKeys.map((k) => ({ publicKey: k.publicKey, power: 1, memberId: 'm0' })));
    const b2f = mk(2, blockHash(b1.header), fake, s.root());
    expect(
      code(() =>
        verifyNextHeader(t1, b2f.header, certify(b2f, fakeKeys), {
          validators: fake,
          proof: s.prove(StateKeys.valset),
        }),
      ),
    ).toBe(LightCodes.VALSET_PROOF_INVALID);
    // skipping from genesis: with the epoch it verifies; hiding the epoch fails
    const epoch = { header: b1.header, commit: certify(b1, fx.validators), change };
    expect(verifyHeaderSkipping(genesisTrustOf(fx), [epoch], b2.header, c2).height).toBe(2);
    expect(code(() => verifyHeaderSkipping(genesisTrustOf(fx), [], b2.header, c2))).toBe(
      LightCodes.HEADER_VALSET_MISMATCH,
    );
  });
});

describe('state commitment and snapshots', () => {
  it('the header state root commits to accounts, assets and anchors', () => {
    const fx = makeFixture();
    const anchorHash = new Uint8Array(32).fill(3);
    const { blocks } = buildChain(
      1,
      () => [
        stx(fx.alice, 0, { type: 'issue_asset', asset: 'GOLD', amount: 50n, to: fx.alice.publicKey }),
        stx(fx.alice, 1, { type: 'anchor', hash: anchorHash, metadata: 'lot 7' }),
      ],
      fx,
    );
    const b = blocks[0]!;
    for (const key of [
      StateKeys.account(fx.alice.publicKey),
      StateKeys.asset('GOLD'),
      StateKeys.balance(fx.alice.publicKey, 'GOLD'),
      StateKeys.anchor(anchorHash),
    ]) {
      expect(b.state.get(key), key).toBeDefined();
      expect(verifyStateProof(b.block.header.stateRoot, key, b.state.get(key), b.state.prove(key)), key).toBe(true);
    }
  });

  it('a snapshot is accepted only if it rebuilds the certified root', () => {
    const { blocks } = buildChain(3, (h) => [
      stx(makeFixture().alice, h - 1, { type: 'transfer', asset: 'USD', to: makeFixture().bob.publicKey, amount: 1n }),
    ]);
    const b = blocks[2]!;
    const entries = [...b.state.entries()];
    expect(stateFromSnapshot(entries, b.block.header.stateRoot).root()).toEqual(b.block.header.stateRoot);
    const tampered = entries.map(([k, v]): [string, Uint8Array] =>
      k.startsWith('bal/') ? [k, encodeAmount(999_999n)] : [k, v],
    );
    expect(code(() => stateFromSnapshot(tampered, b.block.header.stateRoot))).toBe(LightCodes.SNAPSHOT_ROOT_MISMATCH);
    expect(code(() => stateFromSnapshot(entries.slice(1), b.block.header.stateRoot))).toBe(
      LightCodes.SNAPSHOT_ROOT_MISMATCH,
    );
  });
});
