/**
 * One call per state change: stages an audit event in the same atomic batch and publishes
 * the change event on the bus once that batch committed.
 */
import type { ChangeBus } from '../domain/events.js';
import { timeOrderedId } from '../domain/ids.js';
import type { AuditEvent, ChangeEvent } from '../domain/types.js';
import type { UnitOfWork } from './level-store.js';
import { K } from './keys.js';

export interface ChangeInput {
  actor: string;
  /** e.g. 'organization.created' */
  type: string;
  /** e.g. 'organizations/org_x' */
  resource: string;
  orgIds: string[];
  data: unknown;
  details?: Record<string, unknown>;
}

export async function recordChange(uow: UnitOfWork, bus: ChangeBus, nowMs: number, c: ChangeInput): Promise<void> {
  const id = timeOrderedId(nowMs);
  const at = new Date(nowMs).toISOString();
  const audit: AuditEvent = {
    id,
    at,
    actor: c.actor,
    action: c.type,
    resource: c.resource,
    orgIds: c.orgIds,
    ...(c.details ? { details: c.details } : {}),
  };
  await uow.append(K.audit(id), audit as unknown as Record<string, unknown>);
  const ev: ChangeEvent = { id, type: c.type, resource: c.resource, at, orgIds: c.orgIds, data: c.data };
  uow.afterCommit.push(() => bus.publish(ev));
}
