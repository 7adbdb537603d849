import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair, sign, toHex } from '../chain/index.js';
import {
  generatePkcs11Key,
  openPkcs11Signer,
  pkcs11Pin,
  type AwsKmsKeyRef,
  type Pkcs11KeyRef,
  type Pkcs11Signer,
  type SyncSigner,
} from '../lib/custody/index.js';
import { ConsortiaError, CommonCodes } from '../lib/errors.js';
import { readNodeKey, writeNodeKey } from './keygen.js';
import { nodeKeyRef, proofOfPossessionSync, type NodeKey, type NodeKeyConfig, type NodeSigner } from './node-key.js';
import { writeDurably } from './store/index.js';

/**
 * The keys a validator signs consensus messages with: its node key (the key it started with, which
 * stays its p2p identity, src/node/p2p/tls-identity.ts) and the keys generated later for a
 * `rotate_validator_key` governance action (src/chain/state/transition.ts). A new key is generated
 * in the node key's backend: a 0600 key file under <dataDir>/consensus-keys/, or a key pair inside
 * the same PKCS#11 token (labelled `<keyLabel>.consensus.<n>`, not extractable); only its public key
 * and proof of possession leave the node. Every key is kept, so the node signs heights below the
 * switch with the old key and from it with the new one, and a restart at any point finds both. A
 * node whose key is in AWS KMS generates none: that needs kms:CreateKey, which a node's role should
 * not hold, so `prepare` refuses (KEY_ROTATION_UNSUPPORTED).
 *
 * Which key signs a height is not chosen here: it is the node's key that is in the validator set of
 * that height (`select`), which the chain fixes one block ahead; `activate` records the switch.
 */

export const CONSENSUS_KEYS_MANIFEST = 'consensus-keys.json';
export const CONSENSUS_KEYS_DIR = 'consensus-keys';
/** Keys generated for rotations a node keeps (its node key not counted); one rotation adds one. */
export const CONSENSUS_KEYS_MAX = 64;

export const ConsensusKeyCodes = {
  /** CONSENSUS_KEYS_MAX reached: the node refuses to generate another key. */
  CONSENSUS_KEYS_FULL: 'CONSENSUS_KEYS_FULL',
  /** The node key's backend cannot make a key from inside the node (aws-kms): rotate by provisioning a new node. */
  KEY_ROTATION_UNSUPPORTED: 'KEY_ROTATION_UNSUPPORTED',
} as const;

interface KeyRecord {
  publicKey: string;
  backend: 'file' | 'pkcs11';
  /** file backend: the key file's name under CONSENSUS_KEYS_DIR */
  file?: string;
  /** pkcs11 backend: the key pair's label in the node key's token */
  keyLabel?: string;
  createdAt: string;
  /** First height this node signed with it (recorded at the switch; absent while pending). */
  activeFromHeight?: number;
}
interface Manifest {
  version: 1;
  keys: KeyRecord[];
}

export interface ConsensusKeyInfo {
  publicKey: string;
  backend: 'file' | 'pkcs11' | 'aws-kms';
  /** The key the node was started with (its p2p identity). */
  nodeKey: boolean;
  /** The key the node signs consensus messages with now. */
  active: boolean;
  /** Generated, not yet in the validator set: the key a pending rotation proposal names. */
  pending: boolean;
  activeFromHeight?: number;
  createdAt?: string;
}

export interface PreparedConsensusKey {
  publicKey: Uint8Array;
  proofOfPossession: Uint8Array;
  /** false: the pending key generated earlier was returned again (the request is idempotent). */
  created: boolean;
}

export class ConsensusKeys {
  private readonly signers = new Map<string, NodeSigner & { close?: () => void }>();
  private manifest: Manifest;
  private activeHex: string;

  private constructor(
    private readonly dataDir: string,
    private readonly nodeKey: NodeKey,
    private readonly ref: Pkcs11KeyRef | AwsKmsKeyRef | undefined,
    private readonly env: NodeJS.ProcessEnv,
  ) {
    this.manifest = readManifest(join(dataDir, CONSENSUS_KEYS_MANIFEST));
    this.signers.set(toHex(nodeKey.publicKey), nodeKey);
    for (const r of this.manifest.keys) this.signers.set(r.publicKey, this.openRecord(r));
    const activated = this.manifest.keys.filter((r) => r.activeFromHeight !== undefined);
    this.activeHex = activated.length > 0 ? activated[activated.length - 1]!.publicKey : toHex(nodeKey.publicKey);
  }

