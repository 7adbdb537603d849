// Shared test fixtures: deterministic keys and a small sealed genesis.
import {
  DEFAULT_PARAMS,
  portable,
  signProofOfPossession,
  signGenesisApproval,
  genesisHash,
  signTx,
  encodeTx,
  merkleRoot,
  ZERO_HASH,
  type Genesis,
  type KeyPair,
  type SealedGenesis,
  type TxBody,
  type Block,
  type ChainParams,
} from '../../src/chain/index.js';

export const CHAIN = 'test-chain';

/** Deterministic key from a small integer seed. */
export function key(n: number): KeyPair {
  const sk = new Uint8Array(32);
  sk[0] = n & 0xff;
  sk[1] = (n >> 8) & 0xff;
  sk[31] = 7;
  return { secretKey: sk, publicKey: portable.getPublicKey(sk) };
}

export interface Fixture {
  genesis: Genesis;
  sealed: SealedGenesis;
  admins: KeyPair[]; // admin of member i = admins[i]
  validators: KeyPair[];
  alice: KeyPair;
  bob: KeyPair;
}

export function makeFixture(members = 3, params: Partial<ChainParams> = {}): Fixture {
  const admins = Array.from({ length: members }, (_, i) => key(100 + i));
  const validators = Array.from({ length: members }, (_, i) => key(200 + i));
  const alice = key(1);
  const bob = key(2);
  const genesis: Genesis = {
    chainId: CHAIN,
    genesisTime: 1_700_000_000_000,
    params: { ...DEFAULT_PARAMS, ...params },
    members: admins.map((a, i) => ({ memberId: `m${i}`, name: `Member ${i}`, adminKeys: [a.publicKey] })),
    validators: validators.map((v, i) => ({
      memberId: `m${i}`,
      publicKey: v.publicKey,
      power: 10,
      proofOfPossession: signProofOfPossession(CHAIN, v.secretKey, v.publicKey),
    })),
    nodes: [],
    accounts: [{ publicKey: alice.publicKey, balances: [{ asset: 'USD', amount: 1000n }] }],
  };
  const h = genesisHash(genesis);
  const sealed = {
    genesis,
    approvals: admins.map((a, i) => signGenesisApproval(h, `m${i}`, a.secretKey, a.publicKey)),
  };
  return { genesis, sealed, admins, validators, alice, bob };
}

export function stx(kp: KeyPair, nonce: number, body: TxBody, chainId = CHAIN): Uint8Array {
  return encodeTx(signTx({ chainId, signer: kp.publicKey, nonce, body }, kp.secretKey));
}

export function block(txs: Uint8Array[], height = 1, chainId = CHAIN): Block {
  return {
    header: {
      chainId,
      height,
      time: 1_700_000_001_000 + height,
      prevHash: ZERO_HASH,
      txRoot: merkleRoot(txs),
      stateRoot: ZERO_HASH,
      validatorSetHash: ZERO_HASH,
      proposer: new Uint8Array(32),
      lastCommitHash: ZERO_HASH,
      evidenceRoot: merkleRoot([]),
    },
    txs,
    evidence: [],
    lastCommit: null,
  };
}
