import {
  LightCodes,
  blockHash,
  bytesEqual,
  decodeCommit,
  decodeHeader,
  fromHex,
  genesisHash,
  isConsortiaError,
  sortValidators,
  stateProofFromJSON,
  type stateProofToJSON,
  toHex,
  verifyNextHeader,
  verifySealedGenesis,
  type BlockHeader,
  type CommitCertificate,
  type Genesis,
  type LightTrust,
  type SealedGenesis,
  type ValidatorInfo,
  type ValsetEpoch,
} from '../chain/index.js';
import { ConsortiaError } from '../lib/errors.js';
import { SdkCodes } from './errors.js';
import { type NodePool, ProofRejected, nodeError } from './nodes.js';

/** Headers asked for per page (the node serves at most 500). */
export const HEADERS_PER_REQUEST = 500;
/** Verified headers kept in memory for reads at recent heights. */
export const HEADERS_CACHED_MAX = 4096;
/** A read older than the cache re-verifies the hash chain back from the trusted head: at most this many headers. */
export const BACKWARD_HEADERS_MAX = 20_000;

/** A validator-set change as the node serves it (GET /v1/epochs/:height) and as proof bundles carry it. */
export interface EpochJSON {
  header: string;
  commit: string;
  validators: { publicKey: string; power: number; memberId: string }[];
  proof: ReturnType<typeof stateProofToJSON>;
}

/** Serializable trust (the CLI keeps it between runs so it need not re-verify from genesis). */
export interface TrustState {
  chainId: string;
  genesisHash: string;
  height: number;
  hash: string;
  stateRoot: string | null;
  validators: { publicKey: string; power: number; memberId: string }[];
  epochs: EpochJSON[];
}

/** Malformed epoch JSON throws ProofRejected. */
export function epochFromJSON(j: EpochJSON): ValsetEpoch {
  try {
    const header = decodeHeader(fromHex(j.header));
    const commit = decodeCommit(fromHex(j.commit));
    if (!Array.isArray(j.validators) || j.validators.length === 0 || j.validators.length > 1000)
      throw new Error('bad epoch validators');
    const validators = j.validators.map((v) => {
      if (!Number.isSafeInteger(v.power) || v.power < 1 || typeof v.memberId !== 'string')
        throw new Error('bad epoch validator');
      return { publicKey: fromHex(v.publicKey, 32), power: v.power, memberId: v.memberId };
    });
    return { header, commit, change: { validators, proof: stateProofFromJSON(j.proof) } };
  } catch (e) {
    throw new ProofRejected(`malformed epoch record: ${(e as Error).message}`);
  }
}

const valsToJSON = (vs: ValidatorInfo[]) =>
  vs.map((v) => ({ publicKey: toHex(v.publicKey), power: v.power, memberId: v.memberId }));

/**
 * Verifies a sealed genesis (every member approved it, every validator proved its key) and, when
 * `pinnedHash` is given, that it is that very genesis. The trust root of everything else.
 */
