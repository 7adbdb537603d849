/** Everything a route needs, built once by buildServer and shared with the workers. */
import type { Registry } from 'prom-client';
import type { ChangeBus } from '../domain/events.js';
import type { TokenPolicy } from '../domain/tokens.js';
import type { LevelStore, Queries } from '../store/index.js';
import type { ControlPlaneMetrics } from '../metrics.js';
import type { KeyProvider } from '../domain/key-providers.js';
import type { NodeRecord, PreparedValidatorKey } from '../domain/types.js';

export interface ApiContext {
  store: LevelStore;
  q: Queries;
  bus: ChangeBus;
  now: () => number;
  /** Token lifetimes (config tokenTtlSeconds / tokenMaxTtlSeconds). */
  tokens: TokenPolicy;
  registry: Registry;
  metrics: ControlPlaneMetrics;
  /** AES-256-GCM key for cluster credentials; absent -> kubeconfig uploads are refused. */
  encryptionKey?: Buffer;
  /** Wakes the reconciler / governance worker after a change (no-op in tests without workers). */
  kick: (what: 'nodes' | 'governance' | 'ceremony') => void;
  /** Asks a validator node for a new consensus key over its admin API (main.ts); absent: rotations are refused. */
  requestConsensusKey?: (node: NodeRecord) => Promise<PreparedValidatorKey>;
  /** Key providers a node request may name (config keyProviders); empty: every node keeps a key file. */
  keyProviders: ReadonlyMap<string, KeyProvider>;
}
