import type { Command } from 'commander';
import { ApiClient } from './api-client.js';
import { loadConfig, requireApi, resolveHome, type CliConfig } from './config-store.js';
import { usage } from './errors.js';
import type { CliIo } from './io.js';
import { loadKeyFile, loadOrgKey, type OrgKey } from './key-file.js';

/** What every command handler gets: io, output mode, the config home and an API client. */
export interface Ctx {
  io: CliIo;
  json: boolean;
  home: string;
  config: CliConfig;
  api(): ApiClient;
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
}

export function makeCtx(io: CliIo, cmd: Command): Ctx {
  const g = cmd.optsWithGlobals<GlobalOpts>();
  const home = resolveHome(g.home, io.env, io.homedir);
  const config: CliConfig = { ...loadConfig(home) };
  // Precedence: flags > environment > config file.
  if (io.env.CONSORTIA_API_URL) config.apiUrl = io.env.CONSORTIA_API_URL;
  if (io.env.CONSORTIA_TOKEN) config.token = io.env.CONSORTIA_TOKEN;
  if (g.apiUrl) config.apiUrl = g.apiUrl;
  if (g.token) config.token = g.token;
  return {
    io,
    json: Boolean(g.json),
    home,
    config,
    api: () => {
      const { apiUrl, token } = requireApi(config);
      return new ApiClient(apiUrl, token);
    },
    orgId: (flag) => {
      const id = flag ?? config.orgId;
      if (!id) throw usage('no organization given: pass --org ORG_ID (or set a default with `consortia login --org ORG_ID`)');
      return id;
    },
    signingKey: (o) => {
      if (o.keyFile) return loadKeyFile(o.keyFile);
      const name = o.keyOrg ?? config.keyOrg;
      if (!name) throw usage('no signing key given: pass --key-org NAME (a key made by `consortia keys create --org NAME`) or --key-file PATH');
      return loadOrgKey(home, name);
    },
  };
}
