import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConsortiaError } from '../../src/lib/errors.js';
import { nodeEnvOverlay, parseNodeConfig } from '../../src/node/config.js';
import { VERIFY_WORKERS_MAX } from '../../src/node/verify-pool/index.js';

const base = { chainId: 'c1', dataDir: '/var/lib/n1' };

describe('node config: verifyWorkers', () => {
  it('defaults to the available cores minus one, at least 1', () => {
    expect(parseNodeConfig(base).verifyWorkers).toBe(Math.max(1, availableParallelism() - 1));
  });

  it('takes 0 (verify inline) up to VERIFY_WORKERS_MAX, from the file or CONSORTIA_NODE_VERIFY_WORKERS', () => {
    expect(parseNodeConfig({ ...base, verifyWorkers: 0 }).verifyWorkers).toBe(0);
    expect(parseNodeConfig({ ...base, verifyWorkers: VERIFY_WORKERS_MAX }).verifyWorkers).toBe(VERIFY_WORKERS_MAX);
    const env = nodeEnvOverlay({ CONSORTIA_NODE_VERIFY_WORKERS: '3' });
    expect(parseNodeConfig({ ...base, ...env }).verifyWorkers).toBe(3);
  });

  it('refuses a negative, too large or non-numeric value', () => {
    for (const verifyWorkers of [-1, VERIFY_WORKERS_MAX + 1, 'many']) {
      let err: unknown;
      try {
        parseNodeConfig({ ...base, verifyWorkers });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConsortiaError);
      expect((err as ConsortiaError).code).toBe('INVALID_CONFIG');
      expect((err as ConsortiaError).message).toContain('verifyWorkers');
    }
  });
});
