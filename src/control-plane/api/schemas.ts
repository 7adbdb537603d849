/**
 * TypeBox schemas: the single source for request validation, response serialization
 * (fields not in a response schema are never sent, e.g. token hashes, sealed kubeconfigs)
 * and the OpenAPI document.
 */
import { NodeKeyRequestSchema } from '../domain/key-providers.js';
import { Type, type TSchema } from 'typebox';
import { ADMIN_KEYS_MAX } from '../domain/admin-keys.js';
import { WEBHOOK_BATCH_EVENTS_DEFAULT, WEBHOOK_BATCH_EVENTS_MAX } from '../delivery/config.js';
import {
  TOKEN_ROTATION_GRACE_MAX_SECONDS,
  TOKEN_TTL_CEILING_SECONDS,
  TOKEN_TTL_MIN_SECONDS,
} from '../domain/tokens.js';

export const Hex32 = Type.String({ pattern: '^[0-9a-f]{64}$', description: '32 bytes, lowercase hex' });
export const Hex64 = Type.String({ pattern: '^[0-9a-f]{128}$', description: '64 bytes, lowercase hex' });
const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
const Name = Type.String({ minLength: 1, maxLength: 64 });
const Time = Type.String({ description: 'ISO-8601 time' });

const ErrorInner = Type.Object({
  code: Type.String(),
  message: Type.String(),
  details: Type.Record(Type.String(), Type.Unknown()),
});
export const ErrorBody = Type.Object({ error: ErrorInner });
/** ErrorBody with the OpenAPI description of one status. */
function errorResponse(description: string) {
  return Type.Object({ error: ErrorInner }, { description });
}

export const PageQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  cursor: Type.Optional(Type.String({ maxLength: 2048 })),
});
export function PageOf<T extends TSchema>(item: T) {
  return Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) });
}

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
});

// ---- organizations & tokens
export const OrgCreate = Type.Object({ name: Name, adminPublicKeys: Type.Array(Hex32, { minItems: 1, maxItems: 16 }) });
export const OrgPatch = Type.Object({
  version: Type.Integer({ minimum: 1, description: 'the version you read; stale -> 409 VERSION_CONFLICT' }),
  name: Type.Optional(Name),
  adminPublicKeys: Type.Optional(Type.Array(Hex32, { minItems: 1, maxItems: 16 })),
});
export const Org = Type.Object({
  id: Type.String(),
  name: Type.String(),
  adminPublicKeys: Type.Array(Type.String()),
  version: Type.Integer(),
  createdAt: Time,
  updatedAt: Time,
});
export const OrgRoleSchema = Type.Union([
  Type.Literal('org-admin'),
  Type.Literal('org-operator'),
  Type.Literal('org-viewer'),
]);
const TtlSeconds = Type.Integer({
  minimum: TOKEN_TTL_MIN_SECONDS,
  maximum: TOKEN_TTL_CEILING_SECONDS,
  description:
    'lifetime in seconds (default: config tokenTtlSeconds; over config tokenMaxTtlSeconds -> 400 VALIDATION_FAILED)',
});
export const TokenCreate = Type.Object({ name: Name, role: OrgRoleSchema, ttlSeconds: Type.Optional(TtlSeconds) });
export const PlatformTokenCreate = Type.Object({ name: Name, ttlSeconds: Type.Optional(TtlSeconds) });
export const TokenRotate = Type.Object({
  gracePeriodSeconds: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: TOKEN_ROTATION_GRACE_MAX_SECONDS,
      default: 0,
      description: 'how long the old token keeps working next to the new one; 0 (default) revokes it now',
    }),
  ),
  ttlSeconds: Type.Optional(TtlSeconds),
});
/** Token metadata: never the secret nor its hash. */
export const Token = Type.Object({
  id: Type.String(),
  orgId: Type.Union([Type.String(), Type.Null()]),
  name: Type.String(),
  role: Type.String(),
  createdAt: Time,
  expiresAt: Time,
  expired: Type.Boolean(),
  lastUsedAt: Type.Union([Time, Type.Null()], {
    description: 'last authenticated use (to the minute); null if never used',
  }),
  replacedBy: Type.Optional(
    Type.String({ description: 'set once rotated: the new token; this one works until expiresAt (the grace period)' }),
  ),
  rotatedFrom: Type.Optional(Type.String({ description: 'the token this one replaced' })),
});
export const TokenCreated = Type.Object({
  ...Token.properties,
  token: Type.Optional(
    Type.String({ description: 'the secret, shown only in the first response (omitted on idempotent replays)' }),
  ),
});

