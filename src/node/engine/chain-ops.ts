import {
  WorldState,
  executeBlock,
  genesisWrites,
  checkTx,
  getAccount,
  getValidators,
  getNodeRegistry,
  getParams,
  computeBodyRoots,
  decodeBlock,
  type Block,
  type Genesis,
  type Hash,
  type Tx,
  type ValidatorInfo,
  type ChainParams,
  type BlockExecution,
} from '../../chain/index.js';

/**
 * The node's single seam onto the chain's state-transition API (src/chain), so the rest of
 * the node does not depend on its exact shape.
 */
export type State = WorldState;
export interface Execution {
  results: { hash: Hash; hashHex: string; code: string }[];
  writes: Map<string, Uint8Array | null>;
  stateRoot: Hash;
  validators: ValidatorInfo[];
}

export const chainOps = {
  fromGenesis: (g: Genesis): State => WorldState.fromGenesis(g),
  genesisWrites: (g: Genesis): Map<string, Uint8Array | null> => genesisWrites(g),
  fromEntries: (e: [string, Uint8Array][]): State => WorldState.fromEntries(e),
  root: (s: State): Hash => s.root(),
  validators: (s: State): ValidatorInfo[] => getValidators(s),
  nodeRegistry: (s: State) => getNodeRegistry(s),
  params: (s: State): ChainParams => getParams(s),
  nonce: (s: State, pk: Uint8Array): number => getAccount(s, pk)?.nonce ?? 0,
  execute: (s: State, b: Block, verified: Set<string>, onVerified?: (hashHex: string) => void): Execution =>
    executeBlock(s, b, { verifiedTxHashes: verified, ...(onVerified ? { onSignatureVerified: onVerified } : {}) }),
  /** Pass the execution object itself: the state reuses the tree executeBlock precomputed. */
  apply: (s: State, e: Execution): void => {
    s.commit(e as unknown as BlockExecution);
  },
  /** Stateful admission; nonce ordering is the mempool's job, so the tx's own nonce is "expected". */
  check: (s: State, tx: Tx, txBytes: number): string | null =>
    checkTx(s, tx, { txBytes, expectedNonce: tx.nonce })?.code ?? null,
  bodyRoots: computeBodyRoots,
  decodeBlock: (b: Uint8Array): Block => decodeBlock(b),
};
