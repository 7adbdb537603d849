import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { generateKeyPair, publicKeyFromSecret, signProofOfPossession, type KeyPair } from '../chain/index.js';
import { ConsortiaError, CommonCodes } from '../lib/errors.js';

/**
 * The node's Ed25519 key file. The private key is generated here, inside the node's own
 * runtime, and never leaves it (only the public key and a proof of possession are printed).
 * Format: JSON { type: 'ed25519', publicKey: hex, secretKey: hex (32-byte seed) }, mode 0600.
 * For operator convenience a file holding just the 64-hex seed is also accepted.
 */
export interface NodeKeyFile {
  type: 'ed25519';
  publicKey: string;
  secretKey: string;
}

const HEX32 = /^[0-9a-fA-F]{64}$/;

function hexToBytes(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'hex'));
}

/** Reads a key file; throws INVALID_CONFIG when it is unreadable or inconsistent. Returns undefined if absent. */
export function readNodeKey(file: string): KeyPair | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConsortiaError(CommonCodes.INVALID_CONFIG, `cannot read key file ${file}: ${(err as Error).message}`);
  }
  const trimmed = text.trim();
  let seedHex: string | undefined;
  let pubHex: string | undefined;
  if (HEX32.test(trimmed)) seedHex = trimmed;
  else {
    try {
      const j = JSON.parse(trimmed) as Partial<NodeKeyFile>;
      seedHex = typeof j.secretKey === 'string' ? j.secretKey : undefined;
      pubHex = typeof j.publicKey === 'string' ? j.publicKey : undefined;
    } catch {
      /* reported below */
    }
  }
  if (seedHex === undefined || !HEX32.test(seedHex)) {
    throw new ConsortiaError(CommonCodes.INVALID_CONFIG, `key file ${file} does not hold an ed25519 seed`);
  }
  const secretKey = hexToBytes(seedHex);
  const publicKey = publicKeyFromSecret(secretKey);
  if (pubHex !== undefined && pubHex.toLowerCase() !== Buffer.from(publicKey).toString('hex')) {
    throw new ConsortiaError(CommonCodes.INVALID_CONFIG, `key file ${file}: publicKey does not match secretKey`);
  }
  return { publicKey, secretKey };
}

/** Writes a new key file atomically with mode 0600; refuses to overwrite an existing one. */
export function writeNodeKey(file: string, kp: KeyPair): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const body: NodeKeyFile = {
    type: 'ed25519',
    publicKey: Buffer.from(kp.publicKey).toString('hex'),
    secretKey: Buffer.from(kp.secretKey).toString('hex'),
  };
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, JSON.stringify(body) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    // link() fails with EEXIST instead of replacing: two racing starts cannot swap keys.
    linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new ConsortiaError(CommonCodes.CONFLICT, `key file ${file} already exists`);
    }
    throw err;
  } finally {
    unlinkSync(tmp);
  }
}

/** Loads the node key, generating and persisting it (0600) on first start. */
export function loadOrCreateNodeKey(file: string): { keyPair: KeyPair; created: boolean } {
  const existing = readNodeKey(file);
  if (existing) return { keyPair: existing, created: false };
  const keyPair = generateKeyPair();
  writeNodeKey(file, keyPair);
  return { keyPair, created: true };
}

export interface KeygenOutput {
  publicKey: string;
  proofOfPossession: string;
  created: boolean;
}

/** `main.js keygen --key-file F --chain-id C`: ensure the key exists, return its public identity. */
export function keygen(keyFile: string, chainId: string): KeygenOutput {
  const { keyPair, created } = loadOrCreateNodeKey(keyFile);
  const pop = signProofOfPossession(chainId, keyPair.secretKey, keyPair.publicKey);
  return {
    publicKey: Buffer.from(keyPair.publicKey).toString('hex'),
    proofOfPossession: Buffer.from(pop).toString('hex'),
    created,
  };
}

/** Parses keygen arguments (after the `keygen` word); env CONSORTIA_NODE_KEY_FILE / _CHAIN_ID fill gaps. */
export function parseKeygenArgs(argv: readonly string[], env: NodeJS.ProcessEnv): { keyFile: string; chainId: string } {
  const get = (name: string): string | undefined => {
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]!;
      if (a === `--${name}`) return argv[i + 1];
      if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
    }
    return undefined;
  };
  const keyFile = get('key-file') ?? env['CONSORTIA_NODE_KEY_FILE'];
  const chainId = get('chain-id') ?? env['CONSORTIA_NODE_CHAIN_ID'];
  if (!keyFile || !chainId) {
    throw new ConsortiaError(CommonCodes.INVALID_ARGUMENT, 'usage: main.js keygen --key-file FILE --chain-id CHAIN_ID');
  }
  return { keyFile, chainId };
}
