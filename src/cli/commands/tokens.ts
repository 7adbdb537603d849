/**
 * `consortia token create|list|show|revoke|rotate`: an organization's API tokens (--org, default the
 * configured one) or the platform-admin ones (--platform). Secrets are printed once; `token rotate`
 * without an id rotates the token the CLI itself uses and stores the new one where the old was.
 */
import type { Command } from 'commander';
import { loadConfig } from '../config-store.js';
import { saveSettings, type Ctx } from '../context.js';
import { usage } from '../errors.js';
import type { CliIo } from '../io.js';
import { printObject, printTable } from '../output.js';
import { choiceFlag, enc } from '../parse.js';
import { action } from './action.js';

type Token = {
  id: string;
  name: string;
  role: string;
  orgId: string | null;
  createdAt: string;
  expiresAt: string;
  expired: boolean;
  lastUsedAt: string | null;
  replacedBy?: string;
  rotatedFrom?: string;
  token?: string;
};
const TOKEN_ROLES = ['org-admin', 'org-operator', 'org-viewer'] as const;
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };
/** Longest duration the CLI accepts for --ttl / --grace (the server enforces its own, smaller bounds). */
const DURATION_MAX_SECONDS = 10 * 366 * 86_400;

/** "3600", "45s", "30m", "12h", "90d" -> seconds; anything else is a usage error naming the flag. */
export function durationFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d{1,10})([smhd]?)$/.exec(value.trim());
  if (!m) throw usage(`${flag} must be a duration like 3600, 45s, 30m, 12h or 90d, got ${JSON.stringify(value)}`);
  const s = Number(m[1]) * UNIT_SECONDS[m[2] || 's']!;
  if (s > DURATION_MAX_SECONDS) throw usage(`${flag} is too long (${s} s)`);
  return s;
}

interface ScopeOpts {
  org?: string;
  platform?: boolean;
}

/** The tokens collection: /v1/platform/tokens or /v1/organizations/{org}/tokens. */
function base(ctx: Ctx, o: ScopeOpts): string {
  if (o.platform && o.org) throw usage('give either --org ORG_ID or --platform, not both');
  return o.platform ? '/v1/platform/tokens' : `/v1/organizations/${enc(ctx.orgId(o.org))}/tokens`;
}

function status(t: Token): string {
  if (t.expired) return 'expired';
  return t.replacedBy ? `rotated (to ${t.replacedBy})` : 'active';
}

function printSecret(io: CliIo, ctx: Ctx, t: Token, note: string): void {
  if (ctx.json) return io.out(JSON.stringify(t, null, 2));
  printObject(io, false, t, [
    ['id', (r) => r.id],
    ['name', (r) => r.name],
    ['role', (r) => r.role],
    ['expiresAt', (r) => r.expiresAt],
    ['token', (r) => r.token],
  ]);
  io.err(note);
}

