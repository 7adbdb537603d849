import { resolve } from 'node:path';
import type { Command } from 'commander';
import { normalizeFingerprint } from '../lib/tls-fingerprint.js';
import type { TlsTrust } from '../lib/tls-client.js';
import { ApiClient } from './api-client.js';
import { loadConfig, requireApi, resolveHome, saveConfig, type CliConfig } from './config-store.js';
import { usage } from './errors.js';
import type { CliIo } from './io.js';
import { loadKeyFile, loadOrgKey, type OrgKey } from './key-file.js';

/** What every command handler gets: io, output mode, the config home and an API client. */
export interface Ctx {
  io: CliIo;
  json: boolean;
  home: string;
  /** Active profile (--profile, else CONSORTIA_PROFILE, else the one `consortia use` chose), if any. */
  profile: string | undefined;
  /** Effective settings: the profile's over the top-level ones, then environment and flags. */
  config: CliConfig;
  api(): ApiClient;
  /** How the API's certificate is checked: config caFile / tlsFingerprint (flags and env included); system CAs when empty. */
  trust(): TlsTrust;
  /** --org flag, else the configured default organization. */
  orgId(flag?: string): string;
  /** The signing key: --key-file, else --key-org NAME, else the configured keyOrg. */
  signingKey(opts: { keyFile?: string; keyOrg?: string }): OrgKey;
}

interface GlobalOpts {
  home?: string;
  json?: boolean;
  apiUrl?: string;
  token?: string;
  profile?: string;
  ca?: string;
  tlsFingerprint?: string;
}

/** The TLS trust of the effective settings; a malformed fingerprint is a usage error naming the setting. */
export function tlsTrust(config: CliConfig): TlsTrust {
  const trust: TlsTrust = {};
  if (config.caFile) trust.caFile = resolve(config.caFile);
  if (config.tlsFingerprint) {
    const f = normalizeFingerprint(config.tlsFingerprint);
    if (f === undefined) {
      throw usage(
        `--tls-fingerprint (tlsFingerprint) must be a SHA-256 certificate fingerprint like sha256:<64 hex digits> (colons allowed), got ${JSON.stringify(config.tlsFingerprint)}`,
      );
    }
    trust.fingerprint = f;
  }
  return trust;
}

const PROFILE_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Validated profile name (profiles are keys of config.json). */
export function profileName(name: string): string {
  if (!PROFILE_RE.test(name))
    throw usage(`profile ${JSON.stringify(name)}: use letters, digits, '.', '_' or '-' (max 64)`);
  return name;
}

/** Writes `fields` into the active profile (or the top level when none is active). */
export function saveSettings(home: string, profile: string | undefined, fields: Partial<CliConfig>): string {
  const cfg = loadConfig(home);
  if (profile === undefined) return saveConfig(home, { ...cfg, ...fields });
  return saveConfig(home, {
    ...cfg,
    profiles: { ...cfg.profiles, [profile]: { ...cfg.profiles?.[profile], ...fields } },
  });
}

export function makeCtx(io: CliIo, cmd: Command): Ctx {
  const g = cmd.optsWithGlobals<GlobalOpts>();
  const home = resolveHome(g.home, io.env, io.homedir);
  const stored = loadConfig(home);
  const profile = g.profile ?? (io.env.CONSORTIA_PROFILE || undefined) ?? stored.currentProfile;
  if (profile !== undefined) profileName(profile);
  const { profiles, currentProfile: _current, ...top } = stored;
  const config: CliConfig = { ...top, ...(profile !== undefined ? profiles?.[profile] : undefined) };
  // Precedence: flags > environment > profile > config file.
  if (io.env.CONSORTIA_API_URL) config.apiUrl = io.env.CONSORTIA_API_URL;
  if (io.env.CONSORTIA_TOKEN) config.token = io.env.CONSORTIA_TOKEN;
  if (g.apiUrl) config.apiUrl = g.apiUrl;
  if (g.token) config.token = g.token;
  if (io.env.CONSORTIA_CA_FILE) config.caFile = io.env.CONSORTIA_CA_FILE;
  if (io.env.CONSORTIA_TLS_FINGERPRINT) config.tlsFingerprint = io.env.CONSORTIA_TLS_FINGERPRINT;
  if (g.ca) config.caFile = g.ca;
  if (g.tlsFingerprint) config.tlsFingerprint = g.tlsFingerprint;
  return {
    io,
    json: Boolean(g.json),
    home,
    profile,
    config,
    api: () => {
      const { apiUrl, token } = requireApi(config);
      return new ApiClient(apiUrl, token, undefined, tlsTrust(config));
    },
    trust: () => tlsTrust(config),
    orgId: (flag) => {
      const id = flag ?? config.orgId;
      if (!id)
        throw usage('no organization given: pass --org ORG_ID (or set a default with `consortia login --org ORG_ID`)');
      return id;
    },
    signingKey: (o) => {
      if (o.keyFile) return loadKeyFile(o.keyFile);
      const name = o.keyOrg ?? config.keyOrg;
      if (!name)
        throw usage(
          'no signing key given: pass --key-org NAME (a key made by `consortia keys create --org NAME`) or --key-file PATH',
        );
      return loadOrgKey(home, name, io.env);
    },
  };
}
