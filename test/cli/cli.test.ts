import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli, type CliIo } from '../../src/cli/index.js';
import { fromHex, toHex } from '../../src/chain/bytes.js';
import { governanceVotePayload } from '../../src/chain/governance.js';
import { genesisFromJSON, genesisHash } from '../../src/chain/genesis.js';
import { generateKeyPair, signProofOfPossession, Tags, verifyDomain } from '../../src/chain/keys.js';
import { appendEntry } from '../../src/control-plane/domain/transcript.js';
import type { TranscriptEntry } from '../../src/control-plane/domain/types.js';

// A fastify stub of the control-plane REST surface (docs/control-plane.md#rest-api): records requests, checks signatures.
interface Rec {
  method: string;
  url: string;
  body: unknown;
  auth?: string;
}
let app: FastifyInstance;
let base = '';
const requests: Rec[] = [];
const TOKEN = 'tok-admin';
const CHAIN = 'chain-c1';
const ACTION_HASH = 'ab'.repeat(32);
let nodePolls = 0;
let reportedGenesisHash = '';
const validator = generateKeyPair();
const genesisJson = {
  chainId: CHAIN,
  genesisTime: 1_700_000_000_000,
  params: {
    blockIntervalMs: 200,
    maxBlockBytes: 1 << 20,
    maxTxBytes: 65536,
    maxBlockTxs: 1000,
    votingPolicy: { thresholdPercentage: 50, thresholdComparator: 'GREATER_THAN', proposalDurationSeconds: 60 },
  },
  members: [] as { memberId: string; name: string; adminKeys: string[] }[],
  validators: [
    {
      memberId: 'org1',
      publicKey: toHex(validator.publicKey),
      power: 1,
      proofOfPossession: toHex(signProofOfPossession(CHAIN, validator.secretKey, validator.publicKey)),
    },
  ],
  nodes: [{ memberId: 'org1', publicKey: toHex(validator.publicKey), role: 'validator' }],
};
let transcript: TranscriptEntry[] = [];

beforeAll(async () => {
  app = Fastify();
  app.addHook('onRequest', async (req, reply) => {
    requests.push({ method: req.method, url: req.url, body: undefined, auth: req.headers.authorization });
    if (req.headers.authorization !== `Bearer ${TOKEN}`)
      return reply.code(401).send({ error: { code: 'UNAUTHENTICATED', message: 'bad token' } });
  });
  app.addHook('preHandler', async (req) => {
    requests[requests.length - 1]!.body = req.body;
  });
  app.get('/v1/organizations', async () => ({
    items: [{ id: 'org1', name: 'Acme', adminPublicKeys: ['aa'.repeat(32)], createdAt: 't' }],
    nextCursor: null,
  }));
  app.post('/v1/organizations', async (req, reply) => {
    const b = req.body as { name: string; adminPublicKeys: string[] };
    if (b.name === 'bad')
      return reply.code(400).send({
        error: { code: 'VALIDATION_FAILED', message: 'body/name must match pattern', details: { field: '/name' } },
      });
    return reply.code(201).send({ id: 'org9', ...b });
  });
  app.post('/v1/consortia', async (req, reply) =>
    reply.code(201).send({ id: 'c1', chainId: CHAIN, status: 'FORMING', ...(req.body as object) }),
  );
  app.get('/v1/consortia/c1', async () => ({
    id: 'c1',
    name: 'x',
    chainId: CHAIN,
    status: 'ACTIVE',
    founders: ['org1'],
    params: {},
    votingPolicy: {},
    members: [],
  }));
  app.get('/v1/consortia/c1/proposals/p1', async () => ({
    id: 'p1',
    status: 'IN_PROGRESS',
    action: { type: 'invite_member', orgId: 'org3' },
    actionHash: ACTION_HASH,
  }));
  app.post('/v1/consortia/c1/proposals/p1/votes', async (req, reply) => {
    const v = req.body as { memberId: string; vote: 'YES' | 'NO'; adminKey: string; signature: string };
    const ok = verifyDomain(
      Tags.GOV_VOTE,
      fromHex(v.adminKey, 32),
      governanceVotePayload(CHAIN, 'p1', fromHex(ACTION_HASH, 32), v.vote),
      fromHex(v.signature, 64),
    );
    if (!ok)
      return reply.code(400).send({ error: { code: 'VOTE_BAD_SIGNATURE', message: 'signature does not verify' } });
    return { id: 'p1', status: 'APPROVED', yesVotes: 1, noVotes: 0 };
  });
  app.post('/v1/consortia/c1/nodes', async (req, reply) =>
    reply.code(202).send({
      id: 'n1',
      orgId: 'org1',
      role: 'validator',
      clusterId: 'local',
      status: { phase: 'Pending', ready: false },
    }),
  );
  app.get('/v1/consortia/c1/nodes', async () => {
    nodePolls++;
    const phase = nodePolls >= 3 ? 'Running' : 'Provisioning';
    return {
      items: [
        {
          id: 'n1',
          orgId: 'org1',
          role: 'validator',
          clusterId: 'local',
          status: { phase, ready: false, ...(phase === 'Running' ? { identity: { publicKey: 'cd'.repeat(32) } } : {}) },
        },
      ],
      nextCursor: null,
    };
  });
  app.get('/v1/consortia/c1/ceremony', async () => ({
    status: 'AWAITING_APPROVALS',
    genesisHash: reportedGenesisHash,
    nodeIds: ['n1'],
    approvals: [],
    pendingApprovals: ['org1'],
    pendingNodes: [],
  }));
  app.get('/v1/consortia/c1/ceremony/genesis', async () => ({
    status: 'AWAITING_APPROVALS',
    genesisHash: reportedGenesisHash,
    sealedGenesis: { genesis: genesisJson, approvals: [] },
  }));
  app.post('/v1/consortia/c1/ceremony/approvals', async (req, reply) => {
    const a = req.body as { memberId: string; adminKey: string; signature: string };
    const ok = verifyDomain(
      Tags.GENESIS_APPROVAL,
      fromHex(a.adminKey, 32),
      fromHex(reportedGenesisHash, 32),
      fromHex(a.signature, 64),
    );
    if (!ok) return reply.code(400).send({ error: { code: 'APPROVAL_BAD_SIGNATURE', message: 'bad' } });
    return { status: 'SEALED', genesisHash: reportedGenesisHash, approvals: [a] };
  });
  app.get('/v1/consortia/c1/ceremony/transcript', async () => ({ entries: transcript }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});
afterAll(async () => {
  await app.close();
});

let home = '';
const homes: string[] = [];
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'consortia-cli-'));
  homes.push(home);
  requests.length = 0;
  nodePolls = 0;
});
afterAll(() => {
  for (const h of homes) rmSync(h, { recursive: true, force: true });
});

