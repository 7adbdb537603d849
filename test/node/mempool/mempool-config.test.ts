import { describe, expect, it } from 'vitest';
import { loadNodeConfig, parseNodeConfig } from '../../../src/node/config.js';
import { statusForCode } from '../../../src/node/rpc/errors.js';

describe('mempool limits: node config and API codes', () => {
  it('takes the mempool limits from the node config file and CONSORTIA_NODE_MEMPOOL_* env, validated', () => {
    const cfg = parseNodeConfig({
      chainId: 'c',
      dataDir: '/d',
      mempool: { txTtlMs: 5_000, futureNoncesMax: 8, accountMaxTxs: 16, peerMaxTxs: 100 },
    });
    expect(cfg.mempool).toMatchObject({ txTtlMs: 5_000, futureNoncesMax: 8, accountMaxTxs: 16, peerMaxTxs: 100 });
    const env = loadNodeConfig([], {
      CONSORTIA_NODE_CHAIN_ID: 'c',
      CONSORTIA_NODE_DATA_DIR: '/d',
      CONSORTIA_NODE_MEMPOOL_TX_TTL_MS: '9000',
      CONSORTIA_NODE_MEMPOOL_FUTURE_NONCES_MAX: '3',
      CONSORTIA_NODE_MEMPOOL_ACCOUNT_MAX_TXS: '7',
      CONSORTIA_NODE_MEMPOOL_PEER_MAX_TXS: '50',
    });
    expect(env.mempool).toMatchObject({ txTtlMs: 9000, futureNoncesMax: 3, accountMaxTxs: 7, peerMaxTxs: 50 });
    expect(() => parseNodeConfig({ chainId: 'c', dataDir: '/d', mempool: { txTtlMs: 0 } })).toThrow(/mempool\/txTtlMs/);
    expect(() => parseNodeConfig({ chainId: 'c', dataDir: '/d', mempool: { accountMaxTxs: 0 } })).toThrow(
      /mempool\/accountMaxTxs/,
    );
  });

  it('maps the new refusal codes to 4xx (not 500)', () => {
    expect(statusForCode('NONCE_TOO_FAR_AHEAD')).toBe(422);
    expect(statusForCode('ACCOUNT_MEMPOOL_FULL')).toBe(429);
    expect(statusForCode('MEMPOOL_FULL')).toBe(429);
  });
});
