import type { NodeRole } from '../runtime.js';
import { faultTolerance } from './manifests/consortium-objects.js';

/** Validators that must stay up for the chain to commit: 2f+1 of n. */
export function quorumSize(validators: number): number {
  return validators - faultTolerance(validators);
}

/**
 * Whether one more validator may go down now: the ready validators other than the one
 * being upgraded must still form a quorum.
 */
export function canTakeDown(readyValidatorsOtherThanTarget: number, totalValidators: number): boolean {
  return readyValidatorsOtherThanTarget >= quorumSize(totalValidators);
}

/** Upgrade order: non-validators first (cheap to lose), then validators, each sorted by id for determinism. */
export function upgradeOrder<T extends { nodeId: string; role: NodeRole }>(nodes: T[]): T[] {
  const byId = (a: T, b: T) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0);
  return [
    ...nodes.filter((n) => n.role !== 'validator').sort(byId),
    ...nodes.filter((n) => n.role === 'validator').sort(byId),
  ];
}
