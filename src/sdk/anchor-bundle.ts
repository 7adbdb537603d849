import {
  StateKeys,
  bytesEqual,
  checkStateValue,
  checkTxInclusion,
  decodeAnchor,
  decodeCommit,
  decodeHeader,
  decodeTx,
  encodeCommit,
  encodeHeader,
  fromHex,
  genesisHash,
  sealedGenesisFromJSON,
  stateProofFromJSON,
  toHex,
  txHash,
  verifyHeaderSkipping,
  type BlockHeader,
  type CommitCertificate,
  type SealedGenesis,
  type StateProofJSON,
} from '../chain/index.js';
import { ConsortiaError } from '../lib/errors.js';
import { SdkCodes } from './errors.js';
import { epochFromJSON, genesisTrust, trustedGenesis, type EpochJSON } from './trust.js';

export const ANCHOR_BUNDLE_KIND = 'consortia/anchor-proof/v1';

/**
 * Everything needed to check an anchor with no network: the sealed genesis (trust root), the
 * validator-set changes after it, the certified header of the block that included the anchor tx
 * (its time, its certifiers) with the tx and its inclusion proof (signer, metadata), and a later
 * certified header whose state proves the anchor record names that tx (it executed).
 */
export interface AnchorBundle {
  kind: typeof ANCHOR_BUNDLE_KIND;
  chainId: string;
  genesisHash: string;
  sealedGenesis: unknown;
  epochs: EpochJSON[];
  /** SHA-256 of the anchored content (the file). */
  hash: string;
  inclusion: {
    header: string;
    commit: string;
    tx: string;
    proof: { leafIndex: number; treeSize: number; path: string[] };
  };
  state: { header: string; commit: string; value: string; proof: StateProofJSON };
}

export interface AnchorVerdict {
  hash: string;
  chainId: string;
  genesisHash: string;
  /** Block that included the anchor tx. */
  height: number;
  /** That block's time (ms since epoch) and ISO form. */
  time: number;
  timeIso: string;
  txHash: string;
  metadata: string;
  /** Account (public key) that signed the anchor tx. */
  signer: string;
  /** The genesis member whose admin key signed, or null when the key is no genesis member's admin key. */
  signerOrganization: { memberId: string; name: string } | null;
  /** Validators whose precommits certified the including block. */
  certifiedBy: { publicKey: string; memberId: string; power: number }[];
}

function bad(message: string): never {
  throw new ConsortiaError(SdkCodes.BUNDLE_INVALID, message);
}

function certifiedBySkipping(
  b: AnchorBundle,
  g: ReturnType<typeof trustedGenesis>,
  header: BlockHeader,
  commit: CommitCertificate,
) {
  const epochs = b.epochs.map(epochFromJSON).filter((e) => e.header.height < header.height);
  try {
    return verifyHeaderSkipping(genesisTrust(g), epochs, header, commit);
  } catch (e) {
    return bad(
      `header ${header.height} is not certified by the validators the genesis trusts: ${(e as Error).message}`,
    );
  }
}

/**
 * Verifies a bundle offline. `pinnedGenesisHash` (recommended: the hash your organization approved
 * in the ceremony) makes the bundle's genesis the one you trust, not just a self-consistent one.
 * `contentHash`, when given (the SHA-256 of the file in hand), must be the anchored hash.
 */