// ---- clusters
const DnsName = Type.String({ minLength: 1, maxLength: 253, pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$' });
/**
 * Per-cluster settings of the kubernetes runtime (over the platform's defaults): what a cluster
 * in another cloud needs so that peers elsewhere reach its nodes.
 */
export const ClusterRuntimeOptions = Type.Object(
  {
    namespacePrefix: Type.Optional(Type.String({ maxLength: 30, pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?-?)?$' })),
    /** P2P address each node advertises, e.g. "{node}.p2p.eu.example.com:26656" ({node}, {namespace}, {consortium}). */
    p2pAdvertiseTemplate: Type.Optional(
      Type.String({ minLength: 3, maxLength: 253, pattern: '^[A-Za-z0-9.{}_-]+:[0-9]{1,5}$' }),
    ),
    p2pExternalServiceType: Type.Optional(Type.Union([Type.Literal('LoadBalancer'), Type.Literal('NodePort')])),
    /** Peers in other clusters allowed through the NetworkPolicy to the P2P port. */
    p2pAllowedCidrs: Type.Optional(
      Type.Array(Type.String({ pattern: '^[0-9a-fA-F.:]+/[0-9]{1,3}$' }), { maxItems: 64 }),
    ),
    storageClasses: Type.Optional(
      Type.Object(
        {
          validator: Type.Optional(DnsName),
          super: Type.Optional(DnsName),
          ordinary: Type.Optional(DnsName),
          light: Type.Optional(DnsName),
        },
        { additionalProperties: false },
      ),
    ),
    nodeAccess: Type.Optional(Type.Union([Type.Literal('direct'), Type.Literal('proxy')])),
    clusterDomain: Type.Optional(DnsName),
  },
  { additionalProperties: false },
);
export const ClusterCreate = Type.Object({
  name: Name,
  kind: Type.Literal('kubernetes'),
  kubeconfig: Type.Optional(Type.String({ minLength: 1, maxLength: 1_000_000 })),
  inCluster: Type.Optional(Type.Boolean()),
  runtimeOptions: Type.Optional(ClusterRuntimeOptions),
});
export const Cluster = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: Type.String(),
  inCluster: Type.Boolean(),
  hasKubeconfig: Type.Boolean(),
  runtimeOptions: Type.Optional(ClusterRuntimeOptions),
  status: Type.String(),
  serverVersion: Type.Optional(Type.String()),
  version: Type.Integer(),
  createdAt: Time,
});

// ---- consortia
export const Comparator = Type.Union([Type.Literal('GREATER_THAN'), Type.Literal('GREATER_THAN_OR_EQUAL_TO')]);
export const VotingPolicy = Type.Object({
  thresholdPercentage: Type.Integer({ minimum: 0, maximum: 100 }),
  thresholdComparator: Comparator,
  proposalDurationSeconds: Type.Integer({ minimum: 1, maximum: 30 * 24 * 3600 }),
});
export const ParamsInput = Type.Object({
  blockIntervalMs: Type.Integer({ minimum: 10, maximum: 600_000 }),
  maxBlockBytes: Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024 }),
  maxTxBytes: Type.Optional(Type.Integer({ minimum: 256, maximum: 16 * 1024 * 1024 })),
  maxBlockTxs: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
});
export const Params = Type.Object({
  blockIntervalMs: Type.Integer(),
  maxBlockBytes: Type.Integer(),
  maxTxBytes: Type.Integer(),
  maxBlockTxs: Type.Integer(),
});
export const ConsortiumCreate = Type.Object({
  name: Name,
  founders: Type.Array(Id, { minItems: 1, maxItems: 64 }),
  params: ParamsInput,
  votingPolicy: VotingPolicy,
});
/** Container image reference: [registry/]repository[:tag][@sha256:digest]. */
export const ConsortiumUpdate = Type.Object(
  {
    nodeImage: Type.String({
      minLength: 1,
      maxLength: 512,
      pattern: '^[a-z0-9][a-z0-9._/:-]*(@sha256:[a-f0-9]{64})?$',
    }),
  },
  { additionalProperties: false },
);
export const Member = Type.Object({
  consortiumId: Type.String(),
  memberId: Type.String(),
  orgId: Type.String(),
  name: Type.String(),
  status: Type.String(),
  joinedAt: Time,
  adminKeys: Type.Optional(
    Type.Array(Type.String(), { description: "admin keys on this chain after a rotation; absent: the organization's" }),
  ),
  retiredAdminKeys: Type.Optional(
    Type.Array(
      Type.Object({
        publicKey: Type.String(),
        proposalId: Type.String(),
        height: Type.Optional(Type.Integer()),
        at: Time,
      }),
      { description: 'admin keys replaced on this chain: votes signed with them are refused (409 KEY_RETIRED)' },
    ),
  ),
});
export const Consortium = Type.Object({
  id: Type.String(),
  name: Type.String(),
  chainId: Type.String(),
  founders: Type.Array(Type.String()),
  params: Params,
  votingPolicy: VotingPolicy,
  status: Type.String(),
  nodeImage: Type.Optional(Type.String()),
  members: Type.Array(Member),
  version: Type.Integer(),
  createdAt: Time,
  updatedAt: Time,
});

