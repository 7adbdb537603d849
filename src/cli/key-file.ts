import {
  chmodSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  statSync,
  writeSync,
  closeSync,
  existsSync,
} from 'node:fs';
import { join } from 'node:path';
import { parseKeyRef, type KeyRef } from '../lib/custody/index.js';
import { ConsortiaError } from '../lib/errors.js';
import { fromHex, portable, secretKeySigner, toHex, type Signer } from './chain-port.js';
import { CliCodes, usage } from './errors.js';
import { custodySigner } from './custody-signer.js';

/**
 * An organization's admin Ed25519 key as this machine reaches it: either a key file
 * <home>/keys/<org>.key (mode 0600 in a 0700 directory; the secret never leaves it except to sign
 * locally), or a reference <home>/keys/<org>.ref.json to a key inside a PKCS#11 token or AWS KMS
 * (the reference names the key and records its public key; it holds no secret). Every signature
 * goes through `signer`.
 */
export interface OrgKey {
  org: string;
  publicKey: Uint8Array;
  signer: Signer;
  /** The key file or the reference file. */
  file: string;
  backend: KeyRef['backend'];
}

/** The reference file's content: which backend holds the key, and the public key it had when made. */
export interface KeyRefFile {
  type: 'key-ref';
  org: string;
  publicKey: string;
  ref: KeyRef;
}

const ORG_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function keyFilePath(home: string, org: string): string {
  if (!ORG_NAME_RE.test(org))
    throw usage(`--org ${JSON.stringify(org)}: use letters, digits, '.', '_' or '-' (max 64)`);
  return join(home, 'keys', `${org}.key`);
}

export function createOrgKey(home: string, org: string, force = false): OrgKey {
  const file = keyFilePath(home, org);
  mkdirSync(join(home, 'keys'), { recursive: true, mode: 0o700 });
  const kp = portable.generateKeyPair();
  let fd: number;
  try {
    fd = openSync(file, force ? 'w' : 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new ConsortiaError(
        CliCodes.KEY_EXISTS,
        `a key for org ${org} already exists at ${file} (use --force to replace it)`,
      );
    }
    throw err;
  }
  try {
    writeSync(
      fd,
      `${JSON.stringify({ type: 'ed25519', org, publicKey: toHex(kp.publicKey), secretKey: toHex(kp.secretKey) }, null, 2)}\n`,
    );
  } finally {
    closeSync(fd);
  }
  chmodSync(file, 0o600); // 'w' on an existing file keeps its old mode
  return { org, publicKey: kp.publicKey, signer: secretKeySigner(kp.secretKey), file, backend: 'file' };
}

/** Loads a key file, refusing one readable or writable by group/others. */
export function loadKeyFile(file: string): OrgKey {
  let mode: number;
  try {
    mode = statSync(file).mode & 0o777;
  } catch {
    throw new ConsortiaError(
      CliCodes.KEY_NOT_FOUND,
      `no key file at ${file}: create one with \`consortia keys create --org NAME\``,
    );
  }
  if ((mode & 0o077) !== 0) {
    throw new ConsortiaError(
      CliCodes.KEY_FILE_INSECURE,
      `key file ${file} has mode ${mode.toString(8).padStart(4, '0')}; it must be 0600 (run: chmod 600 ${file})`,
    );
  }
  try {
    const j = JSON.parse(readFileSync(file, 'utf8')) as { org?: string; publicKey?: string; secretKey?: string };
    const secretKey = fromHex(String(j.secretKey), 32);
    const publicKey = portable.getPublicKey(secretKey);
    if (j.publicKey !== undefined && j.publicKey !== toHex(publicKey))
      throw new Error('publicKey does not match secretKey');
    return { org: String(j.org ?? ''), publicKey, signer: secretKeySigner(secretKey), file, backend: 'file' };
  } catch (err) {
    throw new ConsortiaError(
      CliCodes.KEY_INVALID,
      `key file ${file} is not a valid Ed25519 key file: ${(err as Error).message}`,
    );
  }
}

export function keyRefPath(home: string, org: string): string {
  return keyFilePath(home, org).replace(/\.key$/, '.ref.json');
}

/** Records a reference to a key held by a custody backend (mode 0600, like a key file: it names a PIN source). */
export function writeKeyRef(home: string, org: string, publicKey: Uint8Array, ref: KeyRef, force = false): string {
  const file = keyRefPath(home, org);
  if (existsSync(keyFilePath(home, org))) {
    throw new ConsortiaError(
      CliCodes.KEY_EXISTS,
      `org ${org} already has a key file ${keyFilePath(home, org)}; choose another --org name`,
    );
  }
  mkdirSync(join(home, 'keys'), { recursive: true, mode: 0o700 });
  let fd: number;
  try {
    fd = openSync(file, force ? 'w' : 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new ConsortiaError(
        CliCodes.KEY_EXISTS,
        `a key reference for org ${org} already exists at ${file} (use --force to replace it)`,
      );
    }
    throw err;
  }
  try {
    const body: KeyRefFile = { type: 'key-ref', org, publicKey: toHex(publicKey), ref };
    writeSync(fd, `${JSON.stringify(body, null, 2)}\n`);
  } finally {
    closeSync(fd);
  }
  chmodSync(file, 0o600);
  return file;
}

function loadKeyRef(file: string, env: NodeJS.ProcessEnv): OrgKey {
  let j: KeyRefFile;
  let publicKey: Uint8Array;
  let ref: KeyRef;
  try {
    j = JSON.parse(readFileSync(file, 'utf8')) as KeyRefFile;
    publicKey = fromHex(String(j.publicKey), 32);
    ref = parseKeyRef(j.ref);
  } catch (err) {
    throw new ConsortiaError(CliCodes.KEY_INVALID, `key reference ${file} is not valid: ${(err as Error).message}`);
  }
  return {
    org: String(j.org ?? ''),
    publicKey,
    signer: custodySigner(ref, publicKey, env),
    file,
    backend: ref.backend,
  };
}

/** The org's key: its custody reference if there is one, else its key file. */
export function loadOrgKey(home: string, org: string, env: NodeJS.ProcessEnv = process.env): OrgKey {
  const refFile = keyRefPath(home, org);
  if (existsSync(refFile)) return loadKeyRef(refFile, env);
  return loadKeyFile(keyFilePath(home, org));
}

export function listOrgKeys(home: string): { org: string; backend: string; publicKey: string; file: string }[] {
  let names: string[] = [];
  try {
    names = readdirSync(join(home, 'keys')).filter((n) => n.endsWith('.key') || n.endsWith('.ref.json'));
  } catch {
    return [];
  }
  return names.map((n) => {
    const file = join(home, 'keys', n);
    const isRef = n.endsWith('.ref.json');
    const org = isRef ? n.slice(0, -'.ref.json'.length) : n.slice(0, -4);
    try {
      const j = JSON.parse(readFileSync(file, 'utf8')) as { publicKey?: string; ref?: { backend?: string } };
      return {
        org,
        backend: isRef ? String(j.ref?.backend ?? '?') : 'file',
        publicKey: String(j.publicKey ?? ''),
        file,
      };
    } catch {
      return { org, backend: isRef ? '?' : 'file', publicKey: '(unreadable)', file };
    }
  });
}
