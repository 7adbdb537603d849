import { join } from 'node:path';
import { ConsortiaError } from '../../../lib/errors.js';
import { nodeKeyConfig } from '../node-key-config.js';
import type { NodeSpec } from '../runtime.js';
import type { Allocation } from './allocations.js';
import { LocalRuntimeCodes } from './errors.js';

/** Files of one node under baseDir/<consortiumId>/<nodeId>. */
export interface NodePaths {
  dir: string;
  dataDir: string;
  configFile: string;
  genesisFile: string;
  keyFile: string;
  /** The node's admin credential (mode 0600), named by adminTokenFile in its config. */
  adminTokenFile: string;
  /** The PIN of a PKCS#11 node key's token (mode 0600), named by key.pinFile in its config. */
  keyPinFile: string;
  logFile: string;
  pidFile: string;
}

export function nodePaths(baseDir: string, consortiumId: string, nodeId: string): NodePaths {
  const dir = join(baseDir, safeSegment(consortiumId), safeSegment(nodeId));
  return {
    dir,
    dataDir: join(dir, 'data'),
    configFile: join(dir, 'node.json'),
    genesisFile: join(dir, 'genesis.json'),
    keyFile: join(dir, 'data', 'node.key'),
    adminTokenFile: join(dir, 'admin-token'),
    keyPinFile: join(dir, 'key-pin'),
    logFile: join(dir, 'node.log'),
    pidFile: join(dir, 'node.pid'),
  };
}

/** Ids become directory names: refuse anything that could escape baseDir. */
function safeSegment(id: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(id)) {
    throw new ConsortiaError(
      LocalRuntimeCodes.LOCAL_INVALID_SPEC,
      `id ${JSON.stringify(id)} is not a safe directory name`,
    );
  }
  return id;
}

/** The node config file (src/node/config.ts) derived from a NodeSpec; generation is deliberately not part of it. */
export function buildNodeConfig(
  spec: NodeSpec,
  paths: NodePaths,
  alloc: Allocation,
  logLevel: string,
): Record<string, unknown> {
  if (spec.mode === 'run' && spec.genesis === undefined) {
    throw new ConsortiaError(LocalRuntimeCodes.LOCAL_INVALID_SPEC, `node ${spec.nodeId}: mode 'run' needs a genesis`);
  }
  const cfg: Record<string, unknown> = {
    role: spec.role,
    chainId: spec.chainId,
    dataDir: paths.dataDir,
    keyFile: paths.keyFile,
    p2pListen: `${alloc.host}:${alloc.p2pPort}`,
    p2pAdvertise: `${alloc.host}:${alloc.p2pPort}`,
    apiListen: `${alloc.host}:${alloc.apiPort}`,
    peers: spec.peers.map((p) => ({ publicKey: p.publicKey, address: p.address })),
    logLevel,
    // The token itself is not in this file: it is in adminTokenFile (0600), present only while the spec carries one.
    adminTokenFile: paths.adminTokenFile,
    // Plain HTTP, asked for explicitly: the node listens on a loopback address only (allocations.ts), where
    // the node refuses anything else (lib/tls-config.ts); docs/trust-model.md#transport-security.
    tls: { mode: 'off' },
  };
  if (spec.expectedGenesis !== undefined) cfg.expectedGenesis = spec.expectedGenesis;
  if (spec.mode === 'run') cfg.genesisFile = paths.genesisFile;
  if (spec.tier.retentionBlocks !== undefined) cfg.retentionBlocks = spec.tier.retentionBlocks;
  if (spec.tier.retentionSeconds !== undefined) cfg.retentionSeconds = spec.tier.retentionSeconds;
  if (spec.tier.followAccounts !== undefined) cfg.followAccounts = spec.tier.followAccounts;
  if (spec.syncFrom?.length) cfg.syncFrom = spec.syncFrom;
  if (spec.key !== undefined)
    cfg.key = nodeKeyConfig(spec.key, spec.keyPin !== undefined ? paths.keyPinFile : undefined);
  return cfg;
}

export function endpointsOf(alloc: Allocation): { api: string; p2p: string; metrics: string } {
  const api = `http://${alloc.host}:${alloc.apiPort}`;
  return { api, p2p: `${alloc.host}:${alloc.p2pPort}`, metrics: `${api}/metrics` };
}