// ---- proposals & votes
export const ParamsChange = Type.Object(
  {
    blockIntervalMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 600_000 })),
    maxBlockBytes: Type.Optional(Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024 })),
    maxTxBytes: Type.Optional(Type.Integer({ minimum: 256, maximum: 16 * 1024 * 1024 })),
    maxBlockTxs: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    votingPolicy: Type.Optional(VotingPolicy),
  },
  { minProperties: 1, additionalProperties: false },
);
export const RotateValidatorKeyAction = Type.Object(
  { type: Type.Literal('rotate_validator_key'), nodeId: Id },
  {
    description:
      "A validator node of the proposing organization replaces its consensus key: the control plane asks the node for a new key (made inside the node's key backend; only the public key and proof of possession leave it) and proposes rotate_validator_key(old, new, proof of possession). The node signs with the new key from the height after the one the proposal executes at; its power is unchanged.",
  },
);
export const Action = Type.Union([
  Type.Object({ type: Type.Literal('invite_member'), orgId: Id }),
  Type.Object({ type: Type.Literal('remove_member'), memberId: Id }),
  Type.Object({ type: Type.Literal('add_validator'), nodeId: Id }),
  Type.Object({ type: Type.Literal('remove_validator'), nodeId: Id }),
  Type.Object({ type: Type.Literal('change_params'), params: ParamsChange }),
  Type.Object(
    {
      type: Type.Literal('rotate_admin_keys'),
      memberId: Id,
      newAdminKeys: Type.Array(Hex32, { minItems: 1, maxItems: ADMIN_KEYS_MAX }),
      endorsement: Type.Object({ adminKey: Hex32, signature: Hex64 }, { additionalProperties: false }),
    },
    {
      description:
        'The member replaces its admin keys; endorsement: one of its current admin keys signs adminKeyEndorsementPayload(chainId, memberId, newAdminKeys) under consortia/admin-key-endorsement/v1. Proposed by the member itself; every member votes (its own vote included).',
    },
  ),
  Type.Object(
    {
      type: Type.Literal('recover_admin_keys'),
      memberId: Id,
      newAdminKeys: Type.Array(Hex32, { minItems: 1, maxItems: ADMIN_KEYS_MAX }),
    },
    {
      description:
        'The other members replace the admin keys of a member that lost them: no endorsement; the member itself does not vote and the policy is applied to the others (docs/trust-model.md#admin-key-rotation-and-recovery).',
    },
  ),
  RotateValidatorKeyAction,
]);
export const ProposalCreate = Type.Object({
  action: Action,
  description: Type.Optional(Type.String({ maxLength: 1024 })),
});
export const VoteInput = Type.Object({
  memberId: Id,
  vote: Type.Union([Type.Literal('YES'), Type.Literal('NO')]),
  adminKey: Hex32,
  signature: Hex64,
});
export const InvitationAnswerInput = Type.Object({
  orgId: Id,
  vote: Type.Union([Type.Literal('YES'), Type.Literal('NO')], {
    description: 'YES accepts the invitation, NO declines it',
  }),
  adminKey: Hex32,
  signature: Hex64,
});
export const Vote = Type.Object({
  memberId: Type.String(),
  adminKey: Type.String(),
  vote: Type.String(),
  signature: Type.String(),
  at: Time,
});
export const Proposal = Type.Object({
  id: Type.String(),
  consortiumId: Type.String(),
  chainId: Type.String(),
  action: Type.Unknown(),
  chainAction: Type.Unknown(),
  actionHash: Type.String(),
  status: Type.String(),
  proposedBy: Type.Union([Type.String(), Type.Null()]),
  eligibleMemberIds: Type.Array(Type.String()),
  votes: Type.Array(Vote),
  yesVotes: Type.Integer(),
  noVotes: Type.Integer(),
  createdAt: Time,
  expiresAt: Time,
  decidedAt: Type.Optional(Time),
  execution: Type.Optional(Type.Unknown()),
  invitation: Type.Optional(
    Type.Object(
      {
        status: Type.String({ description: 'PENDING | ACCEPTED | DECLINED' }),
        adminKey: Type.Optional(Type.String()),
        signature: Type.Optional(Type.String()),
        at: Type.Optional(Time),
      },
      {
        description:
          'invite_member only: the invited organization answers with POST .../invitation; it executes once approved and accepted',
      },
    ),
  ),
  version: Type.Integer(),
});

