/** REST helpers for control-plane e2e tests: raw status + body, no client-side magic. */
import { fetch as undiciFetch, type Dispatcher } from 'undici';
import { fromHex, toHex } from '../../src/chain/bytes.js';
import { governanceVotePayload } from '../../src/chain/governance.js';
import { generateKeyPair, signDomain, Tags, type KeyPair } from '../../src/chain/keys.js';

export interface Reply<T = any> {
  status: number;
  body: T;
}

/** `dispatcher` (undici): how to trust an HTTPS control plane (e.g. test/harness/kube-cluster/platform.ts); without it the global fetch. */
export function client(baseUrl: string, token: string, dispatcher?: Dispatcher) {
  return async function call<T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Reply<T>> {
    const init = {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(20_000),
    };
    const res = dispatcher
      ? await undiciFetch(baseUrl + path, { ...init, dispatcher })
      : await fetch(baseUrl + path, init);
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* keep text */
    }
    return { status: res.status, body: parsed as T };
  };
}
export type Call = ReturnType<typeof client>;

export async function waitFor<T>(
  label: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs: number,
  everyMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(
    `timed out after ${timeoutMs}ms waiting for ${label}${lastErr ? ` (last error: ${(lastErr as Error).message})` : ''}`,
  );
}

export interface OrgHandle {
  id: string;
  name: string;
  key: KeyPair;
  token: string;
  call: Call;
}

/** Creates an organization with a fresh admin key and an org-admin token for it. */
export async function createOrg(
  admin: Call,
  baseUrl: string,
  name: string,
  dispatcher?: Dispatcher,
): Promise<OrgHandle> {
  const key = generateKeyPair();
  return { ...(await createOrgWithAdminKey(admin, baseUrl, name, key.publicKey, dispatcher)), key };
}

/** Creates an organization whose admin key is `adminKey` (held elsewhere, e.g. in a token) and an org-admin token for it. */
export async function createOrgWithAdminKey(
  admin: Call,
  baseUrl: string,
  name: string,
  adminKey: Uint8Array,
  dispatcher?: Dispatcher,
): Promise<Omit<OrgHandle, 'key'>> {
  const org = await admin('POST', '/v1/organizations', { name, adminPublicKeys: [toHex(adminKey)] });
  if (org.status !== 201) throw new Error(`create org ${name}: ${org.status} ${JSON.stringify(org.body)}`);
  const tok = await admin('POST', `/v1/organizations/${org.body.id}/tokens`, {
    name: `${name}-admin`,
    role: 'org-admin',
  });
  if (tok.status !== 201) throw new Error(`create token for ${name}: ${tok.status} ${JSON.stringify(tok.body)}`);
  return { id: org.body.id, name, token: tok.body.token, call: client(baseUrl, tok.body.token, dispatcher) };
}

export function signedVote(
  org: OrgHandle,
  chainId: string,
  proposalId: string,
  actionHash: string,
  vote: 'YES' | 'NO',
) {
  const sig = signDomain(
    Tags.GOV_VOTE,
    org.key.secretKey,
    governanceVotePayload(chainId, proposalId, fromHex(actionHash, 32), vote),
  );
  return { memberId: org.id, vote, adminKey: toHex(org.key.publicKey), signature: toHex(sig) };
}

export function signedApproval(org: OrgHandle, genesisHash: string) {
  return {
    memberId: org.id,
    adminKey: toHex(org.key.publicKey),
    signature: toHex(signDomain(Tags.GENESIS_APPROVAL, org.key.secretKey, fromHex(genesisHash, 32))),
  };
}

/** Every live pid whose command line names a node config under nodesDir (duplicates would show here). */
export async function nodeProcessesUnder(nodesDir: string): Promise<Map<string, number[]>> {
  const { readdirSync, readFileSync } = await import('node:fs');
  const byConfig = new Map<string, number[]>();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      continue;
    }
    const m = cmd.match(/--config (\S+)/);
    if (!m || !m[1]!.startsWith(nodesDir)) continue;
    byConfig.set(m[1]!, [...(byConfig.get(m[1]!) ?? []), Number(pid)]);
  }
  return byConfig;
}

export { generateKeyPair, toHex };
