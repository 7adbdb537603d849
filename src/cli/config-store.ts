import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConsortiaError } from '../lib/errors.js';
import { CliCodes } from './errors.js';

/** ~/.config/consortia/config.json: where the API is, the token, and the default organization. */
export interface CliConfig {
  apiUrl?: string;
  token?: string;
  orgId?: string;
  /** Name of the local key (keys/<name>.key) used to sign by default. */
  keyOrg?: string;
  /** PEM CA bundle that signed the API's certificate (`--ca`), instead of the system CAs. */
  caFile?: string;
  /** Pinned "sha256:..." fingerprint of the API's certificate (`--tls-fingerprint`, stored by `login`). */
  tlsFingerprint?: string;
  /** Default consortium of the chain commands (account, asset, anchor, tx show). */
  consortiumId?: string;
  /** Per-organization settings (`--profile NAME`, `consortia use NAME`); a profile's keys override the top-level ones. */
  profiles?: Record<string, Omit<CliConfig, 'profiles' | 'currentProfile'>>;
  /** Profile used when no --profile / CONSORTIA_PROFILE is given. */
  currentProfile?: string;
}

export const CONFIG_KEYS = ['apiUrl', 'token', 'orgId', 'keyOrg', 'consortiumId', 'caFile', 'tlsFingerprint'] as const;

/** --home beats CONSORTIA_HOME beats ~/.config/consortia. */
export function resolveHome(flag: string | undefined, env: NodeJS.ProcessEnv, homedir: string): string {
  if (flag) return resolve(flag);
  if (env.CONSORTIA_HOME) return resolve(env.CONSORTIA_HOME);
  return join(env.XDG_CONFIG_HOME || join(homedir, '.config'), 'consortia');
}

export function loadConfig(home: string): CliConfig {
  try {
    const parsed = JSON.parse(readFileSync(join(home, 'config.json'), 'utf8')) as CliConfig;
    return typeof parsed === 'object' && parsed !== null ? parsed : {};
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ConsortiaError('INVALID_CONFIG', `cannot read ${join(home, 'config.json')}: ${(err as Error).message}`);
  }
}

/** The file holds a bearer token: owner-only, like the key files. */
export function saveConfig(home: string, cfg: CliConfig): string {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const file = join(home, 'config.json');
  writeFileSync(file, JSON.stringify(cfg, null, 2) + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

export function requireApi(cfg: CliConfig): { apiUrl: string; token: string } {
  if (!cfg.apiUrl || !cfg.token) {
    throw new ConsortiaError(
      CliCodes.NOT_LOGGED_IN,
      'no API URL/token configured: run `consortia login --api-url URL --token TOKEN` (or set CONSORTIA_API_URL and CONSORTIA_TOKEN)',
    );
  }
  return { apiUrl: cfg.apiUrl, token: cfg.token };
}
