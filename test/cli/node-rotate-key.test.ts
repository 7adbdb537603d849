import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliIo } from '../../src/cli/index.js';

// A stub of the control plane's proposal route: `consortia node rotate-key` files the proposal
// (the control plane asks the node for its key) and prints what to do next.
const TOKEN = 'tok-rotate';
const OLD = 'aa'.repeat(32);
const NEW = 'bb'.repeat(32);
let app: FastifyInstance;
let base = '';
const bodies: unknown[] = [];
let home = '';

beforeAll(async () => {
  app = Fastify();
  app.get('/v1/organizations', async () => ({ items: [], nextCursor: null }));
  app.post('/v1/consortia/c1/proposals', async (req, reply) => {
    bodies.push(req.body);
    const a = (req.body as { action: { nodeId: string } }).action;
    if (a.nodeId !== 'node_v')
      return reply.code(400).send({
        error: { code: 'INVALID_ACTION', message: `node ${a.nodeId} not found`, details: { field: 'action.nodeId' } },
      });
    return reply.code(201).send({
      id: 'prop_1',
      status: 'IN_PROGRESS',
      actionHash: 'cd'.repeat(32),
      expiresAt: '2026-12-08T00:00:00.000Z',
      action: a,
      chainAction: {
        type: 'rotate_validator_key',
        oldPublicKey: OLD,
        newPublicKey: NEW,
        proofOfPossession: 'ee'.repeat(64),
      },
    });
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  home = mkdtempSync(join(tmpdir(), 'consortia-cli-rotate-'));
});
afterAll(async () => {
  await app.close();
  rmSync(home, { recursive: true, force: true });
});

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = {
    out: (t) => (out += t.endsWith('\n') ? t : t + '\n'),
    err: (t) => (err += t.endsWith('\n') ? t : t + '\n'),
    errRaw: (t) => (err += t),
    isTTY: false,
    env: {},
    homedir: home,
    confirm: async () => false,
  };
  const code = await runCli(['--home', home, ...args], io);
  return { code, out, err };
}

describe('consortia node rotate-key', () => {
  it('files a rotate_validator_key proposal for the node and prints the keys and the next step', async () => {
    expect((await cli(['login', '--api-url', base, '--token', TOKEN, '--org', 'org1'])).code).toBe(0);
    const r = await cli(['node', 'rotate-key', 'c1', 'node_v']);
    expect(r.code).toBe(0);
    expect(bodies.at(-1)).toEqual({ action: { type: 'rotate_validator_key', nodeId: 'node_v' } });
    expect(r.out).toContain('prop_1');
    expect(r.out).toContain(OLD);
    expect(r.out).toContain(NEW);
    expect(r.out).toContain('consortia vote c1 prop_1 --yes');
    const j = await cli(['--json', 'node', 'rotate-key', 'c1', 'node_v']);
    expect(JSON.parse(j.out).chainAction.newPublicKey).toBe(NEW);
  });

  it('reports the API code of a refused rotation and exits non-zero', async () => {
    const r = await cli(['node', 'rotate-key', 'c1', 'node_x']);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('INVALID_ACTION');
  });
});
