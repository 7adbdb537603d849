/**
 * Tier settings per node role (docs/storage-tiers.md): retention (blocks and/or seconds) applies to
 * ordinary nodes only, followed accounts to light nodes only. Anything else is refused with
 * 400 INVALID_TIER naming the field, so a request never silently drops a setting.
 */
import { ConsortiaError } from '../../lib/errors.js';
import type { NodeRole, TierSettings } from '../runtimes/runtime.js';
import { CpCodes } from './errors.js';

const ROLE_OF_FIELD: Record<keyof TierSettings, NodeRole> = {
  retentionBlocks: 'ordinary',
  retentionSeconds: 'ordinary',
  followAccounts: 'light',
};

export function validateTier(role: NodeRole, tier: TierSettings): void {
  for (const field of Object.keys(ROLE_OF_FIELD) as (keyof TierSettings)[]) {
    if (tier[field] === undefined) continue;
    const wanted = ROLE_OF_FIELD[field];
    if (role !== wanted) {
      throw new ConsortiaError(
        CpCodes.INVALID_TIER,
        `tier.${field} applies to ${wanted} nodes, not to a ${role} node`,
        { field: `tier.${field}`, role },
      );
    }
  }
  const follow = tier.followAccounts ?? [];
  if (new Set(follow).size !== follow.length) {
    throw new ConsortiaError(CpCodes.INVALID_TIER, 'tier.followAccounts lists an account twice', {
      field: 'tier.followAccounts',
      role,
    });
  }
}
