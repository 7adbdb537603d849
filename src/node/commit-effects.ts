import { type Block, type CommitCertificate, type Hash, toHex } from '../chain/index.js';
import type { ChainSubsystems } from './assembly.js';
import type { Execution } from './engine/index.js';
import type { NodeMetrics } from './metrics.js';
import type { NewBlockEvent } from './rpc/backend.js';
import type { SubmitWaiters } from './submit-waiters.js';
import { commitSigners, livenessSet } from './validator-liveness.js';

export interface CommittedBlock {
  block: Block;
  hash: Hash;
  cert: CommitCertificate;
  exec: Execution;
}

/** Signer of an encoded tx without decoding it: u8 version | u32 len | chainId | signer(32). */
export function signerHexOf(bytes: Uint8Array): string | null {
  if (bytes.length < 5) return null;
  const len = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readUInt32BE(1);
  const o = 5 + len;
  return o + 32 <= bytes.length ? toHex(bytes.subarray(o, o + 32)) : null;
}

/**
 * What follows a durably committed block: its txs leave the mempool and answer their submitters,
 * metrics and validator liveness move on, the peer allow-list follows node/member changes, sync
 * announces the new height and block subscribers hear of it.
 */
export function applyCommitEffects(
  c: CommittedBlock,
  d: {
    sub: ChainSubsystems;
    waiters: SubmitWaiters;
    metrics: NodeMetrics | undefined;
    listeners: Iterable<(e: NewBlockEvent) => void>;
  },
): void {
  const { sub: r, metrics: m } = d;
  const now = Date.now();
  const hashes: string[] = [];
  const signers = new Set<string>();
  c.exec.results.forEach((res, i) => {
    const hex = res.hashHex;
    hashes.push(hex);
    const entry = r.mempool.get(hex);
    if (entry) {
      signers.add(entry.signer);
      m?.commitLatency.observe((now - entry.admittedAt) / 1000);
    } else {
      const s = signerHexOf(c.block.txs[i]!);
      if (s) signers.add(s);
    }
    d.waiters.committed(hex, {
      status: 'committed',
      hash: res.hash,
      height: c.block.header.height,
      index: i,
      code: res.code,
    });
  });
  r.mempool.onCommitted(hashes, signers);
  r.gate.onCommitted(c.block.txs.length);
  if (m) {
    m.chainHeight.set(c.block.header.height);
    m.txsCommitted.inc(c.block.txs.length);
  }
  const lc = c.block.lastCommit;
  r.liveness?.onBlock(
    c.block.header.height,
    toHex(c.block.header.proposer),
    lc ? commitSigners(lc) : null,
    livenessSet(r.tip.lastValidators),
    livenessSet(r.tip.validators),
  );
  for (const k of c.exec.writes.keys()) {
    if (k.startsWith('node/') || k.startsWith('member/')) {
      r.allowList.refresh();
      r.network.refreshAllowed();
      break;
    }
  }
  r.sync.announce();
  const ev: NewBlockEvent = {
    height: c.block.header.height,
    hash: c.hash,
    time: c.block.header.time,
    txs: c.exec.results.map((x) => x.hash),
  };
  for (const l of d.listeners) {
    try {
      l(ev);
    } catch {
      /* a listener must not break the node */
    }
  }
}