export function verifyAnchorBundle(
  bundle: unknown,
  opts: { pinnedGenesisHash?: string; contentHash?: string } = {},
): AnchorVerdict {
  const b = bundle as AnchorBundle;
  if (!b || b.kind !== ANCHOR_BUNDLE_KIND || !Array.isArray(b.epochs) || !b.inclusion || !b.state)
    bad(`not a ${ANCHOR_BUNDLE_KIND} bundle`);
  if (opts.contentHash !== undefined && opts.contentHash.toLowerCase() !== String(b.hash).toLowerCase()) {
    bad(`the file's SHA-256 ${opts.contentHash.toLowerCase()} is not the anchored hash ${String(b.hash)}`);
  }
  let sealed: SealedGenesis;
  try {
    sealed = sealedGenesisFromJSON(b.sealedGenesis);
  } catch (e) {
    return bad(`bundle genesis is malformed: ${(e as Error).message}`);
  }
  const g = trustedGenesis(sealed, opts.pinnedGenesisHash);
  try {
    const incHeader = decodeHeader(fromHex(b.inclusion.header));
    const incCommit = decodeCommit(fromHex(b.inclusion.commit));
    const stHeader = decodeHeader(fromHex(b.state.header));
    const stCommit = decodeCommit(fromHex(b.state.commit));
    const inc = certifiedBySkipping(b, g, incHeader, incCommit);
    certifiedBySkipping(b, g, stHeader, stCommit);
    const txBytes = fromHex(b.inclusion.tx);
    const p = b.inclusion.proof;
    checkTxInclusion(incHeader, txBytes, {
      index: p.leafIndex,
      total: p.treeSize,
      path: p.path.map((x) => fromHex(x, 32)),
    });
    const tx = decodeTx(txBytes);
    if (tx.body.type !== 'anchor') bad('the included tx is not an anchor');
    if (toHex(tx.body.hash) !== String(b.hash).toLowerCase()) bad('the included tx anchors another hash');
    const value = fromHex(b.state.value);
    checkStateValue(stHeader, StateKeys.anchor(tx.body.hash), value, stateProofFromJSON(b.state.proof));
    const rec = decodeAnchor(value);
    const hash = txHash(txBytes);
    if (!bytesEqual(rec.txHash, hash) || rec.height !== incHeader.height)
      bad('the anchor record was not written by the included tx');
    if (stHeader.height < incHeader.height) bad('the state header is older than the including block');
    const member = g.members.find((m) => m.adminKeys.some((k) => bytesEqual(k, tx.signer)));
    const byKey = new Map(inc.validators.map((v) => [toHex(v.publicKey), v]));
    return {
      hash: toHex(tx.body.hash),
      chainId: g.chainId,
      genesisHash: toHex(genesisHash(g)),
      height: incHeader.height,
      time: incHeader.time,
      timeIso: new Date(incHeader.time).toISOString(),
      txHash: toHex(hash),
      metadata: tx.body.metadata,
      signer: toHex(tx.signer),
      signerOrganization: member ? { memberId: member.memberId, name: member.name } : null,
      certifiedBy: incCommit.signatures.map((s) => {
        const v = byKey.get(toHex(s.validator))!;
        return { publicKey: toHex(s.validator), memberId: v.memberId, power: v.power };
      }),
    };
  } catch (e) {
    if (e instanceof ConsortiaError && (e.code === SdkCodes.BUNDLE_INVALID || e.code === SdkCodes.GENESIS_UNTRUSTED))
      throw e;
    return bad(`bundle does not verify: ${(e as Error).message}`);
  }
}

/** Assembles a bundle from already-fetched parts (the client verifies it before handing it out). */
export function makeAnchorBundle(parts: {
  sealedGenesis: unknown;
  chainId: string;
  genesisHash: string;
  epochs: EpochJSON[];
  hash: string;
  incHeader: BlockHeader;
  incCommit: CommitCertificate;
  tx: Uint8Array;
  proof: { leafIndex: number; treeSize: number; path: string[] };
  stHeader: BlockHeader;
  stCommit: CommitCertificate;
  value: Uint8Array;
  stateProof: StateProofJSON;
}): AnchorBundle {
  const before = Math.max(parts.incHeader.height, parts.stHeader.height);
  return {
    kind: ANCHOR_BUNDLE_KIND,
    chainId: parts.chainId,
    genesisHash: parts.genesisHash,
    sealedGenesis: parts.sealedGenesis,
    epochs: parts.epochs.filter((e) => decodeHeader(fromHex(e.header)).height < before),
    hash: parts.hash.toLowerCase(),
    inclusion: {
      header: toHex(encodeHeader(parts.incHeader)),
      commit: toHex(encodeCommit(parts.incCommit)),
      tx: toHex(parts.tx),
      proof: parts.proof,
    },
    state: {
      header: toHex(encodeHeader(parts.stHeader)),
      commit: toHex(encodeCommit(parts.stCommit)),
      value: toHex(parts.value),
      proof: parts.stateProof,
    },
  };
}
