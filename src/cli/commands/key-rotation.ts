/**
 * Replacing an organization's admin key on a consortium's chain (docs/trust-model.md#admin-key-rotation-and-recovery):
 * `keys rotate` (the current key endorses the new one), `member recover-key` (the other members
 * replace a lost key by vote) and `keys switch` (use the new key once the chain executed it).
 */
import type { Command } from 'commander';
import { ConsortiaError, isConsortiaError } from '../../lib/errors.js';
import {
  Tags,
  adminKeyEndorsementPayload,
  domainMessage,
  fromHex,
  governanceActionHash,
  toHex,
} from '../chain-port.js';
import { saveSettings, type Ctx } from '../context.js';
import { CliCodes, usage } from '../errors.js';
import type { CliIo } from '../io.js';
import { loadOrgKey, type OrgKey } from '../key-file.js';
import { printObject } from '../output.js';
import { enc, hexFlag, seconds } from '../parse.js';
import { Progress, sleep } from '../progress.js';
import { signVote } from '../signing.js';
import { action } from './action.js';
import { backendOptions, createKey, type CreateOpts } from './keys.js';

/** How often `keys rotate --wait` looks at the proposal. */
const POLL_INTERVAL_MS = 500;
/** Default --timeout of `keys rotate --wait`, in seconds. */
const WAIT_DEFAULT_SECONDS = 120;

interface ReplacementProposal {
  id: string;
  status: string;
  actionHash: string;
  chainAction: { type: string; memberId?: string; newAdminKeys?: string[] };
  execution?: { height?: number; code?: string; error?: string };
}

type NewKeyOpts = Omit<CreateOpts, 'org' | 'force'> & { newKeyOrg?: string; existing?: boolean };

interface NewKey {
  name: string;
  publicKey: string;
  backend: string;
  file: string;
  created: boolean;
}

/** The replacement key: made now with the chosen backend, or (--existing) a local key made before. */
async function newKey(ctx: Ctx, o: NewKeyOpts): Promise<NewKey> {
  const name = o.newKeyOrg!;
  if (o.existing) {
    const k = loadOrgKey(ctx.home, name, ctx.io.env);
    return { name, publicKey: toHex(k.publicKey), backend: k.backend, file: k.file, created: false };
  }
  try {
    const k = await createKey(ctx, { ...o, org: name });
    return { name, publicKey: k.publicKey, backend: k.backend, file: k.file, created: true };
  } catch (err) {
    if (isConsortiaError(err) && err.code === CliCodes.KEY_EXISTS)
      throw new ConsortiaError(
        CliCodes.KEY_EXISTS,
        `a local key named ${name} already exists: pass --existing to make it the new admin key, or choose another --new-key-org`,
      );
    throw err;
  }
}

/** Makes `name` the signing key of the active profile (or of the top-level settings). */
function switchProfileKey(ctx: Ctx, name: string): string {
  return saveSettings(ctx.home, ctx.profile, { keyOrg: name });
}

const profileFlag = (ctx: Ctx) => (ctx.profile !== undefined ? ` --profile ${ctx.profile}` : '');
const switchStep = (ctx: Ctx, cid: string, pid: string, name: string) =>
  `consortia${profileFlag(ctx)} keys switch ${cid} ${pid} --new-key-org ${name}`;

/** Throws unless `p` executed a replacement of `memberId`'s keys that includes `publicKey`. */
function requireExecutedReplacement(p: ReplacementProposal, memberId: string, publicKey: string): void {
  const a = p.chainAction;
  if (a.type !== 'replace_admin_keys')
    throw new ConsortiaError(CliCodes.INVALID_STATE, `proposal ${p.id} is a ${a.type}, not an admin key replacement`);
  if (a.memberId !== memberId)
    throw new ConsortiaError(
      CliCodes.INVALID_STATE,
      `proposal ${p.id} replaces the keys of ${a.memberId}, not ${memberId}`,
    );
  if (!a.newAdminKeys?.includes(publicKey))
    throw new ConsortiaError(
      CliCodes.INVALID_STATE,
      `proposal ${p.id} installs ${JSON.stringify(a.newAdminKeys)}, which does not include this key (${publicKey})`,
    );
  if (p.status !== 'EXECUTED')
    throw new ConsortiaError(
      CliCodes.INVALID_STATE,
      `proposal ${p.id} is ${p.status}, not EXECUTED: the chain still has the old key`,
    );
}

