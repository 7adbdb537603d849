export { P2PNetwork, type NetworkOptions, type PeerConfig, type ByteCounter } from './network.js';
export { Channel, type ChannelName, encodeFrame, FrameDecoder, MAX_FRAME_BYTES } from './framing.js';
export { makeTlsIdentity, peerKeyFromCert, ed25519PrivateKeyFromSeed, type TlsIdentity } from './tls-identity.js';
export { P2PCodes, badSignature } from './misbehaviour.js';
