import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Pkcs11js from 'pkcs11js';
import { ConsortiaError } from '../errors.js';
import { CustodyCodes } from './errors.js';
import type { Pkcs11KeyRef } from './key-ref.js';
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES, type SyncSigner } from './signer.js';

// PKCS#11 v3.0 mechanism numbers; pkcs11js 2.1 does not export the Edwards ones.
const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055;
const CKM_EDDSA = 0x1057;
const CKK_EC_EDWARDS = 0x40;
// CKA_EC_PARAMS for Ed25519: the DER of OID 1.3.101.112 (id-Ed25519).
const EC_PARAMS_ED25519 = Buffer.from('06032b6570', 'hex');
/** Objects with one label a lookup reads; more than one is an ambiguous key reference. */
const FIND_OBJECTS_MAX = 2;

type Pkcs11Lib = typeof Pkcs11js;
let pkcs11lib: Pkcs11Lib | undefined;
/**
 * pkcs11js (a native addon) is loaded on first use, so processes that never touch a token (and
 * every importer of src/lib) neither pay for it nor fail where it is not built. It is CommonJS:
 * require gives its constants, which node's ESM loader cannot name.
 */
function lib(): Pkcs11Lib {
  pkcs11lib ??= createRequire(import.meta.url)('pkcs11js') as Pkcs11Lib;
  return pkcs11lib;
}

/** One loaded module per path per process: C_Initialize may be called only once per module. */
const modules = new Map<string, Pkcs11js.PKCS11>();

function fail(code: string, message: string, cause?: unknown): never {
  throw new ConsortiaError(code, message, undefined, cause === undefined ? undefined : { cause });
}

function loadModule(path: string): Pkcs11js.PKCS11 {
  let m = modules.get(path);
  if (m !== undefined) return m;
  m = new (lib().PKCS11)();
  try {
    m.load(path);
  } catch (err) {
    fail(CustodyCodes.BACKEND_UNAVAILABLE, `cannot load PKCS#11 module ${path}: ${(err as Error).message}`, err);
  }
  try {
    m.C_Initialize();
  } catch (err) {
    // Another user of the same library in this process initialised it already.
    if (!/CKR_CRYPTOKI_ALREADY_INITIALIZED/.test(String((err as Error).message))) {
      fail(
        CustodyCodes.BACKEND_UNAVAILABLE,
        `PKCS#11 module ${path} failed to initialise: ${(err as Error).message}`,
        err,
      );
    }
  }
  modules.set(path, m);
  return m;
}

/** The user PIN named by the reference: from the environment variable or the file (trimmed). */
export function pkcs11Pin(ref: Pkcs11KeyRef, env: NodeJS.ProcessEnv): string {
  if (ref.pinEnv !== undefined) {
    const v = env[ref.pinEnv];
    if (v === undefined || v === '')
      fail(CustodyCodes.KEY_REF_INVALID, `the PKCS#11 PIN variable ${ref.pinEnv} is not set`);
    return v;
  }
  if (ref.pinFile !== undefined) {
    try {
      return readFileSync(ref.pinFile, 'utf8').trim();
    } catch (err) {
      fail(
        CustodyCodes.KEY_REF_INVALID,
        `cannot read the PKCS#11 PIN file ${ref.pinFile}: ${(err as Error).message}`,
        err,
      );
    }
  }
  return fail(CustodyCodes.KEY_REF_INVALID, 'a PKCS#11 key reference needs pinEnv or pinFile');
}

interface Session {
  m: Pkcs11js.PKCS11;
  handle: Buffer;
}

