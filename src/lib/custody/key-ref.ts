import { isAbsolute } from 'node:path';
import { ConsortiaError } from '../errors.js';
import { CustodyCodes } from './errors.js';

/**
 * Where a key lives: a reference stored in a CLI profile or a node config. It names the key and
 * how to reach it, never the secret (a PKCS#11 PIN is named by an environment variable or a file).
 */
export type KeyRef = FileKeyRef | Pkcs11KeyRef | AwsKmsKeyRef;

/** Today's key file (CLI: <home>/keys/<org>.key; node: its keyFile), mode 0600. */
export interface FileKeyRef {
  backend: 'file';
}

export interface Pkcs11KeyRef {
  backend: 'pkcs11';
  /** Absolute path of the PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so). */
  module: string;
  tokenLabel: string;
  keyLabel: string;
  pinEnv?: string;
  pinFile?: string;
}

export interface AwsKmsKeyRef {
  backend: 'aws-kms';
  /** Key id, ARN or alias of an ECC_NIST_EDWARDS25519 SIGN_VERIFY key. */
  keyId: string;
  region: string;
  /** A KMS-compatible endpoint instead of AWS's (tests, VPC endpoints). */
  endpoint?: string;
}

export const KEY_BACKENDS = ['file', 'pkcs11', 'aws-kms'] as const;
export type KeyBackend = (typeof KEY_BACKENDS)[number];

/** Longest label, env name or key id a reference may carry. */
const REF_FIELD_CHARS_MAX = 2048;
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

function bad(message: string): never {
  throw new ConsortiaError(CustodyCodes.KEY_REF_INVALID, `invalid key reference: ${message}`);
}

function str(o: Record<string, unknown>, name: string, required: boolean): string | undefined {
  const v = o[name];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > REF_FIELD_CHARS_MAX)
    bad(`${name} must be a non-empty string`);
  return v;
}

/** Validates a key reference read from a profile or config; the result holds only known fields. */
export function parseKeyRef(raw: unknown): KeyRef {
  if (typeof raw !== 'object' || raw === null) bad('expected an object with a backend');
  const o = raw as Record<string, unknown>;
  switch (o.backend) {
    case 'file':
      return { backend: 'file' };
    case 'pkcs11': {
      const module = str(o, 'module', true)!;
      if (!isAbsolute(module)) bad('module must be an absolute path to the PKCS#11 library');
      const pinEnv = str(o, 'pinEnv', false);
      const pinFile = str(o, 'pinFile', false);
      if ((pinEnv === undefined) === (pinFile === undefined))
        bad('a pkcs11 key needs exactly one of pinEnv or pinFile');
      if (pinEnv !== undefined && !ENV_NAME_RE.test(pinEnv))
        bad(`pinEnv ${JSON.stringify(pinEnv)} is not an environment variable name`);
      return {
        backend: 'pkcs11',
        module,
        tokenLabel: str(o, 'tokenLabel', true)!,
        keyLabel: str(o, 'keyLabel', true)!,
        ...(pinEnv !== undefined ? { pinEnv } : {}),
        ...(pinFile !== undefined ? { pinFile } : {}),
      };
    }
    case 'aws-kms': {
      const endpoint = str(o, 'endpoint', false);
      if (endpoint !== undefined && !/^https?:\/\//.test(endpoint)) bad('endpoint must be an http(s) URL');
      return {
        backend: 'aws-kms',
        keyId: str(o, 'keyId', true)!,
        region: str(o, 'region', true)!,
        ...(endpoint !== undefined ? { endpoint } : {}),
      };
    }
    default:
      return bad(`backend must be one of ${KEY_BACKENDS.join(', ')}`);
  }
}
