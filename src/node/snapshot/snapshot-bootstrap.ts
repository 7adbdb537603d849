import {
  checkBlockBody,
  decodeBlock,
  decodeCommit,
  fromHex,
  genesisHash,
  sortValidators,
  stateFromSnapshot,
  toHex,
  verifyHeaderSkipping,
  blockHash,
  type Genesis,
  type LightTrust,
} from '../../chain/index.js';
import { ConsortiaError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logging.js';
import { valsToBytes } from '../engine/chain-tip.js';
import { StoreKeys, epochFromJSON, type ChainStore, type EpochJSON } from '../store/index.js';

/**
 * Starts an empty ordinary node from a state snapshot served over HTTP by a super or ordinary
 * node (GET /v1/snapshot) instead of replaying history. Nothing the server says is trusted:
 * the header at the snapshot height must be certified by > 2/3 of the validator set derived
 * from genesis through the epoch records (validator-set changes, each proven), the block body
 * must match its header, and the entries must rebuild exactly the header's state root.
 */
export const SnapshotCodes = { SNAPSHOT_UNAVAILABLE: 'SNAPSHOT_UNAVAILABLE' } as const;

export interface SnapshotJSON {
  height: number;
  block: string;
  commit: string;
  epochs: EpochJSON[];
  entries: [string, string][];
}

export function genesisTrust(g: Genesis): LightTrust {
  return {
    chainId: g.chainId,
    height: 0,
    hash: genesisHash(g),
    stateRoot: null,
    validators: sortValidators(
      g.validators.map((v) => ({ publicKey: v.publicKey, power: v.power, memberId: v.memberId })),
    ),
  };
}

/** Verifies a snapshot against genesis; returns what the store needs. Throws on any mismatch. */
export function verifySnapshot(g: Genesis, j: SnapshotJSON) {
  if (!j || !Number.isSafeInteger(j.height) || j.height < 1 || !Array.isArray(j.entries) || !Array.isArray(j.epochs)) {
    throw new ConsortiaError('CODEC_INVALID', 'malformed snapshot');
  }
  const blockBytes = fromHex(j.block);
  const commitBytes = fromHex(j.commit);
  const block = decodeBlock(blockBytes);
  if (block.header.height !== j.height)
    throw new ConsortiaError('CODEC_INVALID', 'snapshot height does not match its block');
  const epochs = j.epochs.map(epochFromJSON);
  const trust = verifyHeaderSkipping(genesisTrust(g), epochs, block.header, decodeCommit(commitBytes));
  checkBlockBody(block);
  const entries: [string, Uint8Array][] = j.entries.map(([k, v]) => {
    if (typeof k !== 'string') throw new ConsortiaError('CODEC_INVALID', 'bad snapshot key');
    return [k, fromHex(v)];
  });
  stateFromSnapshot(entries, block.header.stateRoot);
  return {
    height: j.height,
    hash: blockHash(block.header),
    blockBytes,
    commitBytes,
    entries,
    signers: trust.validators,
    epochs: j.epochs,
    epochHeights: epochs.map((e) => e.header.height),
  };
}

/** Tries each source in turn; returns the installed height, or null when none served a valid snapshot. */
export async function bootstrapFromSnapshot(
  g: Genesis,
  store: ChainStore,
  sources: string[],
  logger: Logger,
): Promise<number | null> {
  for (const src of sources) {
    try {
      const r = await fetch(`${src.replace(/\/$/, '')}/v1/snapshot`, { signal: AbortSignal.timeout(60_000) });
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      const v = verifySnapshot(g, (await r.json()) as SnapshotJSON);
      await store.installSnapshot({
        height: v.height,
        hash: v.hash,
        blockBytes: v.blockBytes,
        commitBytes: v.commitBytes,
        entries: v.entries,
        meta: new Map([['lastvals', valsToBytes(v.signers)]]),
        // keep the epoch records so that this node can serve snapshots and light clients in turn
        raw: v.epochs.map(
          (e, i) => [StoreKeys.epoch(v.epochHeights[i]!), Buffer.from(JSON.stringify(e))] as [string, Uint8Array],
        ),
      });
      logger.info('started from a verified state snapshot', {
        source: src,
        height: v.height,
        keys: v.entries.length,
        head: toHex(v.hash),
      });
      return v.height;
    } catch (err) {
      logger.warn('snapshot rejected or unavailable', { source: src, err: (err as Error).message });
    }
  }
  return null;
}
