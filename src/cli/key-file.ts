import { chmodSync, mkdirSync, openSync, readFileSync, readdirSync, statSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { ConsortiaError } from '../lib/errors.js';
import { fromHex, portable, toHex } from './chain-port.js';
import { CliCodes, usage } from './errors.js';

/**
 * An organization's admin Ed25519 key, kept only on this machine: <home>/keys/<org>.key,
 * mode 0600 in a 0700 directory. The secret never leaves the file except to sign locally.
 */
export interface OrgKey {
  org: string;
  publicKey: Uint8Array;
  secretKey: Uint8Array;
  file: string;
}

const ORG_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function keyFilePath(home: string, org: string): string {
  if (!ORG_NAME_RE.test(org)) throw usage(`--org ${JSON.stringify(org)}: use letters, digits, '.', '_' or '-' (max 64)`);
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
      throw new ConsortiaError(CliCodes.KEY_EXISTS, `a key for org ${org} already exists at ${file} (use --force to replace it)`);
    }
    throw err;
  }
  try {
    writeSync(fd, JSON.stringify({ type: 'ed25519', org, publicKey: toHex(kp.publicKey), secretKey: toHex(kp.secretKey) }, null, 2) + '\n');
  } finally {
    closeSync(fd);
  }
  chmodSync(file, 0o600); // 'w' on an existing file keeps its old mode
  return { org, publicKey: kp.publicKey, secretKey: kp.secretKey, file };
}

/** Loads a key file, refusing one readable or writable by group/others. */
export function loadKeyFile(file: string): OrgKey {
  let mode: number;
  try {
    mode = statSync(file).mode & 0o777;
  } catch {
    throw new ConsortiaError(CliCodes.KEY_NOT_FOUND, `no key file at ${file}: create one with \`consortia keys create --org NAME\``);
  }
  if ((mode & 0o077) !== 0) {
    throw new ConsortiaError(CliCodes.KEY_FILE_INSECURE, `key file ${file} has mode ${mode.toString(8).padStart(4, '0')}; it must be 0600 (run: chmod 600 ${file})`);
  }
  try {
    const j = JSON.parse(readFileSync(file, 'utf8')) as { org?: string; publicKey?: string; secretKey?: string };
    const secretKey = fromHex(String(j.secretKey), 32);
    const publicKey = portable.getPublicKey(secretKey);
    if (j.publicKey !== undefined && j.publicKey !== toHex(publicKey)) throw new Error('publicKey does not match secretKey');
    return { org: String(j.org ?? ''), publicKey, secretKey, file };
  } catch (err) {
    throw new ConsortiaError(CliCodes.KEY_INVALID, `key file ${file} is not a valid Ed25519 key file: ${(err as Error).message}`);
  }
}

export function loadOrgKey(home: string, org: string): OrgKey {
  return loadKeyFile(keyFilePath(home, org));
}

export function listOrgKeys(home: string): { org: string; publicKey: string; file: string }[] {
  let names: string[] = [];
  try {
    names = readdirSync(join(home, 'keys')).filter((n) => n.endsWith('.key'));
  } catch {
    return [];
  }
  return names.map((n) => {
    const file = join(home, 'keys', n);
    try {
      const j = JSON.parse(readFileSync(file, 'utf8')) as { publicKey?: string };
      return { org: n.slice(0, -4), publicKey: String(j.publicKey ?? ''), file };
    } catch {
      return { org: n.slice(0, -4), publicKey: '(unreadable)', file };
    }
  });
}