function openSession(ref: Pkcs11KeyRef, pin: string): Session {
  const m = loadModule(ref.module);
  const slot = m.C_GetSlotList(true).find((s) => m.C_GetTokenInfo(s).label.trim() === ref.tokenLabel);
  if (slot === undefined)
    fail(
      CustodyCodes.BACKEND_UNAVAILABLE,
      `no PKCS#11 token labelled ${JSON.stringify(ref.tokenLabel)} in ${ref.module}`,
    );
  const handle = m.C_OpenSession(slot, lib().CKF_SERIAL_SESSION | lib().CKF_RW_SESSION);
  try {
    m.C_Login(handle, lib().CKU_USER, pin);
  } catch (err) {
    // A second session of the same token in this process shares the first one's login.
    if (!/CKR_USER_ALREADY_LOGGED_IN/.test(String((err as Error).message))) {
      m.C_CloseSession(handle);
      fail(
        CustodyCodes.BACKEND_UNAVAILABLE,
        `login to PKCS#11 token ${JSON.stringify(ref.tokenLabel)} failed: ${(err as Error).message}`,
        err,
      );
    }
  }
  return { m, handle };
}

function findByLabel(s: Session, cls: number, label: string): Buffer[] {
  s.m.C_FindObjectsInit(s.handle, [
    { type: lib().CKA_CLASS, value: cls },
    { type: lib().CKA_LABEL, value: label },
  ]);
  try {
    return s.m.C_FindObjects(s.handle, FIND_OBJECTS_MAX);
  } finally {
    s.m.C_FindObjectsFinal(s.handle);
  }
}

/** A CK_ULONG attribute: 8 bytes on 64-bit platforms, 4 on 32-bit ones (host byte order). */
function ckUlong(b: Buffer): number {
  return b.length === 8 ? Number(b.readBigUInt64LE(0)) : b.readUInt32LE(0);
}

/** CKA_EC_POINT of an Edwards key: a DER OCTET STRING around the 32-byte key (some tokens give it bare). */
export function ed25519FromEcPoint(point: Uint8Array): Uint8Array {
  if (point.length === ED25519_PUBLIC_KEY_BYTES) return new Uint8Array(point);
  if (point.length === ED25519_PUBLIC_KEY_BYTES + 2 && point[0] === 0x04 && point[1] === ED25519_PUBLIC_KEY_BYTES) {
    return new Uint8Array(point.subarray(2));
  }
  return fail(CustodyCodes.KEY_UNSUITABLE, `CKA_EC_POINT of ${point.length} bytes is not an Ed25519 public key`);
}

function publicKeyOf(s: Session, pub: Buffer): Uint8Array {
  const [point] = s.m.C_GetAttributeValue(s.handle, pub, [{ type: lib().CKA_EC_POINT }]);
  return ed25519FromEcPoint(new Uint8Array(point!.value as Buffer));
}

/** A PKCS#11 key that signs inside its token; `close` ends its session. */
export interface Pkcs11Signer extends SyncSigner {
  close(): void;
}

function signerOver(s: Session, priv: Buffer, publicKey: Uint8Array, ref: Pkcs11KeyRef): Pkcs11Signer {
  const signSync = (message: Uint8Array): Uint8Array => {
    try {
      s.m.C_SignInit(s.handle, { mechanism: CKM_EDDSA }, priv);
      const sig = s.m.C_Sign(
        s.handle,
        Buffer.from(message.buffer, message.byteOffset, message.byteLength),
        Buffer.alloc(ED25519_SIGNATURE_BYTES),
      );
      if (sig.length !== ED25519_SIGNATURE_BYTES)
        fail(CustodyCodes.KEY_UNSUITABLE, `PKCS#11 key ${ref.keyLabel} returned a ${sig.length}-byte signature`);
      return new Uint8Array(sig);
    } catch (err) {
      if (err instanceof ConsortiaError) throw err;
      return fail(
        CustodyCodes.BACKEND_FAILED,
        `PKCS#11 sign with key ${JSON.stringify(ref.keyLabel)} failed: ${(err as Error).message}`,
        err,
      );
    }
  };
  return {
    publicKey,
    signSync,
    sign: async (message) => signSync(message),
    close: () => {
      try {
        s.m.C_CloseSession(s.handle);
      } catch {
        /* already closed */
      }
    },
  };
}

