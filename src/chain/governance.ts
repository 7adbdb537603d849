import { Reader, Writer, Limits } from './codec.js';
import { CodecError, ChainCodes } from './errors.js';
import { sha256, type Hash } from './bytes.js';
import { NODE_ROLES, readPartialParams, writePartialParams, type ChainParams, type NodeRole } from './params.js';
import { Tags, signDomain, verifyDomain } from './keys.js';

export { tallyPasses } from './params.js';

export type GovernanceAction =
  | { type: 'add_member'; memberId: string; name: string; adminKeys: Uint8Array[] }
  | { type: 'remove_member'; memberId: string }
  | { type: 'add_validator'; memberId: string; publicKey: Uint8Array; power: number; proofOfPossession: Uint8Array }
  | { type: 'remove_validator'; publicKey: Uint8Array }
  | { type: 'register_node'; memberId: string; publicKey: Uint8Array; role: NodeRole }
  | { type: 'change_params'; params: Partial<ChainParams> }
  | {
      type: 'replace_admin_keys';
      memberId: string;
      newAdminKeys: Uint8Array[];
      /** Rotation: a current admin key of the member signs the new keys. null: recovery by the other members' votes. */
      endorsement: AdminKeyEndorsement | null;
    }
  | { type: 'rotate_validator_key'; oldPublicKey: Uint8Array; newPublicKey: Uint8Array; proofOfPossession: Uint8Array };

/** A member's current admin key vouching for the keys that replace its set (tag admin-key-endorsement). */
export interface AdminKeyEndorsement {
  adminKey: Uint8Array;
  signature: Uint8Array;
}

/** Admin keys one member may hold at once (replace_admin_keys; a rotation rarely needs more than two). */
export const ADMIN_KEYS_MAX = 16;

export type VoteChoice = 'YES' | 'NO';
export interface GovernanceVote {
  memberId: string;
  adminKey: Uint8Array;
  vote: VoteChoice;
  signature: Uint8Array;
}

const ACTION_TAGS = [
  'add_member',
  'remove_member',
  'add_validator',
  'remove_validator',
  'register_node',
  'change_params',
  'replace_admin_keys',
  'rotate_validator_key',
] as const;

export function writeGovernanceAction(w: Writer, a: GovernanceAction): void {
  const tag = ACTION_TAGS.indexOf(a.type);
  if (tag < 0) throw new CodecError(ChainCodes.CODEC_INVALID, 'unknown governance action');
  w.u8(tag);
  switch (a.type) {
    case 'add_member':
      w.string(a.memberId, Limits.id).string(a.name, Limits.id).u32(a.adminKeys.length);
      for (const k of a.adminKeys) w.fixed(k, 32);
      break;
    case 'remove_member':
      w.string(a.memberId, Limits.id);
      break;
    case 'add_validator':
      w.string(a.memberId, Limits.id).fixed(a.publicKey, 32).u64(a.power).fixed(a.proofOfPossession, 64);
      break;
    case 'remove_validator':
      w.fixed(a.publicKey, 32);
      break;
    case 'register_node': {
      const role = NODE_ROLES.indexOf(a.role);
      if (role < 0) throw new CodecError(ChainCodes.CODEC_INVALID, 'unknown node role');
      w.string(a.memberId, Limits.id).fixed(a.publicKey, 32).u8(role);
      break;
    }
    case 'change_params':
      writePartialParams(w, a.params);
      break;
    case 'replace_admin_keys':
      if (a.newAdminKeys.length > ADMIN_KEYS_MAX)
        throw new CodecError(ChainCodes.CODEC_OVERSIZE, `more than ${ADMIN_KEYS_MAX} admin keys`);
      w.string(a.memberId, Limits.id).u32(a.newAdminKeys.length);
      for (const k of a.newAdminKeys) w.fixed(k, 32);
      if (a.endorsement === null) w.u8(0);
      else w.u8(1).fixed(a.endorsement.adminKey, 32).fixed(a.endorsement.signature, 64);
      break;
    case 'rotate_validator_key':
      w.fixed(a.oldPublicKey, 32).fixed(a.newPublicKey, 32).fixed(a.proofOfPossession, 64);
      break;
  }
}

export function readGovernanceAction(r: Reader): GovernanceAction {
  const tag = r.u8();
  switch (ACTION_TAGS[tag]) {
    case 'add_member': {
      const memberId = r.string(Limits.id);
      const name = r.string(Limits.id);
      const n = r.count(Limits.maxList);
      const adminKeys: Uint8Array[] = [];
      for (let i = 0; i < n; i++) adminKeys.push(r.fixed(32));
      return { type: 'add_member', memberId, name, adminKeys };
    }
    case 'remove_member':
      return { type: 'remove_member', memberId: r.string(Limits.id) };
    case 'add_validator':
      return {
        type: 'add_validator',
        memberId: r.string(Limits.id),
        publicKey: r.fixed(32),
        power: r.u64n(),
        proofOfPossession: r.fixed(64),
      };
    case 'remove_validator':
      return { type: 'remove_validator', publicKey: r.fixed(32) };
    case 'register_node': {
      const memberId = r.string(Limits.id);
      const publicKey = r.fixed(32);
      const role = NODE_ROLES[r.u8()];
      if (role === undefined) throw new CodecError(ChainCodes.CODEC_INVALID, 'unknown node role');
      return { type: 'register_node', memberId, publicKey, role };
    }
    case 'change_params':
      return { type: 'change_params', params: readPartialParams(r) };
    case 'replace_admin_keys': {
      const memberId = r.string(Limits.id);
      const n = r.count(ADMIN_KEYS_MAX);
      const newAdminKeys: Uint8Array[] = [];
      for (let i = 0; i < n; i++) newAdminKeys.push(r.fixed(32));
      const flag = r.u8();
      if (flag > 1) throw new CodecError(ChainCodes.CODEC_NON_CANONICAL, 'endorsement flag must be 0 or 1');
      const endorsement = flag === 1 ? { adminKey: r.fixed(32), signature: r.fixed(64) } : null;
      return { type: 'replace_admin_keys', memberId, newAdminKeys, endorsement };
    }
    case 'rotate_validator_key':
      return {
        type: 'rotate_validator_key',
        oldPublicKey: r.fixed(32),
        newPublicKey: r.fixed(32),
        proofOfPossession: r.fixed(64),
      };
    default:
      throw new CodecError(ChainCodes.CODEC_INVALID, `unknown governance action tag ${tag}`);
  }
}

