import { Counter, Gauge, type Registry } from 'prom-client';
import { decodeBlock, decodeCommit, toHex, type CommitCertificate, type ValidatorInfo } from '../chain/index.js';
import { proposerFor } from '../consensus/index.js';
import type { ChainStore } from './store/index.js';

/**
 * Per-validator signing liveness, as CometBFT's missed blocks / missing validators: computed from
 * the commit signatures that every committed block carries for the block before it (its
 * lastCommit), so every full node reports the same figures for the same heights, whether it votes
 * or follows. Series are labelled by the validator's key (hex) and its organization (member id),
 * one per validator of the current set: cardinality is the validator-set size, and a validator
 * that leaves the set loses its series.
 *
 * The label is `validator_organization`, not `organization`: node series carry the node's own
 * organization as a target label (ServiceMonitor relabeling), which a metric label of the same
 * name would clash with.
 */
export const VALIDATOR_METRIC_NAMES = [
  'consortia_validator_last_signed_height',
  'consortia_validator_missed_precommits_total',
  'consortia_validator_missed_proposals_total',
  'consortia_validator_voting_power',
  'consortia_validator_set_size',
  'consortia_validator_set_power',
  'consortia_validator_set_signing',
  'consortia_validator_set_signing_power',
] as const;

/** A validator counts as signing while its precommit is in one of the last RECENT_BLOCKS commits. */
export const RECENT_BLOCKS = 10;
/** At start, this many of the latest stored commits seed the last signed heights. */
export const SEED_BLOCKS = 100;
/** Rounds of one height whose proposers are counted as missed (a longer stall is counted up to here). */
const MAX_COUNTED_ROUNDS = 1000;

type VLabels = 'validator' | 'validator_organization';
export interface ValidatorMetrics {
  lastSignedHeight: Gauge<VLabels>;
  missedPrecommits: Counter<VLabels>;
  missedProposals: Counter<VLabels>;
  votingPower: Gauge<VLabels>;
  setSize: Gauge;
  setPower: Gauge;
  setSigning: Gauge;
  setSigningPower: Gauge;
}

export function createValidatorMetrics(registry: Registry): ValidatorMetrics {
  const registers = [registry];
  const labelNames = ['validator', 'validator_organization'] as const;
  return {
    lastSignedHeight: new Gauge({
      name: 'consortia_validator_last_signed_height',
      help: `Highest height whose commit carries this validator's precommit (at start: from the last ${SEED_BLOCKS} stored commits; a validator in none of them gets the height below them)`,
      labelNames,
      registers,
    }),
    missedPrecommits: new Counter({
      name: 'consortia_validator_missed_precommits_total',
      help: "Committed blocks whose commit (recorded in the next block) lacks this validator's precommit",
      labelNames,
      registers,
    }),
    missedProposals: new Counter({
      name: 'consortia_validator_missed_proposals_total',
      help: 'Rounds in which this validator was the proposer and its block was not the one committed',
      labelNames,
      registers,
    }),
    votingPower: new Gauge({
      name: 'consortia_validator_voting_power',
      help: 'Voting power of each validator of the current set',
      labelNames,
      registers,
    }),
    setSize: new Gauge({ name: 'consortia_validator_set_size', help: 'Validators in the current set', registers }),
    setPower: new Gauge({
      name: 'consortia_validator_set_power',
      help: 'Total voting power of the current validator set',
      registers,
    }),
    setSigning: new Gauge({
      name: 'consortia_validator_set_signing',
      help: `Validators of the current set whose precommit is in at least one of the last ${RECENT_BLOCKS} commits`,
      registers,
    }),
    setSigningPower: new Gauge({
      name: 'consortia_validator_set_signing_power',
      help: `Voting power of the validators whose precommit is in at least one of the last ${RECENT_BLOCKS} commits`,
      registers,
    }),
  };
}

/** A validator as the tracker sees it: hex public key, organization (member id), voting power. */
export interface LivenessValidator {
  key: string;
  organization: string;
  power: number;
}
/** The signatures of one commit: its height, round and the hex keys that signed it. */
export interface CommitSigners {
  height: number;
  round: number;
  signers: readonly string[];
}

interface Known {
  height: number;
  proposer: string;
  validators: readonly LivenessValidator[];
}

/**
 * Feeds ValidatorMetrics from committed blocks, in height order. Pure bookkeeping: the caller
 * (ChainNode) reads blocks and validator sets; nothing here does I/O or keeps time.
 */
export class ValidatorLiveness {
  private readonly lastSigned = new Map<string, number>();
  private current: readonly LivenessValidator[] = [];
  /** Height, proposer and validator set of the latest committed block seen. */
  private prev: Known | null = null;

  constructor(private readonly m: ValidatorMetrics) {}

  /**
   * Start state: the head block (its proposer and the set that signed it), the set of the next
   * height, and the latest stored commits (newest first, down to the lowest one scanned).
   */
  seed(head: Known, next: readonly LivenessValidator[], recent: readonly CommitSigners[]): void {
    this.prev = head;
    for (const c of recent)
      for (const k of c.signers) if ((this.lastSigned.get(k) ?? -1) < c.height) this.lastSigned.set(k, c.height);
    const below = recent.length > 0 ? Math.min(...recent.map((c) => c.height)) - 1 : head.height;
    for (const v of next) if (!this.lastSigned.has(v.key)) this.lastSigned.set(v.key, Math.max(0, below));
    this.setCurrent(next, head.height);
  }

