import { describe, expect, it } from 'vitest';
import type { NodeRecord } from '../../../src/control-plane/domain/types.js';
import {
  parseNodeStatus,
  VALIDATOR_PENDING,
  VALIDATOR_REMOVED,
  validatorSetMessage,
} from '../../../src/control-plane/reconciler/index.js';

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

describe("a validator's place in the validator set", () => {
  const key = 'ab'.repeat(32);
  const other = 'cd'.repeat(32);
  it('parseNodeStatus: whether the node reports its own key among the validators', () => {
    const status = (validators: unknown, genesisInstalled = true) =>
      parseNodeStatus({ height: 3, nodeKey: key, genesisInstalled, validators });
    expect(status([{ publicKey: other }, { publicKey: key }])?.inValidatorSet).toBe(true);
    expect(status([{ publicKey: other }])?.inValidatorSet).toBe(false);
    // no genesis yet, or a malformed list: unknown, not "out of the set"
    expect(status([{ publicKey: other }], false)?.inValidatorSet).toBeUndefined();
    expect(status([{ publicKey: 7 }])?.inValidatorSet).toBeUndefined();
    expect(status('nope')?.inValidatorSet).toBeUndefined();
  });

  it('status message: not yet a validator until its key joins; removed once it left; silent otherwise', () => {
    const node = (role: string, status: Record<string, unknown>) =>
      ({ role, status: { phase: 'Running', ready: true, ...status } }) as unknown as NodeRecord;
    expect(validatorSetMessage(node('validator', {}), false)).toMatch(new RegExp(`^${VALIDATOR_PENDING}`));
    expect(validatorSetMessage(node('validator', { inValidatorSet: true }), false)).toMatch(
      new RegExp(`^${VALIDATOR_REMOVED}`),
    );
    // stays "removed" on later passes, once the stored flag is already false
    const removed = validatorSetMessage(node('validator', { inValidatorSet: true }), false);
    expect(validatorSetMessage(node('validator', { inValidatorSet: false, message: removed }), false)).toBe(removed);
    expect(validatorSetMessage(node('validator', {}), true)).toBeUndefined();
    expect(validatorSetMessage(node('validator', {}), undefined)).toBeUndefined();
    expect(validatorSetMessage(node('ordinary', {}), false)).toBeUndefined();
  });
});