  /** Opens every key recorded under `dataDir` next to `nodeKey` (same backend). */
  static open(
    dataDir: string,
    nodeKey: NodeKey,
    keyConfig: NodeKeyConfig | undefined,
    env: NodeJS.ProcessEnv,
  ): ConsensusKeys {
    return new ConsensusKeys(dataDir, nodeKey, nodeKeyRef(keyConfig), env);
  }

  private openRecord(r: KeyRecord): SyncSigner & { close?: () => void } {
    if (r.backend === 'pkcs11') {
      if (this.ref?.backend !== 'pkcs11' || r.keyLabel === undefined)
        throw new ConsortiaError(
          CommonCodes.INVALID_CONFIG,
          `consensus key ${r.publicKey.slice(0, 16)} is in a PKCS#11 token but the node key backend is not pkcs11`,
        );
      const s = openPkcs11Signer({ ...this.ref, keyLabel: r.keyLabel }, pkcs11Pin(this.ref, this.env));
      return checked(s, r.publicKey);
    }
    const kp = readNodeKey(join(this.dataDir, CONSENSUS_KEYS_DIR, r.file ?? ''));
    if (kp === undefined)
      throw new ConsortiaError(CommonCodes.INVALID_CONFIG, `consensus key file ${r.file ?? '?'} is missing`);
    const sk = kp.secretKey;
    const signSync = (m: Uint8Array): Uint8Array => sign(sk, m);
    return checked({ publicKey: kp.publicKey, signSync, sign: async (m) => signSync(m) }, r.publicKey);
  }

  /** The public key (hex) the node signs with now. */
  get activeKey(): string {
    return this.activeHex;
  }

  /** Public keys (hex) of every key the node holds, node key first, then in the order generated. */
  publicKeys(): string[] {
    return [...this.signers.keys()];
  }

  signer(publicKeyHex: string): NodeSigner {
    const s = this.signers.get(publicKeyHex);
    if (s === undefined) throw new Error(`no consensus key ${publicKeyHex.slice(0, 16)}`);
    return s;
  }

  /** The signer of whatever height `validators` sign: the newest of this node's keys in that set; else the active one. */
  select(validators: readonly { publicKey: Uint8Array }[]): NodeSigner {
    const inSet = new Set(validators.map((v) => toHex(v.publicKey)));
    const ours = this.publicKeys().filter((k) => inSet.has(k));
    return this.signer(ours.length > 0 ? ours[ours.length - 1]! : this.activeHex);
  }

  /** Records (durably) that the node signs with `publicKeyHex` from `height` on. */
  activate(publicKeyHex: string, height: number): void {
    this.signer(publicKeyHex); // known
    this.activeHex = publicKeyHex;
    const r = this.manifest.keys.find((k) => k.publicKey === publicKeyHex);
    if (r === undefined || r.activeFromHeight !== undefined) return; // the node key, or recorded already
    r.activeFromHeight = height;
    this.save();
  }

