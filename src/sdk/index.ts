// Public entry `consortia/sdk` (docs/sdk.md): a typed client for a consortium's chain.
export {
  ConsortiaClient,
  COMMIT_WAIT_MS_DEFAULT,
  SUBMIT_ROUND_MS,
  type ClientOptions,
  type ConnectOptions,
  type SubmitOptions,
  type TxReceipt,
} from './client.js';
export { ControlPlaneClient, type ControlPlaneOptions } from './control-plane.js';
export { SdkCodes } from './errors.js';
export { fileSigner } from './key-file.js';
export {
  NodePool,
  ProofRejected,
  NODE_BENCH_MS,
  NODE_REQUEST_TIMEOUT_MS,
  type FetchLike,
  type NodeReply,
} from './nodes.js';
export {
  verifyAccountAnswer,
  verifyAnchorAnswer,
  verifyAssetAnswer,
  verifyStateAnswer,
  verifyTxAnswer,
  type VerifiedAccount,
  type VerifiedAnchor,
  type VerifiedAsset,
  type VerifiedTx,
} from './proofs.js';
export {
  TrustedChain,
  trustedGenesis,
  genesisTrust,
  epochFromJSON,
  type TrustState,
  type EpochJSON,
  type CertifiedHeader,
} from './trust.js';
export {
  ANCHOR_BUNDLE_KIND,
  makeAnchorBundle,
  verifyAnchorBundle,
  type AnchorBundle,
  type AnchorVerdict,
} from './anchor-bundle.js';
// The key-custody seam and helpers a caller needs with it (pure, from the chain model).
export { secretKeySigner, signTxWith, type Signer } from '../chain/signer.js';
export { sha256, toHex, fromHex } from '../chain/bytes.js';
export { ConsortiaError, isConsortiaError } from '../lib/errors.js';
export { ASSET_ID_RE, type TxBody, type Tx } from '../chain/tx.js';
// Receiving webhooks: check a delivery's signature and read its events (docs/control-plane.md#event-delivery).
export {
  openWebhookDelivery,
  verifySignature as verifyWebhookSignature,
  WebhookCodes,
  SIGNATURE_HEADER,
  EVENT_COUNT_HEADER,
  SUBSCRIPTION_ID_HEADER,
} from '../lib/webhook-signature.js';
// Keys held in a PKCS#11 token or AWS KMS, behind the same Signer (README.md#key-custody).
export {
  openPkcs11Signer,
  openAwsKmsSigner,
  parseKeyRef,
  CustodyCodes,
  type KeyRef,
  type Pkcs11Signer,
  type AwsKmsSigner,
} from '../lib/custody/index.js';
