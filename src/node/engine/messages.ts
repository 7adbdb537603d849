/**
 * Wire messages of the consensus and sync channels (binary, big-endian). Blocks travel as
 * the chain's canonical encoding (opaque here), so a proposal carries the full block.
 *   consensus: 1 Proposal | 2 Vote
 *   sync:      16 Status{height, lowest} | 17 GetBlocks{from,count} | 18 Blocks[(block, commit)]
 */
export interface ProposalMsg {
  kind: 'proposal';
  height: number;
  round: number;
  polRound: number;
  proposer: Uint8Array;
  signature: Uint8Array;
  block: Uint8Array;
}
export interface VoteMsg {
  kind: 'vote';
  type: 'prevote' | 'precommit';
  height: number;
  round: number;
  blockHash: Uint8Array | null;
  validator: Uint8Array;
  signature: Uint8Array;
}
/** `lowest`: lowest height the peer still serves (pruning nodes); 1 when absent (older peers). */
export interface StatusMsg {
  kind: 'status';
  height: number;
  lowest: number;
}
export interface GetBlocksMsg {
  kind: 'getBlocks';
  from: number;
  count: number;
}
export interface BlocksMsg {
  kind: 'blocks';
  items: { block: Uint8Array; commit: Uint8Array }[];
}
export type WireMsg = ProposalMsg | VoteMsg | StatusMsg | GetBlocksMsg | BlocksMsg;

const T = { proposal: 1, vote: 2, status: 16, getBlocks: 17, blocks: 18 } as const;

export function encodeMsg(m: WireMsg): Buffer {
  switch (m.kind) {
    case 'proposal': {
      const b = Buffer.allocUnsafe(1 + 12 + 32 + 64 + m.block.length);
      b[0] = T.proposal;
      b.writeUInt32BE(m.height, 1);
      b.writeUInt32BE(m.round, 5);
      b.writeUInt32BE(m.polRound + 1, 9);
      b.set(m.proposer, 13);
      b.set(m.signature, 45);
      b.set(m.block, 109);
      return b;
    }
    case 'vote': {
      const b = Buffer.alloc(1 + 1 + 8 + 1 + 32 + 32 + 64);
      b[0] = T.vote;
      b[1] = m.type === 'prevote' ? 1 : 2;
      b.writeUInt32BE(m.height, 2);
      b.writeUInt32BE(m.round, 6);
      b[10] = m.blockHash ? 1 : 0;
      if (m.blockHash) b.set(m.blockHash, 11);
      b.set(m.validator, 43);
      b.set(m.signature, 75);
      return b;
    }
    case 'status': {
      const b = Buffer.alloc(9);
      b[0] = T.status;
      b.writeUInt32BE(m.height, 1);
      b.writeUInt32BE(m.lowest, 5);
      return b;
    }
    case 'getBlocks': {
      const b = Buffer.alloc(9);
      b[0] = T.getBlocks;
      b.writeUInt32BE(m.from, 1);
      b.writeUInt32BE(m.count, 5);
      return b;
    }
    case 'blocks': {
      let n = 5;
      for (const it of m.items) n += 8 + it.block.length + it.commit.length;
      const b = Buffer.allocUnsafe(n);
      b[0] = T.blocks;
      b.writeUInt32BE(m.items.length, 1);
      let o = 5;
      for (const it of m.items) {
        b.writeUInt32BE(it.block.length, o);
        b.set(it.block, o + 4);
        o += 4 + it.block.length;
        b.writeUInt32BE(it.commit.length, o);
        b.set(it.commit, o + 4);
        o += 4 + it.commit.length;
      }
      return b;
    }
  }
}

/** Throws on any malformed message (the caller drops it; a peer cannot crash the node). */
export function decodeMsg(buf: Buffer): WireMsg {
  const need = (n: number): void => {
    if (buf.length < n) throw new Error('message truncated');
  };
  need(1);
  const copy = (a: number, b: number): Uint8Array => new Uint8Array(buf.subarray(a, b));
  switch (buf[0]) {
    case T.proposal:
      need(109);
      return {
        kind: 'proposal',
        height: buf.readUInt32BE(1),
        round: buf.readUInt32BE(5),
        polRound: buf.readUInt32BE(9) - 1,
        proposer: copy(13, 45),
        signature: copy(45, 109),
        block: buf.subarray(109),
      };
    case T.vote: {
      if (buf.length !== 139) throw new Error('bad vote length');
      const t = buf[1];
      if (t !== 1 && t !== 2) throw new Error('bad vote type');
      if (buf[10] !== 0 && buf[10] !== 1) throw new Error('bad vote flag');
      return {
        kind: 'vote',
        type: t === 1 ? 'prevote' : 'precommit',
        height: buf.readUInt32BE(2),
        round: buf.readUInt32BE(6),
        blockHash: buf[10] ? copy(11, 43) : null,
        validator: copy(43, 75),
        signature: copy(75, 139),
      };
    }
    case T.status:
      if (buf.length !== 5 && buf.length !== 9) throw new Error('bad status');
      return { kind: 'status', height: buf.readUInt32BE(1), lowest: buf.length === 9 ? buf.readUInt32BE(5) : 1 };
    case T.getBlocks:
      if (buf.length !== 9) throw new Error('bad getBlocks');
      return { kind: 'getBlocks', from: buf.readUInt32BE(1), count: buf.readUInt32BE(5) };
    case T.blocks: {
      need(5);
      const n = buf.readUInt32BE(1);
      if (n > 10_000) throw new Error('too many blocks');
      const items: { block: Uint8Array; commit: Uint8Array }[] = [];
      let o = 5;
      const take = (): Uint8Array => {
        need(o + 4);
        const l = buf.readUInt32BE(o);
        need(o + 4 + l);
        const v = buf.subarray(o + 4, o + 4 + l);
        o += 4 + l;
        return v;
      };
      for (let i = 0; i < n; i++) {
        const block = take();
        const commit = take();
        items.push({ block, commit });
      }
      if (o !== buf.length) throw new Error('trailing bytes');
      return { kind: 'blocks', items };
    }
    default:
      throw new Error(`unknown message type ${buf[0]}`);
  }
}
