/**
 * Stored control-plane records. Bytes are lowercase hex strings; times are ISO strings
 * (or ms numbers where the chain needs them). Every record carries an optimistic `version`
 * maintained by the store.
 */
import type { NodeRole, TierSettings, NodeResources, NodeEndpoints } from '../runtimes/runtime.js';
import type { TranscriptEntry } from './chain-port.js';
import type { NodeKeyChoice } from './key-providers.js';

export type Role = 'platform-admin' | 'org-admin' | 'org-operator' | 'org-viewer';
export type OrgRole = Exclude<Role, 'platform-admin'>;

export interface Versioned {
  version: number;
}

export interface Organization extends Versioned {
  id: string;
  name: string;
  adminPublicKeys: string[];
  createdAt: string;
  updatedAt: string;
}

export interface ApiToken extends Versioned {
  id: string;
  /** null for platform-admin tokens. */
  orgId: string | null;
  name: string;
  role: Role;
  /** SHA-256 hex of the secret; the secret itself is shown once and never stored. */
  tokenHash: string;
  createdAt: string;
  /** After this instant the token is refused (401 TOKEN_EXPIRED). Absent only on records written before expiry existed, until the next start gives them one (api/bootstrap.ts). */
  expiresAt?: string;
  /** Last authenticated use, recorded at most every TOKEN_LAST_USED_RESOLUTION_MS. */
  lastUsedAt?: string;
  /** Set when this token was rotated: the token that replaces it (this one lives on until expiresAt, the grace period). */
  replacedBy?: string;
  /** The token this one replaced by rotation. */
  rotatedFrom?: string;
}

export interface Cluster extends Versioned {
  id: string;
  name: string;
  kind: 'local' | 'kubernetes';
  inCluster: boolean;
  /** AES-256-GCM sealed kubeconfig (see domain/secret-box.ts); never returned by the API. */
  kubeconfigSealed?: string;
  /** Runtime settings of this cluster over the platform defaults (api/schemas.ts ClusterRuntimeOptions). */
  runtimeOptions?: Record<string, unknown>;
  status: 'Ready' | 'Unverified';
  serverVersion?: string;
  createdAt: string;
}

export type Comparator = 'GREATER_THAN' | 'GREATER_THAN_OR_EQUAL_TO';
export interface VotingPolicyRecord {
  thresholdPercentage: number;
  thresholdComparator: Comparator;
  proposalDurationSeconds: number;
}
export interface ParamsRecord {
  blockIntervalMs: number;
  maxBlockBytes: number;
  maxTxBytes: number;
  maxBlockTxs: number;
}

export interface Consortium extends Versioned {
  id: string;
  name: string;
  chainId: string;
  founders: string[];
  params: ParamsRecord;
  votingPolicy: VotingPolicyRecord;
  /** FORMING until the genesis is sealed, then ACTIVE; DELETING while its nodes are torn down, then DELETED. */
  status: 'FORMING' | 'ACTIVE' | 'DELETING' | 'DELETED';
  /** Node image for this consortium's Kubernetes nodes; unset: the platform default. Changing it rolls the nodes. */
  nodeImage?: string;
  createdAt: string;
  updatedAt: string;
}

export interface Member extends Versioned {
  consortiumId: string;
  /** memberId == orgId: one membership per organization and consortium. */
  memberId: string;
  orgId: string;
  name: string;
  status: 'ACTIVE' | 'REMOVED';
  joinedAt: string;
  /**
   * The member's admin keys on this consortium's chain once a replace_admin_keys executed there;
   * absent: its organization's adminPublicKeys (domain/admin-keys.ts memberAdminKeys).
   */
  adminKeys?: string[];
  /** Admin keys replaced on this chain: refused from then on (KEY_RETIRED). */
  retiredAdminKeys?: RetiredAdminKey[];
}

