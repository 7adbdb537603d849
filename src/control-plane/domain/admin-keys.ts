/**
 * A member's admin keys as its consortium's chain knows them, and the checks of a key replacement
 * (rotate_admin_keys / recover_admin_keys -> the chain's replace_admin_keys) made before anything
 * is stored. The chain makes the same checks again when the proposal executes
 * (checkReplaceAdminKeys, src/chain/state/transition.ts).
 */
import { ConsortiaError } from '../../lib/errors.js';
import {
  ADMIN_KEYS_MAX,
  TAG_ADMIN_KEY_ENDORSEMENT,
  adminKeyEndorsementPayload,
  fromHex,
  isValidPublicKey,
  verifyDomain,
} from './chain-port.js';
import { CpCodes } from './errors.js';
import { hexField } from './governance.js';
import type { AdminKeyEndorsementJson, Member, Organization, RetiredAdminKey } from './types.js';

export { ADMIN_KEYS_MAX };

/** The keys that sign for `member` on its chain: its own once a replacement executed, else its organization's. */
export function memberAdminKeys(member: Member | undefined, org: Organization | undefined): string[] {
  return member?.adminKeys ?? org?.adminPublicKeys ?? [];
}

/** The record of `key` if a replacement on this chain retired it. */
export function retiredKey(member: Member | undefined, key: string): RetiredAdminKey | undefined {
  return member?.retiredAdminKeys?.find((r) => r.publicKey === key);
}

/** 409 KEY_RETIRED naming when and by which proposal the key was replaced. */
export function keyRetiredError(memberId: string, r: RetiredAdminKey, field = 'adminKey'): ConsortiaError {
  return new ConsortiaError(
    CpCodes.KEY_RETIRED,
    `admin key ${r.publicKey} of ${memberId} was retired by proposal ${r.proposalId}${r.height !== undefined ? ` at height ${r.height}` : ''}; sign with its current admin key`,
    { field, memberId, retiredBy: r.proposalId, ...(r.height !== undefined ? { height: r.height } : {}) },
  );
}

/**
 * Throws unless `adminKey` signs for `memberId` now: KEY_RETIRED for a replaced key,
 * INVALID_SIGNATURE (field adminKey) for any other key that is not one of its admin keys.
 */
export function requireCurrentAdminKey(
  memberId: string,
  member: Member | undefined,
  org: Organization | undefined,
  adminKey: string,
): void {
  const r = retiredKey(member, adminKey);
  if (r) throw keyRetiredError(memberId, r);
  if (!memberAdminKeys(member, org).includes(adminKey))
    throw new ConsortiaError(CpCodes.INVALID_SIGNATURE, `adminKey is not an admin key of ${memberId}`, {
      field: 'adminKey',
    });
}

/**
 * The replacement keys are usable: Ed25519 points, no duplicates, not the current set, none retired
 * on this chain, none an admin key of another member (`othersKeys`). INVALID_KEY / KEY_RETIRED
 * name the offending key's index.
 */
export function checkNewAdminKeys(
  memberId: string,
  member: Member | undefined,
  current: string[],
  newAdminKeys: string[],
  othersKeys: Map<string, string>,
): void {
  const field = 'action.newAdminKeys';
  if (newAdminKeys.length === 0 || newAdminKeys.length > ADMIN_KEYS_MAX)
    throw new ConsortiaError(CpCodes.INVALID_KEY, `give 1 to ${ADMIN_KEYS_MAX} admin keys`, { field });
  const seen = new Set<string>();
  newAdminKeys.forEach((k, i) => {
    const at = `${field}[${i}]`;
    const pk = hexField(k, at, 32);
    if (!isValidPublicKey(pk))
      throw new ConsortiaError(CpCodes.INVALID_KEY, `${at} is not an Ed25519 public key`, { field: at });
    if (seen.has(k)) throw new ConsortiaError(CpCodes.INVALID_KEY, `${at} repeats key ${k}`, { field: at });
    seen.add(k);
    const r = retiredKey(member, k);
    if (r) throw keyRetiredError(memberId, r, at);
    const owner = othersKeys.get(k);
    if (owner !== undefined)
      throw new ConsortiaError(CpCodes.INVALID_KEY, `${at} is an admin key of member ${owner}`, { field: at });
  });
  if (current.length === seen.size && current.every((k) => seen.has(k)))
    throw new ConsortiaError(CpCodes.INVALID_KEY, `the new admin keys are ${memberId}'s current ones`, { field });
}

/**
 * The endorsement is by a current admin key of the member and verifies over (chainId, memberId,
 * newAdminKeys): else KEY_RETIRED, or INVALID_ENDORSEMENT naming the field.
 */
export function checkEndorsement(
  chainId: string,
  memberId: string,
  member: Member | undefined,
  current: string[],
  newAdminKeys: string[],
  e: AdminKeyEndorsementJson,
): void {
  const r = retiredKey(member, e.adminKey);
  if (r) throw keyRetiredError(memberId, r, 'action.endorsement.adminKey');
  if (!current.includes(e.adminKey))
    throw new ConsortiaError(
      CpCodes.INVALID_ENDORSEMENT,
      `endorsement.adminKey is not a current admin key of ${memberId}`,
      { field: 'action.endorsement.adminKey' },
    );
  const pk = hexField(e.adminKey, 'action.endorsement.adminKey', 32);
  const sig = hexField(e.signature, 'action.endorsement.signature', 64);
  const payload = adminKeyEndorsementPayload(
    chainId,
    memberId,
    newAdminKeys.map((k) => fromHex(k, 32)),
  );
  if (!verifyDomain(TAG_ADMIN_KEY_ENDORSEMENT, pk, payload, sig))
    throw new ConsortiaError(
      CpCodes.INVALID_ENDORSEMENT,
      `endorsement.signature does not verify: it must sign (chainId, ${memberId}, newAdminKeys) with the endorsing key`,
      { field: 'action.endorsement.signature' },
    );
}

/**
 * The member after its replacement executed on chain: the new keys, and the keys it no longer
 * has retired at `height`.
 */
export function memberAfterReplacement(
  member: Member,
  org: Organization | undefined,
  newAdminKeys: string[],
  proposalId: string,
  height: number | undefined,
  at: string,
): Member {
  const kept = new Set(newAdminKeys);
  const retired = memberAdminKeys(member, org)
    .filter((k) => !kept.has(k))
    .map((publicKey) => ({ publicKey, proposalId, ...(height !== undefined ? { height } : {}), at }));
  return {
    ...member,
    adminKeys: [...newAdminKeys],
    retiredAdminKeys: [...(member.retiredAdminKeys ?? []), ...retired],
  };
}
