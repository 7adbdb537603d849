export {
  P2PNetwork,
  P2P_ALPN,
  PING_INTERVAL_MS,
  PEER_TIMEOUT_MS,
  DIAL_TIMEOUT_MS,
  DIAL_BACKOFF_MAX_MS,
  bindAddressFor,
  type NetworkOptions,
  type PeerConfig,
  type ByteCounter,
  type PeerLostReason,
} from './network.js';
export { Channel, CONTROL_CHANNEL, type ChannelName, encodeFrame, FrameDecoder, MAX_FRAME_BYTES } from './framing.js';
export {
  makeBoundTlsIdentity,
  makeBoundTlsIdentityAsync,
  makeTlsIdentity,
  peerKeyFromCert,
  ed25519PrivateKeyFromSeed,
  type TlsIdentity,
} from './tls-identity.js';
export { P2PCodes, badSignature } from './misbehaviour.js';
