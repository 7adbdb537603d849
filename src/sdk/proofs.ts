import {
  StateKeys,
  bytesEqual,
  checkStateValue,
  checkTxInclusion,
  decodeAccount,
  decodeAmount,
  decodeAnchor,
  decodeAsset,
  decodeTx,
  fromHex,
  stateProofFromJSON,
  toHex,
  txHash,
  type BlockHeader,
  type Tx,
} from '../chain/index.js';
import { ProofRejected } from './nodes.js';

/**
 * Verifiers of node answers (pure): each takes a header the caller already trusts and the JSON a
 * node returned, and returns values decoded from the PROVEN bytes only (never from the answer's
 * convenience fields). Anything that does not check out throws ProofRejected.
 */

interface ProvenJSON {
  key: string;
  value: string | null;
  proof: unknown;
}

function proven(header: BlockHeader, p: ProvenJSON | undefined, key: string): Uint8Array | undefined {
  if (!p || typeof p !== 'object' || p.key !== key) throw new ProofRejected(`answer carries no proof for ${key}`);
  let value: Uint8Array | undefined;
  try {
    value = p.value === null ? undefined : fromHex(p.value);
    checkStateValue(header, key, value, stateProofFromJSON(p.proof));
  } catch (e) {
    throw new ProofRejected(`proof for ${key} rejected: ${(e as Error).message}`);
  }
  return value;
}

function checkRoot(header: BlockHeader, body: { height?: unknown; stateRoot?: unknown }): void {
  if (body.height !== header.height)
    throw new ProofRejected(`answer is for height ${String(body.height)}, not ${header.height}`);
  if (body.stateRoot !== toHex(header.stateRoot))
    throw new ProofRejected(`answer's state root at ${header.height} differs from the certified header`);
}

export interface VerifiedAccount {
  publicKey: string;
  height: number;
  nonce: number;
  balances: { asset: string; amount: bigint }[];
}

/**
 * GET /v1/accounts/:pk. The nonce and every listed balance are proven; a balance the node left
 * out cannot be detected from this answer (the node API has no per-asset balance proof yet).
 */
export function verifyAccountAnswer(header: BlockHeader, publicKeyHex: string, body: unknown): VerifiedAccount {
  const b = body as { height?: number; stateRoot?: string; proof?: ProvenJSON[] } | null;
  if (!b || !Array.isArray(b.proof)) throw new ProofRejected('malformed account answer');
  checkRoot(header, b);
  const pk = fromHex(publicKeyHex, 32);
  const acctKey = StateKeys.account(pk);
  const value = proven(
    header,
    b.proof.find((p) => p.key === acctKey),
    acctKey,
  );
  if (!value) throw new ProofRejected(`account ${publicKeyHex} is proven absent but the node answered it`);
  const prefix = StateKeys.balancePrefix(pk);
  const balances: VerifiedAccount['balances'] = [];
  for (const p of b.proof) {
    if (p.key === acctKey) continue;
    if (typeof p.key !== 'string' || !p.key.startsWith(prefix))
      throw new ProofRejected(`unexpected key ${String(p.key)} in account answer`);
    const v = proven(header, p, p.key);
    if (v) balances.push({ asset: p.key.slice(prefix.length), amount: decodeAmount(v) });
  }
  balances.sort((x, y) => (x.asset < y.asset ? -1 : x.asset > y.asset ? 1 : 0));
  return { publicKey: publicKeyHex.toLowerCase(), height: header.height, nonce: decodeAccount(value).nonce, balances };
}

/** A state answer of /v1/assets/:id or /v1/anchors/:hash: the proven raw value (undefined = proven absent). */
export function verifyStateAnswer(header: BlockHeader, key: string, body: unknown): Uint8Array | undefined {
  const b = body as { height?: number; stateRoot?: string; proof?: ProvenJSON } | null;
  if (!b || typeof b !== 'object') throw new ProofRejected('malformed state answer');
  checkRoot(header, b);
  return proven(header, b.proof, key);
}

export interface VerifiedAsset {
  id: string;
  height: number;
  /** Public key of the gateway that alone issues it and redeems by burning (all zeros: created by genesis balances). */
  issuer: string;
  supply: bigint;
  /** Issued and burned (redeemed) totals, for assets declared with create_asset (supply = issued - burned); null otherwise. */
  ledger: { issued: bigint; burned: bigint } | null;
}
export function verifyAssetAnswer(header: BlockHeader, id: string, body: unknown): VerifiedAsset {
  const v = verifyStateAnswer(header, StateKeys.asset(id), body);
  if (!v) throw new ProofRejected(`asset ${id} is proven absent but the node answered it`);
  const a = decodeAsset(v);
  return { id, height: header.height, issuer: toHex(a.issuer), supply: a.supply, ledger: a.ledger ?? null };
}

export interface VerifiedAnchor {
  hash: string;
  height: number;
  submitter: string;
  metadata: string;
  anchoredAt: number;
  txHash: string;
}
export function verifyAnchorAnswer(header: BlockHeader, hashHex: string, body: unknown): VerifiedAnchor {
  const v = verifyStateAnswer(header, StateKeys.anchor(fromHex(hashHex, 32)), body);
  if (!v) throw new ProofRejected(`anchor ${hashHex} is proven absent but the node answered it`);
  const a = decodeAnchor(v);
  return {
    hash: hashHex.toLowerCase(),
    height: header.height,
    submitter: toHex(a.submitter),
    metadata: a.metadata,
    anchoredAt: a.height,
    txHash: toHex(a.txHash),
  };
}

export interface VerifiedTx {
  hash: string;
  height: number;
  index: number;
  tx: Tx;
  encoded: Uint8Array;
  /** Execution result as the node reports it: block results are not in the header (see docs/sdk.md). */
  code: string;
}
/** GET /v1/txs/:hash: the bytes hash to `hashHex` and are included in the certified header's tx root. */
export function verifyTxAnswer(header: BlockHeader, hashHex: string, body: unknown): VerifiedTx {
  const b = body as {
    height?: number;
    index?: number;
    code?: string;
    tx?: string;
    proof?: { leafIndex?: number; treeSize?: number; path?: string[] };
  } | null;
  if (!b || typeof b.tx !== 'string' || !b.proof || !Array.isArray(b.proof.path))
    throw new ProofRejected('malformed tx answer');
  if (b.height !== header.height || b.index !== b.proof.leafIndex)
    throw new ProofRejected('tx answer names another position');
  let encoded: Uint8Array;
  let tx: Tx;
  try {
    encoded = fromHex(b.tx);
    if (!bytesEqual(txHash(encoded), fromHex(hashHex, 32)))
      throw new Error('tx bytes do not hash to the requested hash');
    checkTxInclusion(header, encoded, {
      index: b.proof.leafIndex!,
      total: b.proof.treeSize!,
      path: b.proof.path.map((p) => fromHex(p, 32)),
    });
    tx = decodeTx(encoded);
  } catch (e) {
    throw new ProofRejected(`tx ${hashHex} rejected: ${(e as Error).message}`);
  }
  return {
    hash: hashHex.toLowerCase(),
    height: header.height,
    index: b.index!,
    tx,
    encoded,
    code: typeof b.code === 'string' ? b.code : 'UNKNOWN',
  };
}