export interface RetiredAdminKey {
  publicKey: string;
  /** The proposal whose execution retired it, and the chain height it executed at (if known). */
  proposalId: string;
  height?: number;
  at: string;
}

/** A current admin key's signature over the replacement keys (chain tag consortia/admin-key-endorsement/v1). */
export interface AdminKeyEndorsementJson {
  adminKey: string;
  signature: string;
}

export type ApiAction =
  | { type: 'invite_member'; orgId: string }
  | { type: 'remove_member'; memberId: string }
  | { type: 'add_validator'; nodeId: string }
  | { type: 'remove_validator'; nodeId: string }
  | { type: 'change_params'; params: Record<string, unknown> }
  | { type: 'rotate_admin_keys'; memberId: string; newAdminKeys: string[]; endorsement: AdminKeyEndorsementJson }
  | { type: 'recover_admin_keys'; memberId: string; newAdminKeys: string[] }
  | { type: 'rotate_validator_key'; nodeId: string };

/** The chain GovernanceAction with bytes as hex (converted by domain/governance.ts). */
export type ChainActionJson =
  | { type: 'add_member'; memberId: string; name: string; adminKeys: string[] }
  | { type: 'remove_member'; memberId: string }
  | { type: 'add_validator'; memberId: string; publicKey: string; power: number; proofOfPossession: string }
  | { type: 'remove_validator'; publicKey: string }
  | { type: 'register_node'; memberId: string; publicKey: string; role: NodeRole }
  | { type: 'change_params'; params: Record<string, unknown> }
  | {
      type: 'replace_admin_keys';
      memberId: string;
      newAdminKeys: string[];
      endorsement: AdminKeyEndorsementJson | null;
    }
  | { type: 'rotate_validator_key'; oldPublicKey: string; newPublicKey: string; proofOfPossession: string };

export type ProposalStatus = 'IN_PROGRESS' | 'APPROVED' | 'REJECTED' | 'EXPIRED' | 'EXECUTED' | 'EXECUTION_FAILED';

export interface VoteRecord {
  memberId: string;
  adminKey: string;
  vote: 'YES' | 'NO';
  signature: string;
  at: string;
}

export interface Proposal extends Versioned {
  id: string;
  consortiumId: string;
  action: ApiAction;
  chainAction: ChainActionJson;
  actionHash: string;
  status: ProposalStatus;
  proposedBy: string | null;
  /** Members entitled to vote (snapshot at creation): the threshold is over ALL of them. */
  eligibleMemberIds: string[];
  votes: VoteRecord[];
  yesVotes: number;
  noVotes: number;
  createdAt: string;
  expiresAt: string;
  decidedAt?: string;
  execution?: {
    onChain: boolean;
    attempts: number;
    txHash?: string;
    height?: number;
    code?: string;
    error?: string;
    at?: string;
  };
  /** invite_member only: the invitee's answer; the proposal executes once approved AND accepted (domain/voting.ts). */
  invitation?: InvitationAnswer;
}

/** An invited organization's answer, signed with one of its admin keys like a vote (YES = accept). */
export interface InvitationAnswer {
  status: 'PENDING' | 'ACCEPTED' | 'DECLINED';
  adminKey?: string;
  signature?: string;
  at?: string;
}

export type NodePhase = 'Pending' | 'Provisioning' | 'Running' | 'Failed' | 'Terminating' | 'Deleted';

/** Retained block range and bytes on disk as the node reports them (GET /v1/status `storage`). */
export interface NodeStorageStatus {
  lowestHeight: number;
  highestHeight: number;
  bytes: number;
}

export interface NodeStatus {
  phase: NodePhase;
  ready: boolean;
  identity?: { publicKey: string; proofOfPossession: string; verified: boolean };
  endpoints?: NodeEndpoints;
  height?: number;
  storage?: NodeStorageStatus;
  /** Whether the node's key is in the chain's current validator set, as the node reports it. */
  inValidatorSet?: boolean;
  message?: string;
  restarts?: number;
  observedGeneration?: number;
  lastReconciledAt?: string;
}