// ---- nodes
export const NodeRole = Type.Union([
  Type.Literal('validator'),
  Type.Literal('super'),
  Type.Literal('ordinary'),
  Type.Literal('light'),
]);
export const Tier = Type.Object(
  {
    retentionBlocks: Type.Optional(Type.Integer({ minimum: 1 })),
    retentionSeconds: Type.Optional(Type.Integer({ minimum: 1 })),
    followAccounts: Type.Optional(Type.Array(Hex32, { maxItems: 1000 })),
  },
  { additionalProperties: false },
);
export const Resources = Type.Object({
  cpu: Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?m?$', default: '500m' }),
  memory: Type.String({ pattern: '^[0-9]+(Ki|Mi|Gi|Ti)?$', default: '512Mi' }),
  storage: Type.Optional(Type.String({ pattern: '^[0-9]+(Ki|Mi|Gi|Ti)?$' })),
});
export const NodeCreate = Type.Object({
  orgId: Id,
  role: NodeRole,
  clusterId: Type.Optional(Id),
  tier: Type.Optional(Tier),
  resources: Type.Optional(Resources),
  key: Type.Optional(NodeKeyRequestSchema),
});
export const NodeStatus = Type.Object({
  phase: Type.String(),
  ready: Type.Boolean(),
  identity: Type.Optional(
    Type.Object({ publicKey: Type.String(), proofOfPossession: Type.String(), verified: Type.Boolean() }),
  ),
  endpoints: Type.Optional(
    Type.Object({
      api: Type.String(),
      p2p: Type.String(),
      metrics: Type.String(),
      peerApi: Type.Optional(Type.String()),
    }),
  ),
  height: Type.Optional(Type.Integer()),
  inValidatorSet: Type.Optional(
    Type.Boolean({
      description:
        "whether the node's key is in the chain's current validator set (a validator requested after genesis joins it by an add_validator proposal)",
    }),
  ),
  message: Type.Optional(Type.String()),
  restarts: Type.Optional(Type.Integer()),
  observedGeneration: Type.Optional(Type.Integer()),
  storage: Type.Optional(
    Type.Object(
      {
        lowestHeight: Type.Integer({
          description: 'lowest block height still kept (ordinary nodes prune below their retention window)',
        }),
        highestHeight: Type.Integer(),
        bytes: Type.Integer({ description: 'bytes on disk of the node data dir' }),
      },
      { description: 'retained block range and bytes on disk, as reported by the node' },
    ),
  ),
  lastReconciledAt: Type.Optional(Time),
});
export const NodeRegistration = Type.Object(
  {
    status: Type.String({ description: 'AWAITING_IDENTITY | AWAITING_SIGNATURE | SIGNED | REGISTERED | FAILED' }),
    proposalId: Type.String(),
    action: Type.Optional(Type.Unknown()),
    actionHash: Type.Optional(Type.String()),
    attempts: Type.Optional(Type.Integer()),
    txHash: Type.Optional(Type.String()),
    height: Type.Optional(Type.Integer()),
    code: Type.Optional(Type.String()),
    error: Type.Optional(Type.String()),
  },
  {
    description:
      'On-chain admission of a node outside the genesis: sign governanceVotePayload(chainId, proposalId, actionHash, "YES") with an org admin key (tag consortia/gov-vote/v1) and POST it to .../registration',
  },
);
export const ConsensusKey = Type.Object(
  {
    publicKey: Type.String(),
    previous: Type.Array(Type.String()),
    proposalId: Type.String(),
    height: Type.Optional(Type.Integer()),
    at: Time,
  },
  {
    description:
      'the consensus key this validator signs with since a rotate_validator_key executed (absent: its identity key); previous: the keys it signed with before',
  },
);
export const Node = Type.Object({
  id: Type.String(),
  consortiumId: Type.String(),
  orgId: Type.String(),
  role: Type.String(),
  clusterId: Type.String(),
  tier: Type.Unknown(),
  resources: Type.Unknown(),
  desired: Type.String(),
  mode: Type.String(),
  generation: Type.Integer(),
  status: NodeStatus,
  registration: Type.Optional(NodeRegistration),
  consensusKey: Type.Optional(ConsensusKey),
  key: Type.Optional(
    Type.Object({
      provider: Type.String(),
      backend: Type.String(),
      keyLabel: Type.Optional(Type.String()),
      keyId: Type.Optional(Type.String()),
    }),
  ),
  version: Type.Integer(),
  createdAt: Time,
});