  /**
   * One committed block: `height` and `proposer` from its header, `lastCommit` the signatures it
   * carries for the block before it, `next` the validator set of the following height.
   */
  onBlock(
    height: number,
    proposer: string,
    lastCommit: CommitSigners | null,
    signedBy: readonly LivenessValidator[],
    next: readonly LivenessValidator[],
  ): void {
    const prev = this.prev;
    const nextKeys = new Set(next.map((v) => v.key));
    if (lastCommit) {
      // The set that signed lastCommit is the one that ran its height (kept from the block before).
      const set = prev && prev.height === lastCommit.height ? prev.validators : signedBy;
      const signed = new Set(lastCommit.signers);
      for (const v of set) {
        if (!nextKeys.has(v.key)) continue; // left the set: its series are gone
        if (signed.has(v.key)) {
          if ((this.lastSigned.get(v.key) ?? -1) < lastCommit.height) this.lastSigned.set(v.key, lastCommit.height);
        } else {
          this.m.missedPrecommits.inc(labelsOf(v));
        }
      }
      if (prev && prev.height === lastCommit.height) this.countMissedProposals(prev, lastCommit.round, nextKeys);
    }
    this.prev = { height, proposer, validators: signedBy };
    this.setCurrent(next, lastCommit?.height ?? height);
  }

  /** Proposers of the rounds before the committed one, unless the committed block is theirs (re-proposed after a lock). */
  private countMissedProposals(block: Known, committedRound: number, nextKeys: Set<string>): void {
    if (committedRound <= 0 || block.validators.length === 0) return;
    const vs = block.validators.map((v) => ({ id: v.key, power: v.power }));
    const byKey = new Map(block.validators.map((v) => [v.key, v]));
    for (let r = 0; r < Math.min(committedRound, MAX_COUNTED_ROUNDS); r++) {
      const p = proposerFor(vs, block.height, r);
      const v = byKey.get(p);
      if (v && p !== block.proposer && nextKeys.has(p)) this.m.missedProposals.inc(labelsOf(v));
    }
  }

  private setCurrent(next: readonly LivenessValidator[], committedHeight: number): void {
    const keep = new Set(next.map((v) => v.key));
    for (const v of this.current) {
      if (keep.has(v.key)) continue;
      const l = labelsOf(v);
      this.m.votingPower.remove(l);
      this.m.lastSignedHeight.remove(l);
      this.m.missedPrecommits.remove(l);
      this.m.missedProposals.remove(l);
      this.lastSigned.delete(v.key);
    }
    this.current = next;
    let power = 0;
    let signing = 0;
    let signingPower = 0;
    for (const v of next) {
      const l = labelsOf(v);
      power += v.power;
      this.m.votingPower.set(l, v.power);
      this.m.missedPrecommits.inc(l, 0); // the series exists from the start: increase() sees the first miss
      this.m.missedProposals.inc(l, 0);
      const last = this.lastSigned.get(v.key);
      if (last === undefined) {
        this.lastSigned.set(v.key, committedHeight); // joined the set now: nothing to miss yet
        this.m.lastSignedHeight.set(l, committedHeight);
      } else {
        this.m.lastSignedHeight.set(l, last);
      }
      if ((this.lastSigned.get(v.key) ?? -1) > committedHeight - RECENT_BLOCKS) {
        signing++;
        signingPower += v.power;
      }
    }
    this.m.setSize.set(next.length);
    this.m.setPower.set(power);
    this.m.setSigning.set(signing);
    this.m.setSigningPower.set(signingPower);
  }
}

function labelsOf(v: LivenessValidator): Record<VLabels, string> {
  return { validator: v.key, validator_organization: v.organization };
}

/** The tracker's view of a chain validator set. */
export function livenessSet(vs: readonly ValidatorInfo[]): LivenessValidator[] {
  return vs.map((v) => ({ key: toHex(v.publicKey), organization: v.memberId, power: v.power }));
}

export function commitSigners(c: CommitCertificate): CommitSigners {
  return { height: c.height, round: c.round, signers: c.signatures.map((s) => toHex(s.validator)) };
}

/**
 * Seeds a tracker from the store at start: the head block's proposer, and the signers of the
 * latest SEED_BLOCKS stored commits (never below the lowest retained height). Commits only are
 * read besides the head block: they are small.
 */
export async function seedLiveness(
  tracker: ValidatorLiveness,
  store: ChainStore,
  tip: { height: number; lastValidators: ValidatorInfo[]; validators: ValidatorInfo[] },
): Promise<void> {
  const head = tip.height;
  const headBytes = head > 0 ? await store.getBlockBytes(head) : undefined;
  const proposer = headBytes ? toHex(decodeBlock(headBytes).header.proposer) : '';
  const recent: CommitSigners[] = [];
  for (let h = head; h >= Math.max(1, store.lowestHeight(), head - SEED_BLOCKS + 1); h--) {
    const c = await store.getCommitBytes(h);
    if (!c) break;
    recent.push(commitSigners(decodeCommit(c)));
  }
  tracker.seed(
    { height: head, proposer, validators: livenessSet(tip.lastValidators) },
    livenessSet(tip.validators),
    recent,
  );
}
