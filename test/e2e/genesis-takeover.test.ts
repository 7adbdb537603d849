/**
 * Genesis takeover, attacked from outside with real processes (control plane + local runtime + chain
 * nodes on loopback). A node in key-generation mode serves its public key and proof of possession to
 * anyone; an outsider builds a self-consistent one-member sealed genesis around it and PUTs it before
 * the real ceremony. Without the admin credential that only the node's runtime delivered to it, the
 * node refuses (401, logged, counted); even with it, a genesis that is not its consortium's is refused.
 * The real ceremony then works. Finally a node whose data directory holds that foreign genesis
 * refuses to start (exit code 3) and the control plane reports GENESIS_MISMATCH instead of Running,
 * until the data directory is repaired.
 */
import { existsSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_PARAMS,
  fromHex,
  generateKeyPair,
  sealedGenesisToJSON,
  signGenesisApproval,
  type Genesis,
} from '../../src/chain/index.js';
import { ChainStore } from '../../src/node/store/index.js';
import { builtArtifactsPresent, startControlPlane, type ControlPlane } from '../harness/cp-harness.js';
import { client, createOrg, signedApproval, waitFor, type Call, type OrgHandle } from '../harness/cp-api.js';

const present = builtArtifactsPresent();

/** Generous bounds for conditions on 2 shared cores (never fixed sleeps). */
const PROVISION_TIMEOUT_MS = 90_000;
const CHAIN_TIMEOUT_MS = 90_000;
const STATUS_TIMEOUT_MS = 60_000;

interface Identity {
  publicKey: string;
  proofOfPossession: string;
  chainId: string;
}

/** What an outsider can build from a node's public identity alone: its own member, the node as the only validator. */
function takeoverGenesis(id: Identity): unknown {
  const mallory = generateKeyPair();
  const genesis: Genesis = {
    chainId: id.chainId,
    genesisTime: Date.now(),
    params: { ...DEFAULT_PARAMS, blockIntervalMs: 200 },
    members: [{ memberId: 'mallory', name: 'Mallory Ltd', adminKeys: [mallory.publicKey] }],
    validators: [
      {
        memberId: 'mallory',
        publicKey: fromHex(id.publicKey),
        power: 1,
        proofOfPossession: fromHex(id.proofOfPossession),
      },
    ],
    nodes: [{ memberId: 'mallory', publicKey: fromHex(id.publicKey), role: 'validator' }],
    accounts: [],
  };
  return sealedGenesisToJSON({
    genesis,
    approvals: [signGenesisApproval(genesis, 'mallory', mallory.secretKey, mallory.publicKey)],
  });
}

async function fetchJson(url: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const r = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await r.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    /* keep text */
  }
  return { status: r.status, body };
}

