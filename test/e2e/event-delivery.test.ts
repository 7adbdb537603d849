/**
 * Webhook event delivery end to end: a real control plane (local runtime, four validators) delivers
 * blocks, an account's txs, an asset's movements, anchors and control-plane changes to a real HTTPS
 * receiver while the control plane is SIGKILLed and restarted on the same data dir and one node is
 * SIGKILLed (and restarted by the runtime). Every event arrives, in order per subscription, in
 * signed batches (`{"events":[...]}`), exactly once after dedupe by event id; a receiver that always
 * answers 500 fills the dead-letter list.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTx, signTx, type TxBody } from '../../src/chain/tx.js';
import { builtArtifactsPresent, startControlPlane, type ControlPlane } from '../harness/cp-harness.js';
import {
  client,
  createOrg,
  generateKeyPair,
  nodeProcessesUnder,
  signedApproval,
  toHex,
  waitFor,
  type Call,
  type OrgHandle,
} from '../harness/cp-api.js';
import { startWebhookReceiver, type Received, type WebhookReceiver } from '../harness/webhook-receiver.js';

const present = builtArtifactsPresent();

/** Events a subscription must get: [event id, sort position]. */
type Expected = Map<string, string[]>;

describe.skipIf(!present)('webhook event delivery across control-plane and node crashes', () => {
  let cp: ControlPlane;
  let rx: WebhookReceiver;
  let admin: Call;
  let a: OrgHandle;
  let b: OrgHandle;
  let cid = '';
  let chainId = '';
  let apis: string[] = [];
  const alice = generateKeyPair();
  const bob = generateKeyPair();
  const nonces = new Map<string, number>();
  const subs: Record<string, string> = {};
  const expected: Expected = new Map();
  let fromHeight = 0;
  let lastHeight = 0;
  let caFile = '';

  beforeAll(async () => {
    rx = await startWebhookReceiver();
    caFile = join(tmpdir(), `webhook-ca-${process.pid}-${Date.now()}.pem`);
    writeFileSync(caFile, rx.cert);
    cp = await startControlPlane({
      hostRange: { first: 30, last: 59 },
      config: {
        tls: { mode: 'off' },
        webhooks: { caFile, maxAttempts: 3, backoffBaseMs: 200, backoffMaxMs: 1000, pollIntervalMs: 200 },
      },
    });
    admin = client(cp.url, cp.token);
  }, 60_000);
  afterAll(async () => {
    await cp?.shutdown();
    await rx?.close();
    if (caFile) rmSync(caFile, { force: true });
  });

  async function nodeJson(base: string, path: string): Promise<any> {
    const r = await fetch(base + path, { signal: AbortSignal.timeout(5000) });
    return r.ok ? r.json() : undefined;
  }

  /** Submits on the first node that takes it, waits for commit, records the txs expected per subscription. */
  async function submit(who: typeof alice, body: TxBody, expectFor: string[]): Promise<void> {
    const key = toHex(who.publicKey);
    const nonce = nonces.get(key) ?? 0;
    const hex = toHex(encodeTx(signTx({ chainId, signer: who.publicKey, nonce, body }, who.secretKey)));
    const res = await waitFor(
      'tx committed',
      async () => {
        for (const api of apis) {
          try {
            const r = await fetch(`${api}/v1/txs?wait=commit&timeoutMs=10000`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ tx: hex }),
              signal: AbortSignal.timeout(15_000),
            });
            const j = (await r.json()) as any;
            if (j.status === 'committed') return j;
          } catch {
            /* node down: next */
          }
        }
        return undefined;
      },
      60_000,
      200,
    );
    expect(res.code).toBe('OK');
    nonces.set(key, nonce + 1);
    lastHeight = Math.max(lastHeight, res.height);
    for (const kind of expectFor) expected.get(kind)!.push(`${res.height}:${res.index}:${kind}`);
  }

  const subscribe = async (name: string, filter: object, extra: object = {}) => {
    const r = await a.call('POST', `/v1/consortia/${cid}/subscriptions`, { url: rx.url, filter, ...extra });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    subs[name] = r.body.id;
    rx.secrets.set(r.body.id, r.body.secret);
    expected.set(name, []);
  };

  it('runs a four-validator consortium', async () => {
    a = await createOrg(admin, cp.url, 'acme');
    b = await createOrg(admin, cp.url, 'globex');
    const created = await a.call('POST', '/v1/consortia', {
      name: 'events',
      founders: [a.id, b.id],
      params: { blockIntervalMs: 200, maxBlockBytes: 1 << 20 },
      votingPolicy: { thresholdPercentage: 50, thresholdComparator: 'GREATER_THAN', proposalDurationSeconds: 600 },
    });
    expect(created.status).toBe(201);
    cid = created.body.id;
    chainId = created.body.chainId;
    for (const org of [a, a, b, b])
      expect(
        (await org.call('POST', `/v1/consortia/${cid}/nodes`, { orgId: org.id, role: 'validator', clusterId: 'local' }))
          .status,
      ).toBe(202);
    expect((await a.call('POST', `/v1/consortia/${cid}/ceremony`)).status).toBe(202);
    const cer = await waitFor(
      'genesis assembled',
      async () => {
        const r = await a.call('GET', `/v1/consortia/${cid}/ceremony`);
        return r.body.status === 'AWAITING_APPROVALS' ? r.body : undefined;
      },
      90_000,
    );
    expect(
      (await a.call('POST', `/v1/consortia/${cid}/ceremony/approvals`, signedApproval(a, cer.genesisHash))).status,
    ).toBe(200);
    expect(
      (await b.call('POST', `/v1/consortia/${cid}/ceremony/approvals`, signedApproval(b, cer.genesisHash))).body.status,
    ).toBe('SEALED');
    const nodes = await waitFor(
      'validators ready',
      async () => {
        const items = (await a.call('GET', `/v1/consortia/${cid}/nodes`)).body.items as any[];
        return items.length === 4 && items.every((n) => n.status.ready) ? items : undefined;
      },
      120_000,
      500,
    );
    apis = nodes.map((n) => n.status.endpoints.api);
    const h = await waitFor(
      'blocks finalized',
      async () => {
        const s = await nodeJson(apis[0]!, '/v1/status');
        return s?.height >= 2 ? (s.height as number) : undefined;
      },
      60_000,
    );
    fromHeight = h + 1;
  }, 300_000);

  it('subscribes, and delivers through a control-plane SIGKILL and a node SIGKILL', async () => {
    const A = toHex(alice.publicKey);
    const B = toHex(bob.publicKey);
    await subscribe('blocks', { kind: 'blocks' }, { fromHeight });
    await subscribe('account_txs', { kind: 'account_txs', account: B }, { fromHeight });
    await subscribe('asset_movements', { kind: 'asset_movements', asset: 'PTS' }, { fromHeight });
    await subscribe('anchors', { kind: 'anchors' }, { fromHeight });
    await subscribe('control_plane', { kind: 'control_plane' });
    await subscribe('dead', { kind: 'blocks' }, { fromHeight });
    rx.answer.set(subs['dead']!, 500);
    const proposals: string[] = [];
    const propose = async (n: number) => {
      const r = await a.call('POST', `/v1/consortia/${cid}/proposals`, {
        action: { type: 'change_params', params: { blockIntervalMs: 200 + n } },
      });
      expect(r.status).toBe(201);
      proposals.push(r.body.id);
    };

    // phase 1: accounts, an issued asset, transfers, anchors
    await submit(alice, { type: 'create_account' }, []);
    await submit(bob, { type: 'create_account' }, ['account_txs']);
    await submit(alice, { type: 'issue_asset', asset: 'PTS', amount: 1000n, to: alice.publicKey }, ['asset_movements']);
    await submit(alice, { type: 'transfer', asset: 'PTS', to: bob.publicKey, amount: 10n }, [
      'account_txs',
      'asset_movements',
    ]);
    await submit(alice, { type: 'anchor', hash: new Uint8Array(32).fill(1), metadata: 'vaccine batch 1' }, ['anchors']);
    await propose(1);
    await waitFor(
      'first events delivered',
      async () => rx.received.some((r) => r.subscriptionId === subs['account_txs']) || undefined,
      30_000,
    );

    // the control plane dies mid-stream; the chain goes on without it
    await cp.kill9();
    await submit(alice, { type: 'transfer', asset: 'PTS', to: bob.publicKey, amount: 20n }, [
      'account_txs',
      'asset_movements',
    ]);
    await submit(bob, { type: 'anchor', hash: new Uint8Array(32).fill(2), metadata: 'vaccine batch 2' }, [
      'account_txs',
      'anchors',
    ]);
    await submit(bob, { type: 'transfer', asset: 'PTS', to: alice.publicKey, amount: 5n }, [
      'account_txs',
      'asset_movements',
    ]);
    await cp.restart();
    await propose(2);

    // one node dies (SIGKILL); the runtime restarts it; delivery reads from the others meanwhile
    const procs = await nodeProcessesUnder(cp.nodesDir);
    const victim = [...procs.values()][0]![0]!;
    process.kill(victim, 'SIGKILL');
    await submit(alice, { type: 'burn_asset', asset: 'PTS', amount: 3n }, ['asset_movements']);
    await submit(alice, { type: 'transfer', asset: 'PTS', to: bob.publicKey, amount: 7n }, [
      'account_txs',
      'asset_movements',
    ]);
    await submit(alice, { type: 'anchor', hash: new Uint8Array(32).fill(3), metadata: 'vaccine batch 3' }, ['anchors']);
    await propose(3);
    await waitFor(
      'the killed node runs again',
      async () => {
        const now = await nodeProcessesUnder(cp.nodesDir);
        return (now.size === 4 && [...now.values()].every((p) => p.length === 1 && p[0] !== victim)) || undefined;
      },
      60_000,
      500,
    );
    expect(A).not.toBe(B);

    const got = (name: string): Received[] => rx.received.filter((r) => r.subscriptionId === subs[name]);
    const done = (name: string, want: string[]) => want.every((id) => got(name).some((r) => r.eventId === id));
    const blockIds = () => Array.from({ length: lastHeight - fromHeight + 1 }, (_, i) => `${fromHeight + i}:0:blocks`);
    await waitFor(
      'every chain event delivered',
      async () =>
        (['account_txs', 'asset_movements', 'anchors'].every((k) => done(k, expected.get(k)!)) &&
          done('blocks', blockIds())) ||
        undefined,
      90_000,
      500,
    );
    const cpDone = () =>
      proposals.every((p) =>
        got('control_plane').some(
          (r) => r.event.change.type === 'proposal.created' && r.event.change.resource.endsWith(`/proposals/${p}`),
        ),
      );
    await waitFor('every control-plane change delivered', async () => cpDone() || undefined, 60_000, 500);

    const position = (r: Received) =>
      r.event.kind === 'control_plane' ? [r.event.change.seq, 0] : [r.event.height, r.event.index];
    const cmp = (x: Received, y: Received) => {
      const [p0, q0] = position(x);
      const [p1, q1] = position(y);
      return p0 !== p1 ? p0 - p1 : q0 - q1;
    };
    for (const name of ['blocks', 'account_txs', 'asset_movements', 'anchors', 'control_plane']) {
      const list = got(name);
      // valid HMAC over each whole POST; the count header matches the body
      for (const r of list) expect(rx.signatureValid(r), `${name} ${r.eventId}`).toBe(true);
      for (const d of rx.deliveries.filter((x) => x.subscriptionId === subs[name]))
        expect(d.countHeader).toBe(String(d.eventIds.length));
      // in order: within a POST strictly; a POST starts past the previous one, or replays it at most
      // (a crash between its 2xx and the cursor write)
      const posts = [...new Set(list.map((r) => r.delivery))].map((d) => list.filter((r) => r.delivery === d));
      for (const post of posts)
        for (let i = 1; i < post.length; i++)
          expect(cmp(post[i - 1]!, post[i]!), `${name}: ${post[i - 1]!.eventId} then ${post[i]!.eventId}`).toBeLessThan(
            0,
          );
      for (let j = 1; j < posts.length; j++) {
        const prev = posts[j - 1]!;
        const first = posts[j]![0]!;
        expect(
          cmp(first, prev[prev.length - 1]!) > 0 || cmp(first, prev[0]!) >= 0,
          `${name}: a POST starting at ${first.eventId} after one of ${prev[0]!.eventId}..${prev[prev.length - 1]!.eventId}`,
        ).toBe(true);
      }
      // exactly once after dedupe
      const ids = [...new Set(list.map((r) => r.eventId))];
      if (name === 'blocks') expect(ids.slice(0, blockIds().length)).toEqual(blockIds());
      else if (name !== 'control_plane') expect(ids).toEqual(expected.get(name));
    }
    // tx events carry the decoded tx and its result
    const transfer = got('account_txs').find((r) => r.event.tx.type === 'transfer')!;
    expect(transfer.event.tx).toMatchObject({ signer: A, code: 'OK', body: { asset: 'PTS', to: B, amount: '10' } });
    expect(got('anchors')[0]!.event.tx.body.metadata).toBe('vaccine batch 1');

    // the receiver that always answers 500: nothing accepted, events dead-lettered, delivery went on
    const dead = await waitFor(
      'dead letters',
      async () => {
        const r = await a.call('GET', `/v1/consortia/${cid}/subscriptions/${subs['dead']}/dead-letters`);
        return r.body.items.length >= 2 ? r.body.items : undefined;
      },
      60_000,
      500,
    );
    expect(dead[0]).toMatchObject({ id: `${fromHeight}:0:blocks`, attempts: 3, status: 'FAILED' });
    expect(dead[0].lastError).toContain('500');
    expect(dead[1].id).toBe(`${fromHeight + 1}:0:blocks`);
    const s = await a.call('GET', `/v1/consortia/${cid}/subscriptions/${subs['dead']}`);
    expect(s.body.cursor.deadLettered).toBeGreaterThanOrEqual(2);
    expect(s.body.cursor.delivered).toBe(0);

    // metrics: deliveries by outcome and the latency histogram
    const metrics = await (await fetch(`${cp.url}/metrics`)).text();
    expect(metrics).toMatch(/consortia_webhook_deliveries_total\{outcome="delivered"\} [1-9]/);
    expect(metrics).toMatch(/consortia_webhook_deliveries_total\{outcome="dead_lettered"\} [1-9]/);
    expect(metrics).toContain('consortia_webhook_delivery_latency_seconds_bucket');
  }, 400_000);
});
