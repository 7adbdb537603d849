export * from './types.js';
export { CpCodes, HTTP_STATUS, httpStatusFor, type CpCode } from './errors.js';
export {
  verifyTranscript,
  appendEntry,
  entryHash,
  canonicalJson,
  GENESIS_PREV_HASH,
  type TranscriptVerdict,
} from './transcript.js';
export { decide, isExpired, type Outcome } from './voting.js';
export { actionHashHex, chainActionFromJson, verifyVoteSignature, votesForChain } from './governance.js';
export {
  needsRegistration,
  pendingRegistration,
  registrationProposalId,
  verifyRegistrationSignature,
  withIdentity,
} from './node-registration.js';
export {
  assembleGenesis,
  genesisFromRecord,
  genesisHashHex,
  verifyGenesisApproval,
  verifyProofOfPossession,
  sealedGenesis,
  sealedGenesisJson,
} from './genesis.js';
export { sealSecret, openSecret, parseEncryptionKey } from './secret-box.js';
export {
  registerClusterValidator,
  getClusterValidator,
  type ClusterValidator,
  type ClusterCheckInput,
  type ClusterCheckResult,
} from './cluster-connector.js';
export { generateTokenSecret, hashToken, roleAtLeast, TOKEN_PREFIX, type Principal } from './tokens.js';
export { ChangeBus } from './events.js';
export { validateTier } from './tier.js';