/**
 * On-chain admission of a node requested after genesis (non-validator roles): the node first runs in
 * keygen mode and reports its key; its organization signs (client-side, admin key) a YES vote over the
 * register_node action; the control plane relays it in a governance tx, the chain verifies it, and only
 * then does the node start with the genesis (peers accept a key only once it is in the node registry).
 */
export interface NodeRegistration {
  status: 'AWAITING_IDENTITY' | 'AWAITING_SIGNATURE' | 'SIGNED' | 'REGISTERED' | 'FAILED';
  /** Governance proposal id the signature covers (unique per node: a signature cannot be replayed elsewhere). */
  proposalId: string;
  /** Set once the node reported a verified key. */
  action?: Extract<ChainActionJson, { type: 'register_node' }>;
  actionHash?: string;
  vote?: VoteRecord;
  attempts?: number;
  txHash?: string;
  height?: number;
  code?: string;
  error?: string;
}

export interface NodeRecord extends Versioned {
  id: string;
  consortiumId: string;
  orgId: string;
  role: NodeRole;
  clusterId: string;
  tier: TierSettings;
  resources: NodeResources;
  desired: 'present' | 'deleted';
  mode: 'keygen' | 'run';
  /** Bumped whenever the spec handed to the runtime changes (see reconciler/spec.ts). */
  generation: number;
  specHash?: string;
  status: NodeStatus;
  registration?: NodeRegistration;
  /** A validator's consensus key since a rotate_validator_key executed; absent: its identity key signs. */
  consensusKey?: ConsensusKeyRecord;
  /** Where the node keeps its key (domain/key-providers.ts); absent: a key file on its volume. */
  key?: NodeKeyChoice;
  createdAt: string;
}

/** What a validator node answers when asked for a new consensus key (src/node/rpc/routes/consensus-keys.ts). */
export interface PreparedValidatorKey {
  publicKey: string;
  proofOfPossession: string;
  /** The key the node signs with now. */
  currentKey: string;
}

/** The key a validator node signs consensus messages with after a rotation (its identity key stays its p2p key). */
export interface ConsensusKeyRecord {
  publicKey: string;
  /** Keys it signed with before, oldest first (its identity key first). */
  previous: string[];
  /** The rotate_validator_key proposal that switched it, and the block height it executed at (the switch is the next height). */
  proposalId: string;
  height?: number;
  at: string;
}

export interface GenesisRecord {
  chainId: string;
  genesisTime: number;
  params: ParamsRecord & { votingPolicy: VotingPolicyRecord };
  members: { memberId: string; name: string; adminKeys: string[] }[];
  validators: { memberId: string; publicKey: string; power: number; proofOfPossession: string }[];
  nodes: { memberId: string; publicKey: string; role: NodeRole }[];
}

/** One entry of the ceremony's hash-chained transcript (src/chain/transcript.ts). */
export type { TranscriptEntry } from './chain-port.js';

export interface Ceremony extends Versioned {
  consortiumId: string;
  status: 'COLLECTING_KEYS' | 'AWAITING_APPROVALS' | 'SEALED';
  /** Nodes whose identity goes into genesis (all nodes present when the ceremony started). */
  nodeIds: string[];
  genesis?: GenesisRecord;
  genesisHash?: string;
  approvals: { memberId: string; adminKey: string; signature: string; at: string }[];
  transcript: TranscriptEntry[];
  startedAt: string;
  sealedAt?: string;
}

export interface AuditEvent {
  id: string;
  at: string;
  actor: string;
  action: string;
  resource: string;
  orgIds: string[];
  details?: Record<string, unknown>;
}

/** A resource change published on /v1/events after its batch committed. */
export interface ChangeEvent {
  id: string;
  type: string;
  resource: string;
  at: string;
  orgIds: string[];
  data: unknown;
}