describe.skipIf(!present)('control plane e2e: genesis takeover of a key-generation node', () => {
  let cp: ControlPlane;
  let admin: Call;
  let a: OrgHandle;
  let b: OrgHandle;
  let cid = '';
  let nodeIds: string[] = [];
  const identities = new Map<string, Identity>();
  const apis = new Map<string, string>();
  const nodeDir = (nodeId: string) => join(cp.nodesDir, cid, nodeId);

  beforeAll(async () => {
    cp = await startControlPlane({ hostRange: { first: 60, last: 99 } });
    admin = client(cp.url, cp.token);
  });
  afterAll(async () => {
    await cp?.shutdown();
  });

  it('provisions four validators in key-generation mode; each gets its own admin credential, only in a 0600 file', async () => {
    a = await createOrg(admin, cp.url, 'acme');
    b = await createOrg(admin, cp.url, 'globex');
    const created = await a.call('POST', '/v1/consortia', {
      name: 'takeover',
      founders: [a.id, b.id],
      params: { blockIntervalMs: 200, maxBlockBytes: 1 << 20 },
      votingPolicy: { thresholdPercentage: 50, thresholdComparator: 'GREATER_THAN', proposalDurationSeconds: 60 },
    });
    expect(created.status).toBe(201);
    cid = created.body.id;
    for (const org of [a, a, b, b]) {
      const r = await org.call('POST', `/v1/consortia/${cid}/nodes`, {
        orgId: org.id,
        role: 'validator',
        clusterId: 'local',
      });
      expect(r.status).toBe(202);
      nodeIds.push(r.body.id);
    }
    const nodes = await waitFor(
      'keys reported',
      async () => {
        const r = await a.call('GET', `/v1/consortia/${cid}/nodes`);
        const items = r.body.items as any[];
        return items.length === 4 && items.every((n) => n.status.identity?.verified && n.status.endpoints?.api)
          ? items
          : undefined;
      },
      PROVISION_TIMEOUT_MS,
      250,
    );
    for (const n of nodes) apis.set(n.id, n.status.endpoints.api);
    const tokens = new Set<string>();
    for (const id of nodeIds) {
      const file = join(nodeDir(id), 'admin-token');
      await waitFor(`admin token of ${id}`, async () => existsSync(file), 10_000);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const token = readFileSync(file, 'utf8');
      tokens.add(token);
      expect(readFileSync(join(nodeDir(id), 'node.json'), 'utf8')).not.toContain(token);
      // the control plane never shows it
      expect(JSON.stringify((await a.call('GET', `/v1/consortia/${cid}/nodes/${id}`)).body)).not.toContain(token);
    }
    expect(tokens.size).toBe(4);
  });

  it("refuses an outsider's one-member genesis without, or with a wrong, credential: 401, logged, counted", async () => {
    const victim = nodeIds[0]!;
    const api = apis.get(victim)!;
    const id = (await fetchJson(`${api}/v1/identity`)).body as Identity;
    identities.set(victim, id);
    const forged = JSON.stringify(takeoverGenesis(id));
    const put = (headers: Record<string, string>) =>
      fetchJson(`${api}/v1/genesis`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', ...headers },
        body: forged,
      });
    const wrong = 'cna_' + 'W'.repeat(43);
    const refused = async (headers: Record<string, string>, reason: string): Promise<void> => {
      const r = await put(headers);
      expect(r.status, JSON.stringify(r.body)).toBe(401);
      expect(r.body.error).toMatchObject({ code: 'UNAUTHORIZED', details: { reason } });
    };
    await refused({}, 'missing');
    await refused({ authorization: `Bearer ${wrong}` }, 'invalid');
    await refused({ authorization: `Basic ${Buffer.from(`admin:${wrong}`).toString('base64')}` }, 'malformed');
    const otherNodesToken = readFileSync(join(nodeDir(nodeIds[1]!), 'admin-token'), 'utf8'); // a real credential, of another node
    await refused({ authorization: `Bearer ${otherNodesToken}` }, 'invalid');
    expect((await fetchJson(`${api}/v1/status`)).body.genesisInstalled).toBe(false);
    const metrics = (await fetch(`${api}/metrics`)).text();
    expect(await metrics).toMatch(/consortia_node_api_unauthorized_total\{reason="invalid"\} 2/);
    const log = await waitFor(
      'refusals in the node log',
      async () => {
        const text = readFileSync(join(nodeDir(victim), 'node.log'), 'utf8');
        return (text.match(/admin-credential-refused/g) ?? []).length >= 4 ? text : undefined;
      },
      10_000,
    );
    expect(log).not.toContain(wrong);
    expect(log).not.toContain(otherNodesToken);
  });

  it("refuses it even with the node's own credential: not the genesis of the consortium it was provisioned for", async () => {
    const victim = nodeIds[0]!;
    const token = readFileSync(join(nodeDir(victim), 'admin-token'), 'utf8');
    const r = await fetchJson(`${apis.get(victim)!}/v1/genesis`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(takeoverGenesis(identities.get(victim)!)),
    });
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('GENESIS_MISMATCH');
    expect((await fetchJson(`${apis.get(victim)!}/v1/status`)).body.genesisInstalled).toBe(false);
  });

  it("the real ceremony still works: every validator runs the consortium's genesis and finalizes blocks", async () => {
    expect((await a.call('POST', `/v1/consortia/${cid}/ceremony`)).status).toBe(202);
    const cer = await waitFor(
      'genesis assembled',
      async () => {
        const r = await a.call('GET', `/v1/consortia/${cid}/ceremony`);
        return r.body.status === 'AWAITING_APPROVALS' ? r.body : undefined;
      },
      PROVISION_TIMEOUT_MS,
    );
    expect(
      (await a.call('POST', `/v1/consortia/${cid}/ceremony/approvals`, signedApproval(a, cer.genesisHash))).status,
    ).toBe(200);
    const done = await b.call('POST', `/v1/consortia/${cid}/ceremony/approvals`, signedApproval(b, cer.genesisHash));
    expect(done.body.status).toBe('SEALED');
    const nodes = await waitFor(
      'validators ready',
      async () => {
        const r = await a.call('GET', `/v1/consortia/${cid}/nodes`);
        const items = r.body.items as any[];
        return items.length === 4 && items.every((n) => n.status.ready) ? items : undefined;
      },
      CHAIN_TIMEOUT_MS,
      500,
    );
    for (const n of nodes) apis.set(n.id, n.status.endpoints.api);
    await waitFor(
      'blocks finalized on every validator',
      async () => {
        const hs = await Promise.all(
          nodeIds.map(
            async (id) => (await fetchJson(`${apis.get(id)!}/v1/status`).catch(() => undefined))?.body?.height ?? 0,
          ),
        );
        return hs.every((h) => h >= 2) || undefined;
      },
      CHAIN_TIMEOUT_MS,
    );
    for (const id of nodeIds) {
      expect((await fetchJson(`${apis.get(id)!}/v1/genesis`)).body.genesisHash).toBe(cer.genesisHash);
      // the node was provisioned with exactly this genesis
      expect(JSON.parse(readFileSync(join(nodeDir(id), 'node.json'), 'utf8')).expectedGenesis).toEqual({
        hash: cer.genesisHash,
      });
    }
  });

  it('a node whose data directory holds a foreign genesis refuses to start, and the control plane reports GENESIS_MISMATCH, not Running', async () => {
    const victim = nodeIds[3]!;
    const dataDir = join(nodeDir(victim), 'data');
    const id = (await fetchJson(`${apis.get(victim)!}/v1/identity`)).body as Identity;
    const pid = (JSON.parse(readFileSync(join(nodeDir(victim), 'node.pid'), 'utf8')) as { pid: number }).pid;
    // Freeze it, put the outsider's genesis where its chain store was (as if installed before the
    // ceremony, or a wrong backup restored), then kill it: its supervisor restarts it on that directory.
    process.kill(pid, 'SIGSTOP');
    renameSync(join(dataDir, 'chain'), join(dataDir, 'chain.real'));
    const foreign = await ChainStore.open(join(dataDir, 'chain'));
    await foreign.putGenesisJson(JSON.stringify(takeoverGenesis(id)));
    await foreign.close();
    process.kill(pid, 'SIGKILL');

    const node = await waitFor(
      'GENESIS_MISMATCH reported',
      async () => {
        const r = await a.call('GET', `/v1/consortia/${cid}/nodes/${victim}`);
        return r.body.status.phase === 'Failed' && /^GENESIS_MISMATCH: /.test(r.body.status.message ?? '')
          ? r.body
          : undefined;
      },
      STATUS_TIMEOUT_MS,
      250,
    );
    expect(node.status.ready).toBe(false);
    expect(node.status.message).toMatch(/data directory holds genesis [0-9a-f]{64}.*not the configured genesis/);
    const log = readFileSync(join(nodeDir(victim), 'node.log'), 'utf8');
    const fatal = log.split('\n').filter((l) => l.includes('"msg":"fatal"') && l.includes('GENESIS_MISMATCH'));
    expect(fatal.length).toBeGreaterThan(0);
    // it stays reported while its supervisor keeps retrying, and it never serves the foreign chain
    for (let i = 0; i < 5; i++) {
      const r = await a.call('GET', `/v1/consortia/${cid}/nodes/${victim}`);
      expect(r.body.status.phase).not.toBe('Running');
      await new Promise((res) => setTimeout(res, 300));
    }
    // the other three keep the chain going
    const h0 = (await fetchJson(`${apis.get(nodeIds[0]!)!}/v1/status`)).body.height as number;
    await waitFor(
      'chain advances without the refused node',
      async () => (await fetchJson(`${apis.get(nodeIds[0]!)!}/v1/status`)).body.height > h0 + 2 || undefined,
      CHAIN_TIMEOUT_MS,
    );

    // repaired data directory: the node comes back on its own and is reported Running and ready again
    renameSync(join(dataDir, 'chain'), join(dataDir, 'chain.foreign'));
    renameSync(join(dataDir, 'chain.real'), join(dataDir, 'chain'));
    await waitFor(
      'node running again',
      async () => {
        const r = await a.call('GET', `/v1/consortia/${cid}/nodes/${victim}`);
        return r.body.status.phase === 'Running' && r.body.status.ready ? r.body : undefined;
      },
      CHAIN_TIMEOUT_MS,
      500,
    );
  });
});