export function trustedGenesis(sealed: SealedGenesis, pinnedHash?: string): Genesis {
  try {
    verifySealedGenesis(sealed);
  } catch (e) {
    throw new ConsortiaError(SdkCodes.GENESIS_UNTRUSTED, `sealed genesis does not verify: ${(e as Error).message}`);
  }
  const h = toHex(genesisHash(sealed.genesis));
  if (pinnedHash !== undefined && pinnedHash.toLowerCase() !== h) {
    throw new ConsortiaError(
      SdkCodes.GENESIS_UNTRUSTED,
      `sealed genesis has hash ${h}, not the pinned ${pinnedHash.toLowerCase()}`,
    );
  }
  return sealed.genesis;
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

export interface CertifiedHeader {
  header: BlockHeader;
  hash: Uint8Array;
  commit: CommitCertificate;
}

/**
 * The header chain this client trusts: starts at the sealed genesis and moves forward only by
 * headers carrying a commit of > 2/3 of the validator set it trusts, following validator-set
 * changes proven under the previous trusted state root (src/chain/light/header-chain.ts). Every
 * read is checked against a header from here, never against what a node says its root is.
 */
export class TrustedChain {
  private trust: LightTrust;
  private readonly epochs: EpochJSON[];
  private readonly cache = new Map<number, CertifiedHeader>();
  readonly genesisHashHex: string;

  constructor(
    readonly genesis: Genesis,
    saved?: TrustState,
  ) {
    this.genesisHashHex = toHex(genesisHash(genesis));
    this.trust = genesisTrust(genesis);
    this.epochs = [];
    if (saved && saved.chainId === genesis.chainId && saved.genesisHash === this.genesisHashHex && saved.height > 0) {
      this.trust = {
        chainId: saved.chainId,
        height: saved.height,
        hash: fromHex(saved.hash, 32),
        stateRoot: saved.stateRoot ? fromHex(saved.stateRoot, 32) : null,
        validators: saved.validators.map((v) => ({
          publicKey: fromHex(v.publicKey, 32),
          power: v.power,
          memberId: v.memberId,
        })),
      };
      this.epochs.push(...saved.epochs);
    }
  }

  get height(): number {
    return this.trust.height;
  }
  get validators(): ValidatorInfo[] {
    return this.trust.validators;
  }
  /** Validator-set changes seen so far, in height order (proof bundles carry them). */
  epochList(): EpochJSON[] {
    return [...this.epochs];
  }

  toJSON(): TrustState {
    const t = this.trust;
    return {
      chainId: t.chainId,
      genesisHash: this.genesisHashHex,
      height: t.height,
      hash: toHex(t.hash),
      stateRoot: t.stateRoot ? toHex(t.stateRoot) : null,
      validators: valsToJSON(t.validators),
      epochs: this.epochList(),
    };
  }

  private remember(c: CertifiedHeader): void {
    this.cache.set(c.header.height, c);
    if (this.cache.size > HEADERS_CACHED_MAX) this.cache.delete(this.cache.keys().next().value!);
  }

  /** Verifies headers forward until `target` is trusted. Each page comes from any node; a bad one benches it. */
  async syncTo(pool: NodePool, target: number): Promise<void> {
    while (this.trust.height < target) {
      const from = this.trust.height + 1;
      const count = Math.min(HEADERS_PER_REQUEST, target - this.trust.height);
      await pool.any(`headers from ${from}`, async (base) => {
        const r = await pool.request<{ headers?: { height: number; header: string; commit: string }[] }>(
          base,
          `/v1/headers?from=${from}&count=${count}`,
        );
        if (r.status !== 200) throw nodeError(r, `headers from ${from}`);
        const list = r.body?.headers;
        if (!Array.isArray(list)) throw new ProofRejected(`node ${base} answered no header list`);
        // a node behind the others has none yet: not a lie, ask the next one
        if (list.length === 0)
          throw new ConsortiaError(SdkCodes.NODES_UNREACHABLE, `node ${base} has no headers from ${from} yet`);
        for (const h of list) await this.verifyNext(pool, base, h.header, h.commit);
      });
    }
  }

  private async verifyNext(pool: NodePool, base: string, headerHex: string, commitHex: string): Promise<void> {
    let header: BlockHeader;
    let commit: CommitCertificate;
    try {
      header = decodeHeader(fromHex(headerHex));
      commit = decodeCommit(fromHex(commitHex));
    } catch (e) {
      throw new ProofRejected(`malformed header from ${base}: ${(e as Error).message}`);
    }
    try {
      try {
        this.trust = verifyNextHeader(this.trust, header, commit);
      } catch (e) {
        if (!isConsortiaError(e) || e.code !== LightCodes.HEADER_VALSET_MISMATCH) throw e;
        // the set changed in the block we trust last: fetch that change with its proof
        const r = await pool.request<EpochJSON>(base, `/v1/epochs/${this.trust.height}`);
        if (r.status !== 200 || r.body === null)
          throw new ProofRejected(`header ${header.height} names a new validator set but ${base} has no epoch record`);
        const epoch = epochFromJSON(r.body);
        if (!bytesEqual(blockHash(epoch.header), this.trust.hash))
          throw new ProofRejected(`epoch record of ${base} is not the trusted header ${this.trust.height}`);
        this.trust = verifyNextHeader(this.trust, header, commit, epoch.change);
        this.epochs.push(r.body);
      }
    } catch (e) {
      if (e instanceof ProofRejected) throw e;
      throw new ProofRejected(`header ${header.height} from ${base} rejected: ${(e as Error).message}`, {
        cause: (e as ConsortiaError).code,
      });
    }
    this.remember({ header, hash: this.trust.hash, commit });
  }

  /**
   * A trusted header at `height`: verified forward when beyond the trusted head, from the cache,
   * or by the hash chain back from the trusted head (each header's hash is the next one's prevHash).
   */
  async headerAt(pool: NodePool, height: number): Promise<CertifiedHeader> {
    if (height < 1) throw new ConsortiaError(SdkCodes.NOT_FOUND, 'heights start at 1');
    if (height > this.trust.height) await this.syncTo(pool, height);
    const hit = this.cache.get(height);
    if (hit) return hit;
    if (this.trust.height - height > BACKWARD_HEADERS_MAX) {
      throw new ConsortiaError(
        SdkCodes.NOT_FOUND,
        `height ${height} is more than ${BACKWARD_HEADERS_MAX} blocks behind the trusted head ${this.trust.height}`,
      );
    }
    const top = this.trust.height;
    return pool.any(`headers ${height}..${top}`, async (base) => {
      const headers: BlockHeader[] = [];
      const commits: CommitCertificate[] = [];
      for (let from = height; from <= top; from += HEADERS_PER_REQUEST) {
        const count = Math.min(HEADERS_PER_REQUEST, top - from + 1);
        const r = await pool.request<{ headers?: { height: number; header: string; commit: string }[] }>(
          base,
          `/v1/headers?from=${from}&count=${count}`,
        );
        if (r.status !== 200) throw nodeError(r, `headers from ${from}`);
        for (const h of r.body?.headers ?? []) {
          try {
            headers.push(decodeHeader(fromHex(h.header)));
            commits.push(decodeCommit(fromHex(h.commit)));
          } catch (e) {
            throw new ProofRejected(`malformed header from ${base}: ${(e as Error).message}`);
          }
        }
      }
      if (headers.length !== top - height + 1)
        throw new ProofRejected(`${base} served ${headers.length} headers for ${height}..${top}`);
      let expect = this.trust.hash;
      for (let i = headers.length - 1; i >= 0; i--) {
        const h = headers[i]!;
        const hash = blockHash(h);
        if (h.height !== height + i || !bytesEqual(hash, expect))
          throw new ProofRejected(`header ${height + i} from ${base} does not chain to the trusted head`);
        expect = h.prevHash;
      }
      const out: CertifiedHeader = { header: headers[0]!, hash: blockHash(headers[0]!), commit: commits[0]! };
      this.remember(out);
      return out;
    });
  }
}