async function cli(
  args: string[],
  opts: { tty?: boolean; confirm?: boolean } = {},
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = {
    out: (t) => (out += t.endsWith('\n') ? t : t + '\n'),
    err: (t) => (err += t.endsWith('\n') ? t : t + '\n'),
    errRaw: (t) => (err += t),
    isTTY: opts.tty ?? false,
    env: {},
    homedir: home,
    confirm: async () => opts.confirm ?? false,
  };
  const code = await runCli(['--home', home, ...args], io);
  return { code, out, err };
}

async function login(): Promise<void> {
  const r = await cli(['login', '--api-url', base, '--token', TOKEN, '--org', 'org1', '--key-org', 'acme']);
  expect(r.code).toBe(0);
}

describe('consortia CLI', () => {
  it('login verifies the token, stores the config owner-only, and a bad token exits 3 naming the API code', async () => {
    const bad = await cli(['login', '--api-url', base, '--token', 'nope']);
    expect(bad.code).toBe(3);
    expect(bad.err).toContain('UNAUTHENTICATED');
    await login();
    const file = join(home, 'config.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ apiUrl: base, token: TOKEN, orgId: 'org1' });
    const shown = await cli(['config', 'show']);
    expect(shown.out).not.toContain(TOKEN);
  });

  it('keys create writes a 0600 key file, refuses to overwrite, and signing refuses a broader mode', async () => {
    const r = await cli(['--json', 'keys', 'create', '--org', 'acme']);
    expect(r.code).toBe(0);
    const { publicKey, file } = JSON.parse(r.out) as { publicKey: string; file: string };
    expect(publicKey).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const again = await cli(['keys', 'create', '--org', 'acme']);
    expect(again.code).toBe(1);
    expect(again.err).toContain('KEY_EXISTS');
    await login();
    chmodSync(file, 0o644);
    const vote = await cli(['vote', 'c1', 'p1', '--yes']);
    expect(vote.code).toBe(1);
    expect(vote.err).toContain('KEY_FILE_INSECURE');
    expect(requests.some((q) => q.url.endsWith('/votes'))).toBe(false);
  });

  it('org create registers the local public key and never sends the secret', async () => {
    const k = JSON.parse((await cli(['--json', 'keys', 'create', '--org', 'acme'])).out) as {
      publicKey: string;
      file: string;
    };
    const secret = (JSON.parse(readFileSync(k.file, 'utf8')) as { secretKey: string }).secretKey;
    await login();
    const r = await cli(['--json', 'org', 'create', '--name', 'Acme', '--key-org', 'acme']);
    expect(r.code).toBe(0);
    const sent = requests.find((q) => q.method === 'POST' && q.url === '/v1/organizations');
    expect(sent?.body).toEqual({ name: 'Acme', adminPublicKeys: [k.publicKey] });
    await cli(['vote', 'c1', 'p1', '--yes']);
    expect(JSON.stringify(requests)).not.toContain(secret);
  });

  it('an API validation error is printed with its code and field and exits 1', async () => {
    await login();
    const r = await cli(['org', 'create', '--name', 'bad', '--admin-key', 'aa'.repeat(32)]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('VALIDATION_FAILED');
    expect(r.err).toContain('/name');
  });

  it('bad flag values exit 2 naming the flag, before any request', async () => {
    await login();
    requests.length = 0;
    const r = await cli(['consortium', 'create', '--name', 'x', '--founders', 'org1', '--comparator', 'MOST']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--comparator');
    const r2 = await cli(['org', 'create', '--name', 'x', '--admin-key', 'xyz']);
    expect(r2.code).toBe(2);
    expect(r2.err).toContain('--admin-key');
    const r3 = await cli(['vote', 'c1', 'p1']);
    expect(r3.code).toBe(2);
    expect(requests).toHaveLength(0);
  });

  it('consortium create sends params and voting policy', async () => {
    await login();
    const r = await cli([
      '--json',
      'consortium',
      'create',
      '--name',
      'trade',
      '--founders',
      'org1,org2',
      '--block-interval-ms',
      '200',
      '--threshold',
      '66',
      '--comparator',
      'GREATER_THAN_OR_EQUAL_TO',
      '--proposal-duration',
      '30',
    ]);
    expect(r.code).toBe(0);
    expect(requests.at(-1)?.body).toEqual({
      name: 'trade',
      founders: ['org1', 'org2'],
      params: { blockIntervalMs: 200, maxBlockBytes: 1048576 },
      votingPolicy: {
        thresholdPercentage: 66,
        thresholdComparator: 'GREATER_THAN_OR_EQUAL_TO',
        proposalDurationSeconds: 30,
      },
    });
    expect(JSON.parse(r.out)).toMatchObject({ id: 'c1', chainId: CHAIN });
  });

  it('vote signs the chain governance payload client-side (verified with node:crypto by the stub)', async () => {
    await cli(['keys', 'create', '--org', 'acme']);
    await login();
    const r = await cli(['--json', 'vote', 'c1', 'p1', '--yes']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ status: 'APPROVED' });
    expect(requests.find((q) => q.url.endsWith('/votes'))?.body).toMatchObject({ memberId: 'org1', vote: 'YES' });
  });

  it('ceremony approve recomputes the genesis hash, signs it, and refuses a hash that does not match', async () => {
    await cli(['keys', 'create', '--org', 'acme']);
    await login();
    reportedGenesisHash = 'ee'.repeat(32);
    const wrong = await cli(['ceremony', 'approve', 'c1', '--yes']);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toContain('GENESIS_HASH_MISMATCH');
    expect(requests.some((q) => q.url.endsWith('/approvals'))).toBe(false);
    reportedGenesisHash = toHex(genesisHash(genesisFromJSON(genesisJson)));
    const declined = await cli(['ceremony', 'approve', 'c1'], { confirm: false });
    expect(declined.code).toBe(1);
    expect(declined.err).toContain(reportedGenesisHash); // shown before asking
    const ok = await cli(['--json', 'ceremony', 'approve', 'c1', '--yes']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({ status: 'SEALED' });
  });

  it('transcript verify accepts the hash chain and rejects a tampered entry', async () => {
    await login();
    transcript = appendEntry(appendEntry([], 'ceremony_started', 't0', { nodes: ['n1'] }), 'sealed', 't1', {
      genesisHash: 'aa',
    });
    const file = join(home, 't.json');
    expect((await cli(['ceremony', 'transcript', 'download', 'c1', '-o', file])).code).toBe(0);
    const ok = await cli(['ceremony', 'transcript', 'verify', file]);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('transcript OK: 2 entries');
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { entries: TranscriptEntry[] };
    doc.entries[0]!.data = { nodes: ['evil'] };
    writeFileSync(file, JSON.stringify(doc));
    const bad = await cli(['ceremony', 'transcript', 'verify', file]);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('TRANSCRIPT_INVALID');
    expect((await cli(['ceremony', 'transcript', 'verify', '--consortium', 'c1'])).code).toBe(0);
  });

  it('node create --wait prints plain progress lines off a TTY and a bar on a TTY', async () => {
    await login();
    const r = await cli(['node', 'create', 'c1', '--wait', '--timeout', '20']);
    expect(r.code).toBe(0);
    expect(r.err).toContain('nodes provisioned: 0/1');
    expect(r.err).not.toContain('\r');
    expect(r.out).toMatch(/n1\s+org1\s+validator\s+Running/);
    nodePolls = 0;
    const t = await cli(['node', 'wait', 'c1'], { tty: true });
    expect(t.code).toBe(0);
    expect(t.err).toContain('\r[');
    expect(t.err).toContain('1 node(s) provisioned');
  });

  it('lists print a table or JSON', async () => {
    await login();
    const table = await cli(['org', 'list']);
    expect(table.out.split('\n')[0]).toMatch(/^ID\s+NAME\s+ADMIN KEYS\s+CREATED$/);
    expect(table.out).toContain('Acme');
    const json = await cli(['--json', 'org', 'list']);
    expect(JSON.parse(json.out)).toEqual([
      { id: 'org1', name: 'Acme', adminPublicKeys: ['aa'.repeat(32)], createdAt: 't' },
    ]);
  });

  it('an unreachable API is reported with its URL', async () => {
    const r = await cli(['--api-url', 'http://127.0.0.1:1', '--token', 'x', 'org', 'list']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('API_UNREACHABLE');
    expect(r.err).toContain('http://127.0.0.1:1');
  });
});
