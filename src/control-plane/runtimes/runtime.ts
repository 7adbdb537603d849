/**
 * The seam between the reconciler and where nodes run. A Runtime places one chain node
 * per NodeSpec. Every method is idempotent: apply() of the same spec twice changes
 * nothing, delete() of an absent node succeeds, observe() never mutates.
 * Implementations: runtimes/local (child processes on 127.0.0.x) and
 * runtimes/kubernetes (server-side apply through @kubernetes/client-node).
 */
export type NodeRole = 'validator' | 'super' | 'ordinary' | 'light';

export interface TierSettings {
  /** ordinary: keep this many most recent blocks (and/or retentionSeconds). */
  retentionBlocks?: number;
  retentionSeconds?: number;
  /** light: hex public keys of the accounts this node follows. */
  followAccounts?: string[];
}

export interface NodeResources {
  cpu: string; // Kubernetes quantity, e.g. "500m"
  memory: string; // e.g. "512Mi"
  storage?: string; // PVC size override, e.g. "20Gi"; default comes from the tier
}

/**
 * Where a node's key lives (src/node/node-key.ts), resolved from a key provider of the control
 * plane's config (domain/key-providers.ts). Absent: a key file on the node's own volume.
 */
export type NodeKeySpec = Pkcs11NodeKeySpec | AwsKmsNodeKeySpec;

/** How a pod reaches the provider (Kubernetes runtime only): volumes, mounts, env, service account. */
export interface NodeKeyPod {
  volumes?: Record<string, unknown>[];
  /** PVCs created in the consortium namespace (shared by its nodes on this provider). */
  volumeClaims?: { name: string; spec: Record<string, unknown> }[];
  volumeMounts?: Record<string, unknown>[];
  env?: { name: string; value: string }[];
  serviceAccountName?: string;
  serviceAccountAnnotations?: Record<string, string>;
}

export interface Pkcs11NodeKeySpec {
  backend: 'pkcs11';
  provider: string;
  module: string;
  tokenLabel: string;
  keyLabel: string;
  kubernetes?: NodeKeyPod;
}

export interface AwsKmsNodeKeySpec {
  backend: 'aws-kms';
  provider: string;
  keyId: string;
  region: string;
  endpoint?: string;
  kubernetes?: NodeKeyPod;
}

export interface PeerRef {
  publicKey: string; // hex Ed25519 node key
  address: string; // host:port of its P2P listener, as advertised
}

export interface NodeSpec {
  nodeId: string;
  consortiumId: string;
  chainId: string;
  orgId: string;
  role: NodeRole;
  tier: TierSettings;
  resources: NodeResources;
  /** Container image (kubernetes); ignored by the local runtime, which runs dist/node/main.js. */
  image?: string;
  /**
   * 'keygen': start the node without genesis; it generates its key in its own runtime and
   * serves GET /v1/identity until a sealed genesis arrives. 'run': start with `genesis`.
   */
  mode: 'keygen' | 'run';
  /** SealedGenesis as JSON (see src/chain genesis JSON form); required when mode is 'run'. */
  genesis?: unknown;
  peers: PeerRef[];
  /**
   * Node API base URLs of full nodes this node fetches from over HTTP: a light node follows
   * headers and proofs from them; an ordinary node joining after genesis starts from their
   * verified state snapshot instead of replaying history.
   */
  syncFrom?: string[];
  /** Monotonic spec version; a runtime may use it to detect that apply() has new content. */
  generation: number;
  /**
   * The genesis this node may accept (node config `expectedGenesis`, see src/node/genesis-policy.ts):
   * its hash once sealed, else the founders (member ids and admin keys) and itself listed in it.
   */
  expectedGenesis?: ExpectedGenesis;
  /**
   * SECRET: the node's admin credential (domain/node-credentials.ts). A runtime delivers it to this
   * node only (local: a 0600 file; kubernetes: a Secret mounted read-only) and never writes it into
   * plain config or a record of the spec. Absent: the node's admin endpoints refuse everything.
   */
  adminToken?: string;
  /** Where the node's key lives; absent: its key file. */
  key?: NodeKeySpec;
  /**
   * SECRET: the PKCS#11 user PIN of `key`'s token, delivered like adminToken (local: a 0600 file;
   * kubernetes: the node's key Secret) and named by the node config's key.pinFile.
   */
  keyPin?: string;
}

export interface ExpectedGenesis {
  /** Lowercase hex genesis hash: the only genesis the node accepts. */
  hash?: string;
  /** Exactly these members, each with only these admin keys (hex). */
  members?: { memberId: string; adminKeys: string[] }[];
  /** The node's own key must be a validator (validator role) or a node of the genesis. */
  includesSelf?: boolean;
}

export interface NodeEndpoints {
  api: string; // base URL of the node HTTP API, e.g. http://127.0.0.5:26657
  p2p: string; // host:port advertised to peers
  metrics: string; // URL of /metrics
  /** Node API as the consortium's other nodes reach it, when that differs from `api` (e.g. api is an API-server proxy URL). */
  peerApi?: string;
}

export type ObservedPhase = 'Absent' | 'Pending' | 'Running' | 'Failed';

export interface NodeObservation {
  phase: ObservedPhase;
  /** Present once the node is reachable: what it reports at /v1/identity. */
  identity?: { publicKey: string; proofOfPossession: string };
  endpoints?: NodeEndpoints;
  /** Ready means /readyz answered 200 (synced and running consensus or following). */
  ready: boolean;
  message?: string;
  restarts?: number;
}

export interface Runtime {
  readonly kind: 'local' | 'kubernetes';
  apply(spec: NodeSpec): Promise<void>;
  delete(spec: Pick<NodeSpec, 'nodeId' | 'consortiumId'>): Promise<void>;
  observe(spec: Pick<NodeSpec, 'nodeId' | 'consortiumId'>): Promise<NodeObservation>;
  /**
   * Removes what the runtime keeps per consortium beyond its nodes (kubernetes: the namespace and
   * its shared objects). Called once every node of the consortium is deleted; idempotent.
   */
  deleteConsortium?(consortiumId: string): Promise<void>;
  /** Release watches, timers and child processes (nodes keep running where the runtime allows). */
  close(): Promise<void>;
}