/** Polls until the proposal executed (returned), ended otherwise (thrown) or the deadline passed (returned as is). */
async function waitExecuted(ctx: Ctx, url: string, timeoutS: number): Promise<ReplacementProposal> {
  const deadline = Date.now() + timeoutS * 1000;
  const progress = new Progress(ctx.io, 'key replacement', !ctx.json);
  for (;;) {
    const p = await ctx.api().get<ReplacementProposal>(url);
    progress.update(p.status === 'EXECUTED' ? 1 : 0, 1, `${p.id}: ${p.status}`);
    if (p.status === 'EXECUTED') {
      progress.done(`proposal ${p.id} executed at height ${p.execution?.height ?? '?'}`);
      return p;
    }
    if (p.status === 'REJECTED' || p.status === 'EXPIRED' || p.status === 'EXECUTION_FAILED')
      throw new ConsortiaError(
        CliCodes.INVALID_STATE,
        `proposal ${p.id} ended ${p.status}${p.execution?.code ? ` (${p.execution.code}: ${p.execution.error ?? ''})` : ''}; the admin key was not replaced`,
      );
    if (Date.now() > deadline) {
      progress.done(`proposal ${p.id} is still ${p.status} after ${timeoutS}s`);
      return p;
    }
    await sleep(POLL_INTERVAL_MS);
  }
}

function subcommand(program: Command, name: string): Command {
  const c = program.commands.find((x) => x.name() === name);
  if (!c) throw new Error(`the ${name} command must be registered before the key-rotation commands`);
  return c;
}

interface RotateOpts extends NewKeyOpts {
  member?: string;
  keyOrg?: string;
  keyFile?: string;
  wait?: boolean;
  timeout?: string;
}

interface RecoverOpts extends NewKeyOpts {
  member?: string;
  newAdminKey?: string;
}

