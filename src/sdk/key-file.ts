import { readFileSync, statSync } from 'node:fs';
import { fromHex, secretKeySigner, toHex, type Signer } from '../chain/index.js';
import { ConsortiaError } from '../lib/errors.js';
import { SdkCodes } from './errors.js';

/**
 * A Signer from a key file in the CLI's format ({type:'ed25519', org, publicKey, secretKey} hex,
 * `consortia keys create`), refusing a file readable or writable by group or others.
 */
export function fileSigner(file: string): Signer & { org: string } {
  let mode: number;
  try {
    mode = statSync(file).mode & 0o777;
  } catch {
    throw new ConsortiaError(SdkCodes.KEY_FILE, `no key file at ${file}`);
  }
  if ((mode & 0o077) !== 0)
    throw new ConsortiaError(
      SdkCodes.KEY_FILE,
      `key file ${file} has mode ${mode.toString(8).padStart(4, '0')}; it must be 0600`,
    );
  try {
    const j = JSON.parse(readFileSync(file, 'utf8')) as { org?: string; publicKey?: string; secretKey?: string };
    const signer = secretKeySigner(fromHex(String(j.secretKey), 32));
    if (j.publicKey !== undefined && j.publicKey !== toHex(signer.publicKey))
      throw new Error('publicKey does not match secretKey');
    return Object.assign(signer, { org: String(j.org ?? '') });
  } catch (err) {
    throw new ConsortiaError(
      SdkCodes.KEY_FILE,
      `key file ${file} is not a valid Ed25519 key file: ${(err as Error).message}`,
    );
  }
}
