/**
 * The only place the control plane touches src/chain (docs/architecture.md#layers): every signature,
 * hash and canonical encoding comes from there so the chain re-verifies exactly what we
 * verified. Keep this list small.
 */
export {
  sha256,
  toHex,
  fromHex,
  generateKeyPair,
  portable,
  verify,
  signDomain,
  verifyDomain,
  proofOfPossessionPayload,
  governanceVotePayload,
  adminKeyEndorsementPayload,
  isValidPublicKey,
  ADMIN_KEYS_MAX,
  encodeGovernanceAction,
  tallyPasses,
  genesisHash,
  sealedGenesisToJSON,
  encodeTx,
  decodeTx,
  txHash,
  signTx,
  appendEntry,
  entryHash,
  verifyTranscript,
  GENESIS_PREV_HASH,
} from '../../chain/index.js';
export type {
  KeyPair,
  GovernanceAction,
  GovernanceVote,
  VotingPolicy,
  ChainParams,
  Genesis,
  GenesisApproval,
  SealedGenesis,
  UnsignedTx,
  Tx,
  TranscriptEntry,
  TranscriptVerdict,
} from '../../chain/index.js';

/** Signature domain tags (Tags in src/chain/keys.ts; docs/protocol.md#encoding-and-signatures). */
export const TAG_POP = 'consortia/pop/v1';
export const TAG_GENESIS_APPROVAL = 'consortia/genesis-approval/v1';
export const TAG_GOV_VOTE = 'consortia/gov-vote/v1';
export const TAG_ADMIN_KEY_ENDORSEMENT = 'consortia/admin-key-endorsement/v1';