export function registerTokens(program: Command, io: CliIo): void {
  const token = program
    .command('token')
    .description('API tokens of an organization (--org, default the configured one) or of the platform (--platform)');
  const scoped = (c: Command) =>
    c
      .option('--org <orgId>', 'organization (default: configured org)')
      .option('--platform', 'platform-admin tokens instead');

  scoped(token.command('create').description('create a token (the secret is shown once)'))
    .requiredOption('--name <name>')
    .option('--role <role>', `one of ${TOKEN_ROLES.join(', ')} (organization tokens)`)
    .option('--ttl <duration>', "lifetime, e.g. 30d or 12h (default: the control plane's tokenTtlSeconds)")
    .action(
      action<ScopeOpts & { name: string; role?: string; ttl?: string }>(io, async (ctx, o) => {
        if (o.platform && o.role) throw usage('--role is for organization tokens; platform tokens are platform-admin');
        const ttlSeconds = durationFlag('--ttl', o.ttl);
        const body = {
          name: o.name,
          ...(o.platform ? {} : { role: choiceFlag('--role', o.role ?? 'org-admin', TOKEN_ROLES) }),
          ...(ttlSeconds !== undefined ? { ttlSeconds } : {}),
        };
        const created = await ctx.api().post<Token>(base(ctx, o), body);
        printSecret(io, ctx, created, 'store the token now: it is not shown again');
      }),
    );

  scoped(token.command('list').description('list tokens: metadata only, never secrets')).action(
    action<ScopeOpts>(io, async (ctx, o) => {
      const rows = await ctx.api().list<Token>(base(ctx, o));
      printTable(io, ctx.json, rows, [
        ['ID', (r) => r.id],
        ['NAME', (r) => r.name],
        ['ROLE', (r) => r.role],
        ['CREATED', (r) => r.createdAt],
        ['EXPIRES', (r) => r.expiresAt],
        ['LAST USED', (r) => r.lastUsedAt ?? 'never'],
        ['STATUS', status],
      ]);
    }),
  );

  scoped(token.command('show').description("one token's metadata; without an id, the token this CLI uses"))
    .argument('[tokenId]')
    .action(
      action<ScopeOpts>(io, async (ctx, o, [id]) => {
        const t =
          id === undefined
            ? await ctx.api().get<Token>('/v1/tokens/self')
            : await ctx.api().get<Token>(`${base(ctx, o)}/${enc(id)}`);
        printObject(io, ctx.json, { ...t, status: status(t) });
      }),
    );

  scoped(token.command('revoke').description('revoke a token: it stops working at once'))
    .argument('<tokenId>')
    .action(
      action<ScopeOpts>(io, async (ctx, o, [id]) => {
        await ctx.api().delete(`${base(ctx, o)}/${enc(id!)}`);
        if (ctx.json) io.out(JSON.stringify({ revoked: id }));
        else io.out(`token ${id} revoked`);
      }),
    );

  scoped(
    token
      .command('rotate')
      .description(
        'replace a token by a new secret with the same name and role; without an id, the token this CLI uses (the new one is saved in place of the old)',
      ),
  )
    .argument('[tokenId]')
    .option('--grace <duration>', 'how long the old secret keeps working, e.g. 1h (default 0: revoked at once)')
    .option('--ttl <duration>', "lifetime of the new token (default: the control plane's tokenTtlSeconds)")
    .action(
      action<ScopeOpts & { grace?: string; ttl?: string }>(io, async (ctx, o, [id]) => {
        const gracePeriodSeconds = durationFlag('--grace', o.grace);
        const ttlSeconds = durationFlag('--ttl', o.ttl);
        const body = {
          ...(gracePeriodSeconds !== undefined ? { gracePeriodSeconds } : {}),
          ...(ttlSeconds !== undefined ? { ttlSeconds } : {}),
        };
        const self = id === undefined;
        let path: string;
        if (self) {
          if (o.org || o.platform)
            throw usage(
              'without a token id, rotate rotates the token this CLI uses; drop --org / --platform or give the id',
            );
          const me = await ctx.api().get<Token>('/v1/tokens/self');
          path = `${me.orgId === null ? '/v1/platform/tokens' : `/v1/organizations/${enc(me.orgId)}/tokens`}/${enc(me.id)}/rotate`;
        } else path = `${base(ctx, o)}/${enc(id)}/rotate`;
        const rotated = await ctx.api().post<Token>(path, body);
        const savedIn = self ? saveRotated(ctx, rotated.token!) : undefined;
        const grace = gracePeriodSeconds
          ? `the old one works for ${gracePeriodSeconds} s more`
          : 'the old one is revoked';
        if (savedIn) printSecret(io, ctx, rotated, `${grace}; the new token is saved in ${savedIn}`);
        else printSecret(io, ctx, rotated, `${grace}; store the new token now: it is not shown again`);
      }),
    );
}

/** Saves a rotated secret where the one in use came from (the profile's or the top-level config); undefined when it came from a flag or the environment. */
function saveRotated(ctx: Ctx, secret: string): string | undefined {
  const stored = loadConfig(ctx.home);
  const fromProfile = ctx.profile !== undefined ? stored.profiles?.[ctx.profile]?.token : undefined;
  if (fromProfile !== undefined && fromProfile === ctx.config.token)
    return saveSettings(ctx.home, ctx.profile, { token: secret });
  if (fromProfile === undefined && stored.token !== undefined && stored.token === ctx.config.token)
    return saveSettings(ctx.home, undefined, { token: secret });
  return undefined;
}