export function registerKeyRotation(program: Command, io: CliIo): void {
  const keys = subcommand(program, 'keys');
  backendOptions(
    keys
      .command('rotate')
      .description(
        "replace your organization's admin key on a consortium's chain: creates the new key (--backend), signs an endorsement of it with the current key, files a rotate_admin_keys proposal and votes YES on it; the other members vote; with --wait the profile switches to the new key once the chain executed it",
      )
      .argument('<consortiumId>')
      .requiredOption('--new-key-org <name>', 'local name of the new key (as in `keys create --org`)')
      .option('--existing', 'use the local key --new-key-org made before instead of creating one')
      .option('--member <memberId>', 'your organization (default: configured org)')
      .option('--key-org <name>', "the current admin key (default: the profile's key)")
      .option('--key-file <path>', 'the current admin key as a key file')
      .option('--wait', "wait until the chain executed the rotation, then switch this profile's key")
      .option('--timeout <seconds>', 'wait limit', String(WAIT_DEFAULT_SECONDS)),
  ).action(
    action<RotateOpts>(io, async (ctx, o, [cid]) => {
      const timeoutS = seconds('--timeout', o.timeout, WAIT_DEFAULT_SECONDS);
      const memberId = ctx.orgId(o.member);
      const old: OrgKey = ctx.signingKey(o);
      const api = ctx.api();
      const consortium = await api.get<{ chainId: string; status: string }>(`/v1/consortia/${enc(cid!)}`);
      if (consortium.status !== 'ACTIVE')
        throw new ConsortiaError(
          CliCodes.INVALID_STATE,
          `consortium ${cid} is ${consortium.status}: keys are rotated on its running chain; before its genesis is sealed, change the organization's keys (PATCH /v1/organizations/${memberId})`,
        );
      const fresh = await newKey(ctx, o);
      if (fresh.publicKey === toHex(old.publicKey))
        throw usage(`--new-key-org ${fresh.name} is the current admin key (${fresh.publicKey}); rotate to another key`);
      const newAdminKeys = [fromHex(fresh.publicKey, 32)];
      const payload = adminKeyEndorsementPayload(consortium.chainId, memberId, newAdminKeys);
      const signature = await old.signer.sign(domainMessage(Tags.ADMIN_KEY_ENDORSEMENT, payload));
      const endorsement = { adminKey: toHex(old.publicKey), signature: toHex(signature) };
      const created = await api.post<ReplacementProposal>(`/v1/consortia/${enc(cid!)}/proposals`, {
        action: { type: 'rotate_admin_keys', memberId, newAdminKeys: [fresh.publicKey], endorsement },
      });
      // Vote on what we built, never on a hash we were merely told.
      const hash = toHex(
        governanceActionHash({
          type: 'replace_admin_keys',
          memberId,
          newAdminKeys,
          endorsement: { adminKey: old.publicKey, signature },
        }),
      );
      if (hash !== created.actionHash)
        throw new ConsortiaError(
          CliCodes.INVALID_STATE,
          `proposal ${created.id} has action hash ${created.actionHash}, not the ${hash} of the rotation signed here; not voting`,
        );
      const url = `/v1/consortia/${enc(cid!)}/proposals/${enc(created.id)}`;
      let p = await api.post<ReplacementProposal>(
        `${url}/votes`,
        await signVote(old, memberId, consortium.chainId, created.id, hash, 'YES'),
      );
      if (o.wait) p = await waitExecuted(ctx, url, timeoutS);
      const switched = p.status === 'EXECUTED';
      if (switched) {
        requireExecutedReplacement(p, memberId, fresh.publicKey);
        switchProfileKey(ctx, fresh.name);
      }
      const next = switched
        ? undefined
        : `the other members vote (consortia vote ${cid} ${created.id} --yes); once it is EXECUTED run: ${switchStep(ctx, cid!, created.id, fresh.name)}`;
      printObject(io, ctx.json, {
        proposal: created.id,
        status: p.status,
        memberId,
        oldPublicKey: toHex(old.publicKey),
        newPublicKey: fresh.publicKey,
        newKeyOrg: fresh.name,
        backend: fresh.backend,
        keyFile: fresh.file,
        switched,
        ...(p.execution?.height !== undefined && switched ? { height: p.execution.height } : {}),
        ...(next ? { next } : {}),
      });
    }),
  );

  keys
    .command('switch')
    .description(
      "make the new key of an executed rotation or recovery this profile's signing key (checks the proposal executed and installed that key)",
    )
    .argument('<consortiumId>')
    .argument('<proposalId>')
    .requiredOption('--new-key-org <name>', 'local name of the new key')
    .option('--member <memberId>', 'your organization (default: configured org)')
    .action(
      action<{ newKeyOrg: string; member?: string }>(io, async (ctx, o, [cid, pid]) => {
        const k = loadOrgKey(ctx.home, o.newKeyOrg, ctx.io.env);
        const p = await ctx.api().get<ReplacementProposal>(`/v1/consortia/${enc(cid!)}/proposals/${enc(pid!)}`);
        requireExecutedReplacement(p, ctx.orgId(o.member), toHex(k.publicKey));
        const file = switchProfileKey(ctx, o.newKeyOrg);
        printObject(io, ctx.json, {
          proposal: p.id,
          keyOrg: o.newKeyOrg,
          publicKey: toHex(k.publicKey),
          profile: ctx.profile ?? null,
          config: file,
        });
      }),
    );

  const member = subcommand(program, 'member');
  backendOptions(
    member
      .command('recover-key')
      .description(
        'propose replacing the admin keys of a member that lost its key (recover_admin_keys): no endorsement; the other members vote, the member itself does not',
      )
      .argument('<consortiumId>')
      .option('--member <memberId>', 'the member whose key is lost (default: configured org)')
      .option('--new-admin-key <hex>', 'its new public key (32 bytes hex), when another member files the recovery')
      .option(
        '--new-key-org <name>',
        'create the new key on this machine under this local name (the member that lost its key)',
      )
      .option('--existing', 'use the local key --new-key-org made before instead of creating one'),
  ).action(
    action<RecoverOpts>(io, async (ctx, o, [cid]) => {
      if (Boolean(o.newAdminKey) === Boolean(o.newKeyOrg))
        throw usage(
          'give exactly one of --new-admin-key HEX (a key made elsewhere) or --new-key-org NAME (create it here)',
        );
      const memberId = ctx.orgId(o.member);
      const given = o.newAdminKey ? hexFlag('--new-admin-key', o.newAdminKey, 32) : undefined;
      const api = ctx.api();
      await api.get(`/v1/consortia/${enc(cid!)}`); // the consortium is visible before a key is made
      const fresh = given === undefined ? await newKey(ctx, o) : undefined;
      const publicKey = given ?? fresh!.publicKey;
      const p = await api.post<ReplacementProposal>(`/v1/consortia/${enc(cid!)}/proposals`, {
        action: { type: 'recover_admin_keys', memberId, newAdminKeys: [publicKey] },
      });
      printObject(io, ctx.json, {
        proposal: p.id,
        status: p.status,
        memberId,
        newPublicKey: publicKey,
        ...(fresh ? { newKeyOrg: fresh.name, backend: fresh.backend, keyFile: fresh.file } : {}),
        next: `the other members vote (consortia vote ${cid} ${p.id} --yes; ${memberId} does not vote)${fresh ? `; once it is EXECUTED run: ${switchStep(ctx, cid!, p.id, fresh.name)}` : ''}`,
      });
    }),
  );
}