export function encodeGovernanceAction(a: GovernanceAction): Uint8Array {
  const w = new Writer(128);
  writeGovernanceAction(w, a);
  return w.finish();
}
export function decodeGovernanceAction(b: Uint8Array): GovernanceAction {
  const r = new Reader(b);
  const a = readGovernanceAction(r);
  r.end();
  return a;
}
/** The hash that votes refer to: sha256(encodeGovernanceAction(a)). */
export function governanceActionHash(a: GovernanceAction): Hash {
  return sha256(encodeGovernanceAction(a));
}

/** What an org admin signs (tag gov-vote). */
export function governanceVotePayload(
  chainId: string,
  proposalId: string,
  actionHash: Hash,
  vote: VoteChoice,
): Uint8Array {
  if (vote !== 'YES' && vote !== 'NO') throw new CodecError(ChainCodes.CODEC_INVALID, 'vote must be YES or NO');
  return new Writer(128)
    .string(chainId)
    .string(proposalId)
    .fixed(actionHash, 32)
    .u8(vote === 'YES' ? 1 : 0)
    .finish();
}
export function signGovernanceVote(
  chainId: string,
  proposalId: string,
  actionHash: Hash,
  vote: VoteChoice,
  memberId: string,
  adminSecretKey: Uint8Array,
  adminKey: Uint8Array,
): GovernanceVote {
  const signature = signDomain(
    Tags.GOV_VOTE,
    adminSecretKey,
    governanceVotePayload(chainId, proposalId, actionHash, vote),
  );
  return { memberId, adminKey, vote, signature };
}
export function verifyGovernanceVote(
  chainId: string,
  proposalId: string,
  actionHash: Hash,
  v: GovernanceVote,
): boolean {
  return verifyDomain(
    Tags.GOV_VOTE,
    v.adminKey,
    governanceVotePayload(chainId, proposalId, actionHash, v.vote),
    v.signature,
  );
}

/**
 * What a member's current admin key signs to endorse its replacement keys (tag admin-key-endorsement):
 * bound to the chain and the member, so it cannot be replayed on another chain or for another member.
 */
export function adminKeyEndorsementPayload(chainId: string, memberId: string, newAdminKeys: Uint8Array[]): Uint8Array {
  if (newAdminKeys.length > ADMIN_KEYS_MAX)
    throw new CodecError(ChainCodes.CODEC_OVERSIZE, `more than ${ADMIN_KEYS_MAX} admin keys`);
  const w = new Writer(96 + 32 * newAdminKeys.length).string(chainId).string(memberId, Limits.id);
  w.u32(newAdminKeys.length);
  for (const k of newAdminKeys) w.fixed(k, 32);
  return w.finish();
}
export function signAdminKeyEndorsement(
  chainId: string,
  memberId: string,
  newAdminKeys: Uint8Array[],
  adminSecretKey: Uint8Array,
  adminKey: Uint8Array,
): AdminKeyEndorsement {
  const signature = signDomain(
    Tags.ADMIN_KEY_ENDORSEMENT,
    adminSecretKey,
    adminKeyEndorsementPayload(chainId, memberId, newAdminKeys),
  );
  return { adminKey, signature };
}
export function verifyAdminKeyEndorsement(
  chainId: string,
  memberId: string,
  newAdminKeys: Uint8Array[],
  e: AdminKeyEndorsement,
): boolean {
  return verifyDomain(
    Tags.ADMIN_KEY_ENDORSEMENT,
    e.adminKey,
    adminKeyEndorsementPayload(chainId, memberId, newAdminKeys),
    e.signature,
  );
}

export function writeGovernanceVote(w: Writer, v: GovernanceVote): void {
  if (v.vote !== 'YES' && v.vote !== 'NO') throw new CodecError(ChainCodes.CODEC_INVALID, 'vote must be YES or NO');
  w.string(v.memberId, Limits.id)
    .fixed(v.adminKey, 32)
    .u8(v.vote === 'YES' ? 1 : 0)
    .fixed(v.signature, 64);
}
export function readGovernanceVote(r: Reader): GovernanceVote {
  const memberId = r.string(Limits.id);
  const adminKey = r.fixed(32);
  const v = r.u8();
  if (v > 1) throw new CodecError(ChainCodes.CODEC_INVALID, 'vote must be 0 or 1');
  return { memberId, adminKey, vote: v === 1 ? 'YES' : 'NO', signature: r.fixed(64) };
}