  /**
   * A new key in the node key's backend with its proof of possession for `chainId`. A key generated
   * earlier and never activated is returned again, so a retried request does not pile up keys.
   */
  prepare(chainId: string): PreparedConsensusKey {
    if (this.ref?.backend === 'aws-kms')
      throw new ConsortiaError(
        ConsensusKeyCodes.KEY_ROTATION_UNSUPPORTED,
        'this node key is in AWS KMS: the node does not create KMS keys (that needs kms:CreateKey); ' +
          'rotate by creating a KMS key outside the node and provisioning a node with it',
        { backend: 'aws-kms' },
      );
    const pending = this.manifest.keys.find((r) => r.activeFromHeight === undefined);
    if (pending !== undefined) {
      const s = this.signer(pending.publicKey) as SyncSigner; // generated keys are file or pkcs11 keys
      return { publicKey: s.publicKey, proofOfPossession: proofOfPossessionSync(s, chainId), created: false };
    }
    if (this.manifest.keys.length >= CONSENSUS_KEYS_MAX)
      throw new ConsortiaError(
        ConsensusKeyCodes.CONSENSUS_KEYS_FULL,
        `this node already holds ${CONSENSUS_KEYS_MAX} rotated consensus keys`,
        { limit: CONSENSUS_KEYS_MAX, unit: 'keys' },
      );
    const n = this.manifest.keys.length + 1;
    const createdAt = new Date().toISOString();
    let rec: KeyRecord;
    let s: SyncSigner & { close?: () => void };
    if (this.ref?.backend === 'pkcs11') {
      const keyLabel = `${this.ref.keyLabel}.consensus.${n}`;
      s = generatePkcs11Key({ ...this.ref, keyLabel }, pkcs11Pin(this.ref, this.env)) as Pkcs11Signer;
      rec = { publicKey: toHex(s.publicKey), backend: 'pkcs11', keyLabel, createdAt };
    } else {
      const kp = generateKeyPair();
      const file = `key-${n}.json`;
      writeNodeKey(join(this.dataDir, CONSENSUS_KEYS_DIR, file), kp); // 0600, never overwrites
      const sk = kp.secretKey;
      const signSync = (m: Uint8Array): Uint8Array => sign(sk, m);
      s = { publicKey: kp.publicKey, signSync, sign: async (m) => signSync(m) };
      rec = { publicKey: toHex(kp.publicKey), backend: 'file', file, createdAt };
    }
    this.manifest.keys.push(rec);
    this.save(); // before the key is handed out: a restart still knows a key a proposal may name
    this.signers.set(rec.publicKey, s);
    return { publicKey: s.publicKey, proofOfPossession: proofOfPossessionSync(s, chainId), created: true };
  }

  /** What GET /v1/consensus-keys shows: public keys only. */
  list(validators: readonly { publicKey: Uint8Array }[]): ConsensusKeyInfo[] {
    const inSet = new Set(validators.map((v) => toHex(v.publicKey)));
    const nodeHex = toHex(this.nodeKey.publicKey);
    const out: ConsensusKeyInfo[] = [
      {
        publicKey: nodeHex,
        backend: this.nodeKey.backend,
        nodeKey: true,
        active: this.activeHex === nodeHex,
        pending: false,
      },
    ];
    for (const r of this.manifest.keys)
      out.push({
        publicKey: r.publicKey,
        backend: r.backend,
        nodeKey: false,
        active: this.activeHex === r.publicKey,
        pending: r.activeFromHeight === undefined && !inSet.has(r.publicKey),
        ...(r.activeFromHeight !== undefined ? { activeFromHeight: r.activeFromHeight } : {}),
        createdAt: r.createdAt,
      });
    return out;
  }

  /** Closes the generated keys' sessions; the node key is closed by its owner. */
  close(): void {
    const nodeHex = toHex(this.nodeKey.publicKey);
    for (const [k, s] of this.signers) if (k !== nodeHex) s.close?.();
  }

  private save(): void {
    mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
    writeDurably(join(this.dataDir, CONSENSUS_KEYS_MANIFEST), `${JSON.stringify(this.manifest, null, 2)}\n`);
  }
}

function readManifest(file: string): Manifest {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, keys: [] };
    throw new ConsortiaError(CommonCodes.INVALID_CONFIG, `cannot read ${file}: ${(err as Error).message}`);
  }
  const m = JSON.parse(text) as Partial<Manifest>;
  if (m.version !== 1 || !Array.isArray(m.keys))
    throw new ConsortiaError(CommonCodes.INVALID_CONFIG, `${file} is not a consensus key manifest`);
  return { version: 1, keys: m.keys };
}

/** A key whose public key is not the one recorded is refused: the node must never sign with a stranger. */
function checked<S extends SyncSigner>(s: S, expectedHex: string): S {
  if (toHex(s.publicKey) !== expectedHex)
    throw new ConsortiaError(
      CommonCodes.INVALID_CONFIG,
      `consensus key ${expectedHex.slice(0, 16)} does not match its stored key ${toHex(s.publicKey).slice(0, 16)}`,
    );
  return s;
}