/** Opens the key pair labelled ref.keyLabel in the token; the private key never leaves it. */
export function openPkcs11Signer(ref: Pkcs11KeyRef, pin: string): Pkcs11Signer {
  const s = openSession(ref, pin);
  try {
    const privs = findByLabel(s, lib().CKO_PRIVATE_KEY, ref.keyLabel);
    const pubs = findByLabel(s, lib().CKO_PUBLIC_KEY, ref.keyLabel);
    if (privs.length === 0 || pubs.length === 0) {
      fail(
        CustodyCodes.KEY_NOT_FOUND,
        `no Ed25519 key pair labelled ${JSON.stringify(ref.keyLabel)} in token ${JSON.stringify(ref.tokenLabel)}`,
      );
    }
    if (privs.length > 1 || pubs.length > 1) {
      fail(
        CustodyCodes.KEY_REF_INVALID,
        `more than one key labelled ${JSON.stringify(ref.keyLabel)} in token ${JSON.stringify(ref.tokenLabel)}`,
      );
    }
    const [kt] = s.m.C_GetAttributeValue(s.handle, privs[0]!, [{ type: lib().CKA_KEY_TYPE }]);
    if (ckUlong(kt!.value as Buffer) !== CKK_EC_EDWARDS) {
      fail(CustodyCodes.KEY_UNSUITABLE, `PKCS#11 key ${JSON.stringify(ref.keyLabel)} is not an Edwards-curve key`);
    }
    return signerOver(s, privs[0]!, publicKeyOf(s, pubs[0]!), ref);
  } catch (err) {
    s.m.C_CloseSession(s.handle);
    throw err;
  }
}

/**
 * Generates an Ed25519 key pair inside the token (CKM_EC_EDWARDS_KEY_PAIR_GEN): the private key
 * is sensitive and not extractable, so it never exists outside the token. Refuses a label in use.
 */
export function generatePkcs11Key(ref: Pkcs11KeyRef, pin: string): Pkcs11Signer {
  const s = openSession(ref, pin);
  try {
    if (
      findByLabel(s, lib().CKO_PRIVATE_KEY, ref.keyLabel).length > 0 ||
      findByLabel(s, lib().CKO_PUBLIC_KEY, ref.keyLabel).length > 0
    ) {
      fail(
        CustodyCodes.KEY_EXISTS,
        `token ${JSON.stringify(ref.tokenLabel)} already holds a key labelled ${JSON.stringify(ref.keyLabel)}`,
      );
    }
    const id = Buffer.from(ref.keyLabel, 'utf8');
    let keys: Pkcs11js.KeyPair;
    try {
      keys = s.m.C_GenerateKeyPair(
        s.handle,
        { mechanism: CKM_EC_EDWARDS_KEY_PAIR_GEN },
        [
          { type: lib().CKA_TOKEN, value: true },
          { type: lib().CKA_LABEL, value: ref.keyLabel },
          { type: lib().CKA_ID, value: id },
          { type: lib().CKA_VERIFY, value: true },
          { type: lib().CKA_EC_PARAMS, value: EC_PARAMS_ED25519 },
        ],
        [
          { type: lib().CKA_TOKEN, value: true },
          { type: lib().CKA_PRIVATE, value: true },
          { type: lib().CKA_LABEL, value: ref.keyLabel },
          { type: lib().CKA_ID, value: id },
          { type: lib().CKA_SIGN, value: true },
          { type: lib().CKA_SENSITIVE, value: true },
          { type: lib().CKA_EXTRACTABLE, value: false },
        ],
      );
    } catch (err) {
      fail(
        CustodyCodes.BACKEND_FAILED,
        `PKCS#11 token ${JSON.stringify(ref.tokenLabel)} could not generate an Ed25519 key: ${(err as Error).message}`,
        err,
      );
    }
    return signerOver(s, keys.privateKey, publicKeyOf(s, keys.publicKey), ref);
  } catch (err) {
    s.m.C_CloseSession(s.handle);
    throw err;
  }
}
