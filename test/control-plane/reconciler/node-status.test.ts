import { describe, expect, it } from 'vitest';
import { parseNodeStatus } from '../../../src/control-plane/reconciler/index.js';

describe('parseNodeStatus (GET /v1/status of a node)', () => {
  it('reads height and the retained range with bytes on disk', () => {
    expect(
      parseNodeStatus({ height: 12, storage: { lowestHeight: 3, highestHeight: 12, bytes: 4096 }, peers: [] }),
    ).toEqual({
      height: 12,
      storage: { lowestHeight: 3, highestHeight: 12, bytes: 4096 },
    });
  });
  it('storage is optional (older nodes do not report it)', () => {
    expect(parseNodeStatus({ height: 0 })).toEqual({ height: 0 });
  });
  it('ignores malformed storage and refuses a status without a height', () => {
    expect(parseNodeStatus({ height: 5, storage: { lowestHeight: 9, highestHeight: 5, bytes: 1 } })).toEqual({
      height: 5,
    });
    expect(parseNodeStatus({ height: 5, storage: { lowestHeight: 0, highestHeight: 5, bytes: -1 } })).toEqual({
      height: 5,
    });
    expect(parseNodeStatus({ height: 5, storage: { lowestHeight: '0', highestHeight: 5, bytes: 1 } })).toEqual({
      height: 5,
    });
    expect(parseNodeStatus({ height: '5' })).toBeUndefined();
    expect(parseNodeStatus(null)).toBeUndefined();
  });
});