// ---- ceremony
export const Approval = Type.Object({
  memberId: Type.String(),
  adminKey: Type.String(),
  signature: Type.String(),
  at: Time,
});
export const ApprovalInput = Type.Object({ memberId: Id, adminKey: Hex32, signature: Hex64 });
export const Ceremony = Type.Object({
  consortiumId: Type.String(),
  status: Type.String(),
  nodeIds: Type.Array(Type.String()),
  genesisHash: Type.Optional(Type.String()),
  approvals: Type.Array(Approval),
  pendingApprovals: Type.Array(Type.String()),
  pendingNodes: Type.Array(Type.String()),
  startedAt: Time,
  sealedAt: Type.Optional(Time),
  version: Type.Integer(),
});
export const TranscriptEntry = Type.Object({
  seq: Type.Integer(),
  type: Type.String(),
  at: Time,
  data: Type.Unknown(),
  prevHash: Type.String(),
  hash: Type.String(),
});
export const Transcript = Type.Object({
  consortiumId: Type.String(),
  head: Type.String(),
  entries: Type.Array(TranscriptEntry),
});

export const AuditEvent = Type.Object({
  id: Type.String(),
  at: Time,
  actor: Type.String(),
  action: Type.String(),
  resource: Type.String(),
  orgIds: Type.Array(Type.String()),
  details: Type.Optional(Type.Unknown()),
});

/** GET /v1/platform/node-ca (api/routes-platform.ts). */
export const NodeCa = Type.Object({
  caCertificate: Type.String({
    description:
      'PEM certificate of the node CA: it signs the HTTPS certificate of every chain node the control plane runs on Kubernetes; trust it to call those nodes',
  }),
  fingerprint: Type.String({ description: 'sha256:<64 hex> of caCertificate' }),
});

/**
 * Every error status a route of this API can answer, each `{ error: { code, message, details } }`
 * (documents them in OpenAPI; lib/http-contract.ts adds them to a route that names none).
 */
