import type { Command } from 'commander';
import { ApiClient } from '../api-client.js';
import { CONFIG_KEYS, loadConfig, saveConfig, type CliConfig } from '../config-store.js';
import { usage } from '../errors.js';
import type { CliIo } from '../io.js';
import { printObject } from '../output.js';
import { action } from './action.js';

export function registerSession(program: Command, io: CliIo): void {
  program
    .command('login')
    .description('store --api-url and --token (checked against the API) in the config home')
    // --api-url and --token are the global options (also accepted after `login`).
    .option('--org <orgId>', 'default organization for commands that need one')
    .option('--key-org <name>', 'default local signing key (keys/<name>.key)')
    .action(
      action<{ org?: string; keyOrg?: string }>(io, async (ctx, o) => {
        const apiUrl = ctx.config.apiUrl;
        const token = ctx.config.token;
        if (!apiUrl || !token) throw usage('login needs --api-url URL and --token TOKEN');
        try {
          new URL(apiUrl);
        } catch {
          throw usage(`--api-url must be a URL like http://127.0.0.1:8080, got ${JSON.stringify(apiUrl)}`);
        }
        await new ApiClient(apiUrl, token).get('/v1/organizations?limit=1');
        const cfg: CliConfig = { ...loadConfig(ctx.home), apiUrl, token };
        if (o.org) cfg.orgId = o.org;
        if (o.keyOrg) cfg.keyOrg = o.keyOrg;
        const file = saveConfig(ctx.home, cfg);
        if (ctx.json) io.out(JSON.stringify({ ok: true, config: file }));
        else io.out(`logged in to ${apiUrl}; config saved in ${file}`);
      }),
    );

  const config = program.command('config').description('show or change the CLI configuration');
  config
    .command('show')
    .description('print the configuration (the token is masked)')
    .action(
      action(io, (ctx) => {
        const c = { ...ctx.config, token: ctx.config.token ? `${ctx.config.token.slice(0, 6)}…` : undefined, home: ctx.home };
        printObject(io, ctx.json, c);
      }),
    );
  config
    .command('set')
    .description(`set one key: ${CONFIG_KEYS.join(', ')}`)
    .argument('<key>')
    .argument('<value>')
    .action(
      action(io, (ctx, _o, [key, value]) => {
        if (!(CONFIG_KEYS as readonly string[]).includes(key!)) throw usage(`unknown config key ${JSON.stringify(key)}; valid keys: ${CONFIG_KEYS.join(', ')}`);
        const cfg = loadConfig(ctx.home) as Record<string, string>;
        cfg[key!] = value!;
        saveConfig(ctx.home, cfg);
        io.out(`${key} set`);
      }),
    );
}
