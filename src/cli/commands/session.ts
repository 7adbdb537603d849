import type { Command } from 'commander';
import { ApiClient } from '../api-client.js';
import { CONFIG_KEYS, loadConfig, saveConfig, type CliConfig } from '../config-store.js';
import { usage } from '../errors.js';
import type { CliIo } from '../io.js';
import { printObject } from '../output.js';
import { profileName, saveSettings } from '../context.js';
import { action } from './action.js';

export function registerSession(program: Command, io: CliIo): void {
  program
    .command('login')
    .description(
      'store --api-url and --token (checked against the API), and --ca / --tls-fingerprint when given, in the config home',
    )
    // --api-url and --token are the global options (also accepted after `login`).
    .option('--org <orgId>', 'default organization for commands that need one')
    .option('--key-org <name>', 'default local signing key (keys/<name>.key)')
    .option('--consortium <id>', 'default consortium of the chain commands (account, asset, anchor, tx show)')
    .action(
      action<{ org?: string; keyOrg?: string; consortium?: string }>(io, async (ctx, o) => {
        const apiUrl = ctx.config.apiUrl;
        const token = ctx.config.token;
        if (!apiUrl || !token) throw usage('login needs --api-url URL and --token TOKEN');
        try {
          new URL(apiUrl);
        } catch {
          throw usage(`--api-url must be a URL like https://127.0.0.1:8080, got ${JSON.stringify(apiUrl)}`);
        }
        // Trust is explicit: the system CAs, --ca, or the fingerprint the user passed (never whatever the server shows).
        const trust = ctx.trust();
        await new ApiClient(apiUrl, token, undefined, trust).get('/v1/organizations?limit=1');
        const cfg: Partial<CliConfig> = { apiUrl, token };
        if (trust.caFile !== undefined) cfg.caFile = trust.caFile;
        if (trust.fingerprint !== undefined) cfg.tlsFingerprint = trust.fingerprint;
        if (o.org) cfg.orgId = o.org;
        if (o.keyOrg) cfg.keyOrg = o.keyOrg;
        if (o.consortium) cfg.consortiumId = o.consortium;
        // into the active profile (--profile / `consortia use`) when there is one
        const file = saveSettings(ctx.home, ctx.profile, cfg);
        if (ctx.json) io.out(JSON.stringify({ ok: true, config: file, profile: ctx.profile ?? null }));
        else
          io.out(`logged in to ${apiUrl}${ctx.profile ? ` as profile ${ctx.profile}` : ''}; config saved in ${file}`);
      }),
    );

  program
    .command('use')
    .description(
      'make NAME the active profile (per-organization settings: `consortia --profile NAME login ...` fills it)',
    )
    .argument('<name>')
    .action(
      action(io, (ctx, _o, [name]) => {
        const cfg = loadConfig(ctx.home);
        const p = profileName(name!);
        saveConfig(ctx.home, {
          ...cfg,
          currentProfile: p,
          profiles: { ...cfg.profiles, [p]: { ...cfg.profiles?.[p] } },
        });
        if (ctx.json) io.out(JSON.stringify({ profile: p }));
        else io.out(`using profile ${p}${cfg.profiles?.[p] ? '' : ' (new: run `consortia login` to fill it)'}`);
      }),
    );

  const config = program.command('config').description('show or change the CLI configuration');
  config
    .command('show')
    .description('print the configuration (the token is masked)')
    .action(
      action(io, (ctx) => {
        const c = {
          ...ctx.config,
          token: ctx.config.token ? `${ctx.config.token.slice(0, 6)}…` : undefined,
          home: ctx.home,
          profile: ctx.profile,
        };
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
        if (!(CONFIG_KEYS as readonly string[]).includes(key!))
          throw usage(`unknown config key ${JSON.stringify(key)}; valid keys: ${CONFIG_KEYS.join(', ')}`);
        saveSettings(ctx.home, ctx.profile, { [key!]: value! });
        io.out(`${key} set${ctx.profile ? ` in profile ${ctx.profile}` : ''}`);
      }),
    );
}
