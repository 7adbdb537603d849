/**
 * Encryption at rest for cluster credentials (kubeconfig): AES-256-GCM with a 32-byte key
 * from configuration (hex or base64). Format: "v1.<iv>.<tag>.<ciphertext>" (base64url).
 * The record id is bound as additional authenticated data so a sealed blob cannot be
 * moved to another cluster record.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ConsortiaError } from '../../lib/errors.js';
import { CpCodes } from './errors.js';

/**
 * The accepted forms of the 32-byte key: 64 hex characters (`openssl rand -hex 32`) or standard
 * base64 (`openssl rand -base64 32`: 43 characters and one "=", which may be left out). The Helm
 * chart's values.schema.json accepts exactly this grammar for auth.encryptionKey (a test compares them).
 */
export const ENCRYPTION_KEY_HEX = /^[0-9a-fA-F]{64}$/;
export const ENCRYPTION_KEY_BASE64 = /^[A-Za-z0-9+/]{43}=?$/;

export function parseEncryptionKey(text: string): Buffer {
  const t = text.trim();
  const key = ENCRYPTION_KEY_HEX.test(t)
    ? Buffer.from(t, 'hex')
    : ENCRYPTION_KEY_BASE64.test(t)
      ? Buffer.from(t, 'base64')
      : undefined;
  if (key?.length !== 32)
    throw new ConsortiaError(
      'INVALID_CONFIG',
      'encryptionKey must be 32 bytes: 64 hex characters or base64 (43 characters, optional "=")',
    );
  return key;
}

export function sealSecret(key: Buffer, plaintext: string, aad: string): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
  return ['v1', iv.toString('base64url'), c.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
}

export function openSecret(key: Buffer, sealed: string, aad: string): string {
  const [v, iv, tag, ct] = sealed.split('.');
  if (v !== 'v1' || iv === undefined || tag === undefined || ct === undefined) {
    throw new ConsortiaError(CpCodes.INTERNAL, 'sealed secret has an unknown format');
  }
  try {
    const d = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    d.setAAD(Buffer.from(aad, 'utf8'));
    d.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([d.update(Buffer.from(ct, 'base64url')), d.final()]).toString('utf8');
  } catch {
    throw new ConsortiaError(CpCodes.INTERNAL, 'sealed secret cannot be opened (wrong key or tampered)');
  }
}