export const Errors = {
  400: errorResponse(
    'VALIDATION_FAILED (every schema problem in details.problems, the first 20, with details.count; unknown fields in details.unknownFields), ' +
      'BAD_URL (undecodable URL), BAD_REQUEST (not valid HTTP), INVALID_SIGNATURE, INVALID_KEY, INVALID_ACTION, INVALID_TIER, CLUSTER_UNREACHABLE, ENCRYPTION_NOT_CONFIGURED',
  ),
  401: errorResponse(
    'UNAUTHENTICATED: no bearer token, or an unknown or revoked one; TOKEN_EXPIRED: the token is past its expiresAt (details.tokenId, details.expiredAt). ' +
      'details.reason says which (missing_token, malformed_token, unknown_token, expired)',
  ),
  403: errorResponse(
    "FORBIDDEN (the token's role or organization may not do this), NOT_A_MEMBER; details.reason says which (platform_admin_required, role, organization, not_member)",
  ),
  404: errorResponse('NOT_FOUND: no such resource, or one of another organization'),
  405: errorResponse('METHOD_NOT_ALLOWED: the path does not take this method; the Allow header lists those it takes'),
  408: errorResponse('REQUEST_TIMEOUT: the request was not received in time'),
  409: errorResponse(
    'VERSION_CONFLICT, INVALID_STATE, ALREADY_EXISTS, ALREADY_VOTED, ALREADY_APPROVED, PROPOSAL_CLOSED',
  ),
  413: errorResponse('PAYLOAD_TOO_LARGE: the body is over the limit (details.limit bytes)'),
  414: errorResponse('URI_TOO_LONG: a path parameter or the request line is too long'),
  415: errorResponse('UNSUPPORTED_MEDIA_TYPE: bodies are application/json'),
  422: errorResponse('IDEMPOTENCY_KEY_REUSED: the Idempotency-Key was used with a different request'),
  429: errorResponse('RATE_LIMITED: too many requests from this client; retry after Retry-After seconds'),
  431: errorResponse('HEADERS_TOO_LARGE: the request headers are over the limit'),
  500: errorResponse('INTERNAL'),
};

// ---- webhook subscriptions (delivery/, api/routes-subscriptions.ts)
const SubscriptionKindSchema = Type.Union(
  [
    Type.Literal('account_txs'),
    Type.Literal('asset_movements'),
    Type.Literal('anchors'),
    Type.Literal('blocks'),
    Type.Literal('control_plane'),
  ],
  {
    description:
      'account_txs (needs account), asset_movements (needs asset), anchors (account optional: only its anchors), blocks, control_plane',
  },
);
export const SubscriptionFilter = Type.Object({
  kind: SubscriptionKindSchema,
  account: Type.Optional(Hex32),
  asset: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._:-]{1,64}$', description: 'asset id' })),
});
export const SubscriptionCreate = Type.Object({
  url: Type.String({
    minLength: 8,
    maxLength: 2048,
    description:
      'https:// receiver (http:// only on loopback when the control plane allows it: webhooks.allowHttpLoopback)',
  }),
  filter: SubscriptionFilter,
  fromHeight: Type.Optional(
    Type.Integer({
      minimum: 1,
      description: 'chain kinds: first block delivered (default: the first block after the subscription is picked up)',
    }),
  ),
  maxBatchEvents: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: WEBHOOK_BATCH_EVENTS_MAX,
      description: `events one POST carries at most (default ${WEBHOOK_BATCH_EVENTS_DEFAULT}); 1 sends one event per POST`,
    }),
  ),
});
const SubscriptionCursorView = Type.Object({
  height: Type.Integer(),
  index: Type.Integer(),
  seq: Type.Integer(),
  attempts: Type.Integer({ description: 'failed attempts at the batch starting at the cursor' }),
  nextAttemptAt: Type.Union([Time, Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  delivered: Type.Integer(),
  deadLettered: Type.Integer(),
  updatedAt: Time,
});
export const Subscription = Type.Object({
  id: Type.String(),
  consortiumId: Type.String(),
  orgId: Type.String(),
  url: Type.String(),
  filter: SubscriptionFilter,
  status: Type.Literal('ACTIVE'),
  fromHeight: Type.Optional(Type.Integer()),
  maxBatchEvents: Type.Integer({ description: 'events one POST carries at most' }),
  createdAt: Time,
  cursor: Type.Union([SubscriptionCursorView, Type.Null()], {
    description: 'null until the delivery worker picked the subscription up',
  }),
});
export const SubscriptionCreated = Type.Object({
  ...Subscription.properties,
  secret: Type.String({ description: 'HMAC-SHA256 key of the Consortia-Signature header; shown once' }),
});
export const DeadLetter = Type.Object({
  id: Type.String({ description: 'the event id' }),
  event: Type.Record(Type.String(), Type.Unknown()),
  attempts: Type.Integer(),
  lastError: Type.String(),
  status: Type.Union([Type.Literal('FAILED'), Type.Literal('REDELIVERING')]),
  failedAt: Time,
});
