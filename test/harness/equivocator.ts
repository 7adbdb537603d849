/**
 * Equivocating validator harness: connects to the network over the real p2p protocol
 * (TLS, node key = a genesis validator key) and signs two conflicting prevotes for the same
 * height/round, sending each to every peer.
 */
import { randomBytes } from 'node:crypto';
import { signVote, toHex, type KeyPair } from '../../src/chain/index.js';
import { P2PNetwork, type ChannelName } from '../../src/node/p2p/index.js';
import { encodeMsg } from '../../src/node/engine/messages.js';

export class Equivocator {
  readonly net: P2PNetwork;
  /** What the harness does with messages from the nodes (nothing unless a test says). */
  onMessage?: (peer: string, channel: ChannelName, payload: Buffer) => void;
  constructor(
    private readonly chainId: string,
    readonly key: KeyPair,
    peers: { publicKey: string; address: string }[],
    host: string,
  ) {
    this.net = new P2PNetwork({
      nodeSeed: key.secretKey,
      listenHost: host,
      listenPort: 0,
      peers,
      isAllowed: () => true,
      onMessage: (peer, ch, p) => this.onMessage?.(peer, ch, p),
      backoffBaseMs: 50,
      backoffMaxMs: 500,
    });
  }
  start(): Promise<unknown> {
    return this.net.start();
  }
  close(): Promise<void> {
    return this.net.close();
  }

  /** Two prevotes for (height, round) with different block hashes. */
  equivocate(height: number, round = 0): void {
    for (const hash of [randomBytes(32), randomBytes(32)]) {
      const v = signVote(this.chainId, this.key.secretKey, this.key.publicKey, 'prevote', height, round, hash);
      this.net.broadcast(
        'consensus',
        encodeMsg({
          kind: 'vote',
          type: 'prevote',
          height,
          round,
          blockHash: v.blockHash,
          validator: v.validator,
          signature: v.signature,
        }),
      );
    }
  }
  get publicKeyHex(): string {
    return toHex(this.key.publicKey);
  }
}
