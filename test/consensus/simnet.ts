// Deterministic simulated network for the consensus state machine (test support, not a test).
// Seeded PRNG, random delays/reordering/drops before GST, bounded delays after; honest nodes
// re-gossip their own current-height messages (as a real node's gossip does) and catch up on
// a missed height by "block sync" (fetch a commit certificate from a peer that is ahead).
import { hasQuorum, initialState, step, totalPower } from '../../src/consensus/index.js';
import type {
  ConsensusEffect,
  ConsensusInput,
  ConsensusState,
  ConsensusTimeouts,
  Validator,
  Vote,
} from '../../src/consensus/index.js';

/** mulberry32: small, fast, good enough for scheduling. */
export class Rng {
  private a: number;
  constructor(seed: number) {
    this.a = seed >>> 0;
  }
  next(): number {
    let t = (this.a = (this.a + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
}

type ProposalMsg = {
  kind: 'proposal';
  height: number;
  round: number;
  blockHash: string;
  polRound: number;
  proposer: string;
};
type Msg =
  | ProposalMsg
  | { kind: 'vote'; vote: Vote }
  | { kind: 'syncReq'; height: number }
  | { kind: 'syncResp'; height: number; round: number; blockHash: string; precommits: Vote[] };

type Event =
  | { t: number; seq: number; type: 'deliver'; to: number; from: number; msg: Msg }
  | { t: number; seq: number; type: 'input'; node: number; input: ConsensusInput }
  | { t: number; seq: number; type: 'gossip'; node: number };

type EventBody = Event extends infer E ? (E extends Event ? Omit<E, 't' | 'seq'> : never) : never;

class Heap {
  private a: Event[] = [];
  get size(): number {
    return this.a.length;
  }
  private less(i: number, j: number): boolean {
    const x = this.a[i]!,
      y = this.a[j]!;
    return x.t < y.t || (x.t === y.t && x.seq < y.seq);
  }
  push(e: Event): void {
    const a = this.a;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): Event | undefined {
    const a = this.a;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1,
          r = l + 1;
        let m = i;
        if (l < a.length && this.less(l, m)) m = l;
        if (r < a.length && this.less(r, m)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

/**
 * silent: sends nothing. equivocate: follows the protocol but every vote/proposal it makes has a
 * conflicting twin (half the peers get each, one honest peer both). chaos: votes (prevote AND
 * precommit) for every proposal it sees at every round, choosing per peer at random between the
 * value and nil, and proposes two different valid blocks when it is proposer.
 */
export type ByzantineMode = 'silent' | 'equivocate' | 'chaos' | 'none';

export interface SimOptions {
  seed: number;
  validators: Validator[];
  /** Index of the Byzantine validator (ignored when mode 'none'). */
  byzantine: number;
  mode: ByzantineMode;
  heights: number;
  gstMs: number;
  /** Before GST: drop probability and max delay. After GST: max delay. */
  dropBeforeGst: number;
  maxDelayBeforeGstMs: number;
  maxDelayAfterGstMs: number;
  gossipEveryMs: number;
  /** Extra delay before a sync answer is applied (fetching + executing a block is not instant). */
  syncDelayMs: number;
  /** Simulated time limit after GST. */
  limitAfterGstMs: number;
  /** Consensus timeouts of every node (the machine's defaults when absent). */
  timeouts?: Partial<ConsensusTimeouts>;
}

export interface NodeReport {
  id: string;
  honest: boolean;
  commits: Map<number, string>;
  /** Height -> time of commit (sim ms). */
  commitTimes: Map<number, number>;
  doubleSigns: string[];
  evidence: { a: Vote; b: Vote }[];
}

export interface SimResult {
  nodes: NodeReport[];
  endTime: number;
  events: number;
  violations: string[];
  /** Final consensus state of every node (for debugging failures). */
  states: ConsensusState[];
}

/** Current round, the previous one, the current proposal's POL round, the lock and valid rounds. */
function relayable(st: ConsensusState): Msg[] {
  if (st.step === 'idle') return [];
  const rounds = new Set([
    st.round,
    st.round - 1,
    st.proposals[st.round]?.polRound ?? -1,
    st.lockedRound,
    st.validRound,
  ]);
  const out: Msg[] = [];
  for (const r of rounds) {
    if (r < 0) continue;
    const p = st.proposals[r];
    if (p)
      out.push({
        kind: 'proposal',
        height: st.height,
        round: r,
        blockHash: p.blockHash,
        polRound: p.polRound,
        proposer: p.proposer,
      });
    const rv = st.votes[r];
    if (!rv) continue;
    for (const list of [...Object.values(rv.prevote), ...Object.values(rv.precommit)])
      for (const vote of list) out.push({ kind: 'vote', vote });
  }
  return out;
}

const isValidBlock = (hash: string): boolean => !hash.startsWith('bad');

class SimNode {
  state: ConsensusState;
  report: NodeReport;
  /** Own messages at the current height, re-gossiped periodically. */
  mine: Msg[] = [];
  /** Chaos mode: targeted messages of the current height, re-sent to the same peer by gossip. */
  targeted: { to: number; msg: Msg }[] = [];
  chaosSeen = new Set<string>();
  signedKeys = new Set<string>();
  futureProposals: ProposalMsg[] = [];
  certs = new Map<number, { round: number; blockHash: string; precommits: Vote[] }>();
  lastSyncReq = new Map<number, number>();
  constructor(
    readonly index: number,
    readonly id: string,
    readonly honest: boolean,
    timeouts?: Partial<ConsensusTimeouts>,
  ) {
    this.state = initialState({ timeouts });
    this.report = { id, honest, commits: new Map(), commitTimes: new Map(), doubleSigns: [], evidence: [] };
  }
}

export function runSimulation(o: SimOptions): SimResult {
  const rng = new Rng(o.seed);
  const heap = new Heap();
  let seq = 0;
  let now = 0;
  const violations: string[] = [];
  const n = o.validators.length;
  const nodes = o.validators.map((v, i) => new SimNode(i, v.id, o.mode === 'none' || i !== o.byzantine, o.timeouts));
  const byz = o.mode === 'none' ? undefined : nodes[o.byzantine];
  const total = totalPower(o.validators);

  const at = (t: number, e: EventBody): void => heap.push({ ...e, t, seq: seq++ } as Event);
  const send = (from: number, to: number, msg: Msg): void => {
    if (from === to) return;
    let delay: number;
    if (now < o.gstMs) {
      if (rng.next() < o.dropBeforeGst) return;
      delay = rng.int(0, o.maxDelayBeforeGstMs);
    } else {
      delay = rng.int(1, o.maxDelayAfterGstMs);
    }
    at(now + delay, { type: 'deliver', to, from, msg });
  };
  const broadcast = (from: number, msg: Msg): void => {
    for (let to = 0; to < n; to++) send(from, to, msg);
  };

  /** Byzantine equivocation: half the peers get one version, the rest another, peer `first` both. */
  const equivocate = (node: SimNode, a: Msg, b: Msg): void => {
    const first = nodes.find((x) => x.honest)!.index;
    for (let to = 0; to < n; to++) {
      if (to === node.index) continue;
      if (to === first) {
        send(node.index, to, a);
        send(node.index, to, b);
      } else {
        send(node.index, to, to % 2 === 0 ? a : b);
      }
    }
  };

  const conflicting = (m: Msg): Msg => {
    if (m.kind === 'vote') {
      const v = m.vote;
      return { kind: 'vote', vote: { ...v, blockHash: v.blockHash === null ? `evil.${v.height}.${v.round}` : null } };
    }
    if (m.kind === 'proposal') {
      return { ...m, blockHash: rng.next() < 0.5 ? `${m.blockHash}.alt` : `bad.${m.blockHash}` };
    }
    return m;
  };

  const sendTargeted = (node: SimNode, to: number, msg: Msg): void => {
    node.targeted.push({ to, msg });
    send(node.index, to, msg);
  };

  /** Chaos: for each proposed value seen, vote it to a random subset of peers and nil to the rest. */
  const chaosOnProposal = (node: SimNode, p: ProposalMsg): void => {
    const key = `${p.height}/${p.round}/${p.blockHash}`;
    if (node.chaosSeen.has(key) || p.height < node.state.height) return;
    node.chaosSeen.add(key);
    for (const type of ['prevote', 'precommit'] as const) {
      for (let to = 0; to < n; to++) {
        if (to === node.index) continue;
        const blockHash = rng.next() < 0.6 ? p.blockHash : null;
        sendTargeted(node, to, {
          kind: 'vote',
          vote: { type, height: p.height, round: p.round, blockHash, validator: node.id },
        });
      }
    }
  };

  const emit = (node: SimNode, m: Msg): void => {
    if (o.mode === 'chaos' && !node.honest) {
      if (m.kind === 'proposal') {
        const twin = { ...m, blockHash: `${m.blockHash}.alt` };
        for (let to = 0; to < n; to++) if (to !== node.index) sendTargeted(node, to, rng.next() < 0.5 ? m : twin);
        chaosOnProposal(node, m);
        chaosOnProposal(node, twin);
      }
      return; // its own protocol votes are replaced by the chaos votes
    }
    node.mine.push(m);
    if (node.honest) broadcast(node.index, m);
    else equivocate(node, m, conflicting(m));
  };

  const feed = (node: SimNode, input: ConsensusInput): void => {
    const r = step(node.state, input);
    node.state = r.state;
    for (const e of r.effects) handleEffect(node, e);
  };

  const startHeight = (node: SimNode, height: number, lastCommitRound?: number): void => {
    node.mine = [];
    node.targeted = [];
    feed(node, { kind: 'start', height, validators: o.validators, self: node.id, lastCommitRound });
    const pending = node.futureProposals.filter((p) => p.height === height);
    node.futureProposals = node.futureProposals.filter((p) => p.height > height);
    for (const p of pending) feed(node, { ...p, kind: 'proposal', valid: isValidBlock(p.blockHash) });
  };

  const recordCommit = (node: SimNode, height: number, round: number, blockHash: string, precommits: Vote[]): void => {
    node.report.commits.set(height, blockHash);
    node.report.commitTimes.set(height, now);
    node.certs.set(height, { round, blockHash, precommits });
  };

  const certificateOk = (height: number, round: number, blockHash: string, precommits: Vote[]): boolean => {
    const seen = new Set<string>();
    let power = 0;
    for (const v of precommits) {
      const val = o.validators.find((x) => x.id === v.validator);
      if (
        !val ||
        seen.has(v.validator) ||
        v.type !== 'precommit' ||
        v.height !== height ||
        v.round !== round ||
        v.blockHash !== blockHash
      )
        return false;
      seen.add(v.validator);
      power += val.power;
    }
    return hasQuorum(power, total);
  };

  function handleEffect(node: SimNode, e: ConsensusEffect): void {
    switch (e.kind) {
      case 'buildProposal':
        at(now + rng.int(1, 5), {
          type: 'input',
          node: node.index,
          input: {
            kind: 'proposalReady',
            height: e.height,
            round: e.round,
            blockHash: `b${e.height}.${e.round}.${node.id}`,
          },
        });
        break;
      case 'broadcastProposal':
        emit(node, {
          kind: 'proposal',
          height: e.height,
          round: e.round,
          blockHash: e.blockHash,
          polRound: e.polRound,
          proposer: node.id,
        });
        break;
      case 'signVote': {
        const key = `${e.vote.height}/${e.vote.round}/${e.vote.type}`;
        if (node.signedKeys.has(key)) node.report.doubleSigns.push(key);
        node.signedKeys.add(key);
        emit(node, { kind: 'vote', vote: e.vote });
        break;
      }
      case 'scheduleTimeout':
        at(now + e.durationMs, {
          type: 'input',
          node: node.index,
          input: { kind: 'timeout', height: e.height, round: e.round, step: e.step },
        });
        break;
      case 'commit':
        if (!certificateOk(e.height, e.round, e.blockHash, e.precommits))
          violations.push(`${node.id}: bad commit certificate at ${e.height}`);
        recordCommit(node, e.height, e.round, e.blockHash, e.precommits);
        // The node persists the block, then starts the next height (after the remaining effects).
        at(now, {
          type: 'input',
          node: node.index,
          input: {
            kind: 'start',
            height: e.height + 1,
            validators: o.validators,
            self: node.id,
            lastCommitRound: e.round,
          },
        });
        break;
      case 'evidence':
        node.report.evidence.push({ a: e.a, b: e.b });
        break;
    }
  }

  const maybeSync = (node: SimNode, from: number, msgHeight: number): void => {
    const h = node.state.height;
    if (msgHeight <= h || node.report.commits.has(h)) return;
    const last = node.lastSyncReq.get(from) ?? -Infinity;
    if (now - last < 200) return;
    node.lastSyncReq.set(from, now);
    send(node.index, from, { kind: 'syncReq', height: h });
  };

  const deliver = (node: SimNode, from: number, msg: Msg): void => {
    if (o.mode === 'chaos' && !node.honest && msg.kind === 'proposal') chaosOnProposal(node, msg);
    switch (msg.kind) {
      case 'proposal':
        if (msg.height > node.state.height) {
          if (node.futureProposals.length < 64) node.futureProposals.push(msg);
          maybeSync(node, from, msg.height);
        } else if (msg.height === node.state.height) {
          feed(node, { ...msg, kind: 'proposal', valid: isValidBlock(msg.blockHash) });
        }
        break;
      case 'vote':
        if (msg.vote.height > node.state.height) maybeSync(node, from, msg.vote.height);
        feed(node, { kind: 'vote', vote: msg.vote });
        break;
      case 'syncReq': {
        const c = node.certs.get(msg.height);
        if (c)
          at(now + o.syncDelayMs, {
            type: 'deliver',
            to: from,
            from: node.index,
            msg: { kind: 'syncResp', height: msg.height, ...c },
          });
        break;
      }
      case 'syncResp':
        if (msg.height !== node.state.height || node.report.commits.has(msg.height)) break;
        if (!certificateOk(msg.height, msg.round, msg.blockHash, msg.precommits)) break;
        recordCommit(node, msg.height, msg.round, msg.blockHash, msg.precommits);
        startHeight(node, msg.height + 1, msg.round);
        break;
    }
  };

  for (const node of nodes) {
    if (!node.honest && o.mode === 'silent') continue;
    startHeight(node, 1);
    at(rng.int(0, o.gossipEveryMs), { type: 'gossip', node: node.index });
  }

  const done = (): boolean => nodes.every((x) => !x.honest || x.report.commits.has(o.heights));
  const deadline = o.gstMs + o.limitAfterGstMs;
  let events = 0;
  while (heap.size > 0 && !done()) {
    const e = heap.pop()!;
    if (e.t > deadline) break;
    now = e.t;
    events++;
    const node = nodes[e.type === 'deliver' ? e.to : e.node]!;
    if (!node.honest && o.mode === 'silent') continue;
    if (e.type === 'deliver') deliver(node, e.from, e.msg);
    else if (e.type === 'input') {
      if (e.input.kind === 'start') startHeight(node, e.input.height, e.input.lastCommitRound);
      else feed(node, e.input);
    } else {
      // Gossip (as CometBFT's gossip routines do): honest nodes relay the proposals and ALL votes
      // they hold for the rounds that matter; the Byzantine one re-sends its own twins.
      if (node.honest) for (const m of relayable(node.state)) broadcast(node.index, m);
      else if (o.mode === 'chaos') for (const t of node.targeted) send(node.index, t.to, t.msg);
      else for (const m of node.mine) equivocate(node, m, conflicting(m));
      at(now + o.gossipEveryMs, { type: 'gossip', node: node.index });
    }
  }
  void byz;
  return { nodes: nodes.map((x) => x.report), endTime: now, events, violations, states: nodes.map((x) => x.state) };
}
