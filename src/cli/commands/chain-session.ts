import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { fetch as undiciFetch } from 'undici';
import { tlsDispatcher } from '../../lib/tls-client.js';
import { ConsortiaClient, toHex, type FetchLike, type Signer, type TrustState } from '../../sdk/index.js';
import { requireApi } from '../config-store.js';
import type { Ctx } from '../context.js';
import { usage } from '../errors.js';
import { hexFlag } from '../parse.js';

/** Options every chain command takes (which chain, which key). */
export interface ChainOpts {
  consortium?: string;
  genesisHash?: string;
  keyOrg?: string;
  keyFile?: string;
}

export function withChainOptions(c: Command, signs: boolean): Command {
  c.option('--consortium <id>', 'consortium whose chain to use (default: configured consortiumId)').option(
    '--genesis-hash <hex>',
    'pin the genesis you trust (default: the one pinned at first use, kept in <home>/trust/)',
  );
  if (signs)
    c.option('--key-org <name>', 'signing key keys/<name>.key (default: configured keyOrg)').option(
      '--key-file <path>',
      'signing key file',
    );
  return c;
}

function trustFile(home: string, cid: string): string {
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(cid)) throw usage(`--consortium ${JSON.stringify(cid)} is not a consortium id`);
  return join(home, 'trust', `${cid}.json`);
}

function readTrust(file: string): TrustState | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as TrustState;
  } catch {
    return undefined; // none yet (or unreadable): verify from the sealed genesis again
  }
}

/**
 * A verified client of the consortium's chain. Node endpoints and the sealed genesis come from
 * the control plane; the genesis hash is pinned at first use (or by --genesis-hash) and the
 * verified header chain is kept in <home>/trust/<consortium>.json, so later runs resume from it.
 */
export async function openChain(ctx: Ctx, o: ChainOpts): Promise<{ client: ConsortiaClient; save(): void }> {
  const cid = o.consortium ?? ctx.config.consortiumId;
  if (!cid) throw usage('no consortium given: pass --consortium ID (or `consortia config set consortiumId ID`)');
  const file = trustFile(ctx.home, cid);
  const saved = readTrust(file);
  const pinned = o.genesisHash !== undefined ? hexFlag('--genesis-hash', o.genesisHash, 32) : saved?.genesisHash;
  const { apiUrl, token } = requireApi(ctx.config);
  // the control plane is reached with the same TLS trust as every other command (--ca / --tls-fingerprint)
  const tls = ctx.trust();
  const dispatcher = tls.caFile !== undefined || tls.fingerprint !== undefined ? tlsDispatcher(tls) : undefined;
  const cpFetch: FetchLike | undefined = dispatcher
    ? (url, init) => undiciFetch(url, { ...(init as object), dispatcher }) as unknown as Promise<Response>
    : undefined;
  const client = await ConsortiaClient.connect({
    controlPlane: { url: apiUrl, token, fetch: cpFetch },
    consortiumId: cid,
    genesisHash: pinned,
    trust: saved,
  });
  return {
    client,
    save: () => {
      mkdirSync(join(ctx.home, 'trust'), { recursive: true, mode: 0o700 });
      writeFileSync(`${file}.tmp`, JSON.stringify(client.trustState()) + '\n');
      renameSync(`${file}.tmp`, file);
    },
  };
}

/** The genesis hash pinned for the consortium on this machine (offline: no network), if any. */
export function pinnedGenesis(ctx: Ctx, consortium?: string): string | undefined {
  const cid = consortium ?? ctx.config.consortiumId;
  return cid ? readTrust(trustFile(ctx.home, cid))?.genesisHash : undefined;
}

/** The organization's signing key as a Signer (the SDK's key-custody seam). */
export function signerOf(ctx: Ctx, o: ChainOpts): Signer & { publicKeyHex: string } {
  const key = ctx.signingKey(o);
  return { publicKey: key.publicKey, sign: (m) => key.signer.sign(m), publicKeyHex: toHex(key.publicKey) };
}

/** JSON-safe view of SDK values (bigint -> decimal string, bytes -> hex). */
export function plain(v: unknown): unknown {
  return JSON.parse(
    JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString(10) : x instanceof Uint8Array ? toHex(x) : x)),
  );
}
