/**
 * The CLI's only contact with src/chain: signing payloads and the genesis hash are computed
 * exactly as the chain re-verifies them. Signatures use the portable (@noble/curves) side.
 */
export {
  portable,
  Tags,
  signDomainPortable,
  verifyDomainPortable,
  toHex,
  fromHex,
  governanceVotePayload,
  governanceActionHash,
  genesisFromJSON,
  genesisHash,
  txSignBytes,
  encodeTx,
  txHash,
} from '../chain/index.js';
export type { UnsignedTx } from '../chain/index.js';
