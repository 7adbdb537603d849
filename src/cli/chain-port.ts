/**
 * The CLI's only contact with src/chain: signing payloads and the genesis hash are computed
 * exactly as the chain re-verifies them. Signatures use the portable (@noble/curves) side.
 */
export {
  portable,
  Tags,
  signDomainPortable,
  domainMessage,
  verifyDomainPortable,
  toHex,
  fromHex,
  governanceVotePayload,
  governanceActionHash,
  adminKeyEndorsementPayload,
  genesisFromJSON,
  genesisHash,
  txSignBytes,
  encodeTx,
  txHash,
  verifyTranscript,
} from '../chain/index.js';
export type { UnsignedTx, TranscriptEntry } from '../chain/index.js';
export { secretKeySigner, signTxWith, type Signer } from '../chain/signer.js';
