/**
 * Webhook delivery benchmark (a figure, not a test): the real control plane (local runtime, four
 * validators on loopback) delivers events of a chain under open-loop transfer load to a real HTTPS
 * receiver in this process. Subscriptions: every block, one account's txs (a sink that receives
 * ~1 in 10 transfers), one asset's movements and anchors. Latency of an event = its first receipt
 * at the receiver - its commit time (the block header's time, set by the proposer; the BFT commit
 * follows within about one block interval, so this slightly overstates the control plane's share).
 * After the load, the chain is read back from a node and every event a subscription should have got
 * is checked off (computed here from the decoded txs, independently of src/control-plane/delivery):
 * `lost` counts those never received within the drain time.
 *   npm run bench:events -- --seconds 20 --rate 200
 * Last line: one JSON object with p50_ms, p99_ms, delivered, lost, duplicates, and posts /
 * events_per_post (events arrive in batches, `{"events":[...]}`).
 */
import { writeFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  decodeTx,
  encodeTx,
  fromHex,
  generateKeyPair,
  signDomainPortable,
  signTx,
  Tags,
  toHex,
  type KeyPair,
  type TxBody,
} from '../src/chain/index.js';
import { startControlPlane } from '../test/harness/cp-harness.js';
import { client, createOrg, waitFor } from '../test/harness/cp-api.js';
import { startWebhookReceiver } from '../test/harness/webhook-receiver.js';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : def;
  return Number.isFinite(v) && v > 0 ? v : def;
};
const SECONDS = arg('seconds', 20);
const RATE_TPS = arg('rate', 200);
const ACCOUNTS = arg('accounts', 200);
const DRAIN_TIMEOUT_MS = arg('drain-seconds', 60) * 1000;
const BLOCK_INTERVAL_MS = arg('block-interval-ms', 500);
/** Share of transfers sent to the subscribed sink account. */
const SINK_SHARE = 0.1;
const ANCHORS_PER_S = 2;
const SEND_TICK_MS = 100;
// loopback addresses of this bench's nodes; kept apart from the e2e suites' ranges
const HOST_RANGE = { first: 10, last: 29 };

// biome-ignore lint/suspicious/noExplicitAny: JSON answers read field by field
type Json = any;

const log = (msg: string) => process.stderr.write(`${msg}\n`);
const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

async function main(): Promise<void> {
  const rx = await startWebhookReceiver();
  const tmp = mkdtempSync(join(tmpdir(), 'bench-events-'));
  const caFile = join(tmp, 'receiver-ca.pem');
  writeFileSync(caFile, rx.cert);
  const cp = await startControlPlane({
    hostRange: HOST_RANGE,
    config: { tls: { mode: 'off' }, logLevel: 'warn', webhooks: { caFile, pollIntervalMs: 100 } },
  });
  const cleanup = async () => {
    await cp.shutdown().catch(() => undefined);
    await rx.close().catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
  };
  try {
    const admin = client(cp.url, cp.token);
    const a = await createOrg(admin, cp.url, 'acme');
    const b = await createOrg(admin, cp.url, 'globex');
    const created = await a.call('POST', '/v1/consortia', {
      name: 'bench-events',
      founders: [a.id, b.id],
      params: { blockIntervalMs: BLOCK_INTERVAL_MS, maxBlockBytes: 4 << 20 },
      votingPolicy: { thresholdPercentage: 50, thresholdComparator: 'GREATER_THAN', proposalDurationSeconds: 600 },
    });
    const cid: string = created.body.id;
    const chainId: string = created.body.chainId;
    for (const org of [a, a, b, b])
      await org.call('POST', `/v1/consortia/${cid}/nodes`, { orgId: org.id, role: 'validator', clusterId: 'local' });
    await a.call('POST', `/v1/consortia/${cid}/ceremony`);
    const cer = await waitFor(
      'genesis assembled',
      async () => {
        const r = await a.call('GET', `/v1/consortia/${cid}/ceremony`);
        return r.body.status === 'AWAITING_APPROVALS' ? r.body : undefined;
      },
      120_000,
      500,
    );
    for (const org of [a, b]) {
      await org.call('POST', `/v1/consortia/${cid}/ceremony/approvals`, {
        memberId: org.id,
        adminKey: toHex(org.key.publicKey),
        signature: toHex(signDomainPortable(Tags.GENESIS_APPROVAL, org.key.secretKey, fromHex(cer.genesisHash, 32))),
      });
    }
    const nodes: Json[] = await waitFor(
      'validators ready',
      async () => {
        const items = (await a.call('GET', `/v1/consortia/${cid}/nodes`)).body.items as Json[];
        return items.length === 4 && items.every((n) => n.status.ready) ? items : undefined;
      },
      120_000,
      500,
    );
    const apis: string[] = nodes.map((n) => n.status.endpoints.api);
    const height = async (): Promise<number> => ((await (await fetch(`${apis[0]}/v1/status`)).json()) as Json).height;
    await waitFor('first block', async () => (await height()) >= 1 || undefined, 60_000);
    log(`consortium ${cid} running on ${apis.length} validators`);

    // Txs a node shed (429 / MEMPOOL_BUSY, BUSY): sent again on the next tick, as a client does, so
    // that the account's later nonces do not wait behind a gap for the mempool TTL.
    let resend: Uint8Array[] = [];
    const SHED = new Set(['MEMPOOL_BUSY', 'BUSY', 'MEMPOOL_FULL']);
    const post = async (api: string, txs: Uint8Array[]) => {
      try {
        const r = await fetch(`${api}/v1/txs/batch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ txs: txs.map(toHex) }),
          signal: AbortSignal.timeout(10_000),
        });
        const body = (await r.json()) as { results?: { status: string; error?: { code: string } }[] };
        if (r.status === 429 || r.status === 503) resend.push(...txs);
        else
          body.results?.forEach((x, k) => {
            if (x.status !== 'accepted' && SHED.has(x.error?.code ?? '')) resend.push(txs[k]!);
          });
      } catch {
        /* open loop: a batch that failed is load not offered */
      }
    };
    const tx = (k: KeyPair, nonce: number, body: TxBody) =>
      encodeTx(signTx({ chainId, signer: k.publicKey, nonce, body }, k.secretKey));
    const accounts = Array.from({ length: ACCOUNTS }, () => generateKeyPair());
    const sink = generateKeyPair();
    const notary = generateKeyPair();
    const nonce = new Map<KeyPair, number>();
    const next = (k: KeyPair) => {
      const n = nonce.get(k) ?? 0;
      nonce.set(k, n + 1);
      return n;
    };
    const exists = async (k: KeyPair, minNonce: number) => {
      const r = await fetch(`${apis[0]}/v1/accounts/${toHex(k.publicKey)}`);
      return r.ok && ((await r.json()) as Json).account?.nonce >= minNonce;
    };
    await post(
      apis[0]!,
      [sink, notary, ...accounts].map((k) => tx(k, next(k), { type: 'create_account' })),
    );
    await waitFor(
      'accounts created',
      async () => ((await exists(accounts[ACCOUNTS - 1]!, 1)) && (await exists(sink, 1))) || undefined,
      60_000,
      300,
    );
    await post(
      apis[0]!,
      accounts.map((k, i) =>
        tx(k, next(k), { type: 'issue_asset', asset: `L${i}`, amount: 1_000_000n, to: k.publicKey }),
      ),
    );
    await waitFor('assets issued', async () => (await exists(accounts[ACCOUNTS - 1]!, 2)) || undefined, 60_000, 300);

    const fromHeight = (await height()) + 1;
    const sinkHex = toHex(sink.publicKey);
    const subs: Record<string, string> = {};
    for (const [name, filter] of [
      ['blocks', { kind: 'blocks' }],
      ['account_txs', { kind: 'account_txs', account: sinkHex }],
      ['asset_movements', { kind: 'asset_movements', asset: 'L0' }],
      ['anchors', { kind: 'anchors' }],
    ] as const) {
      const r = await a.call('POST', `/v1/consortia/${cid}/subscriptions`, { url: rx.url, filter, fromHeight });
      if (r.status !== 201) throw new Error(`subscribe ${name}: ${r.status} ${JSON.stringify(r.body)}`);
      subs[name] = r.body.id;
      rx.secrets.set(r.body.id, r.body.secret);
    }

    // The receiver shares this process with the load generator (signing): its event-loop delay adds to every POST's round trip.
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    // open-loop load: RATE_TPS transfers/s round-robin over the accounts, plus anchors
    log(`load: ${RATE_TPS} tx/s for ${SECONDS} s from height ${fromHeight}`);
    const perTick = Math.max(1, Math.round((RATE_TPS * SEND_TICK_MS) / 1000));
    const anchorEvery = Math.max(1, Math.round(1000 / ANCHORS_PER_S / SEND_TICK_MS));
    let cursor = 0;
    let tick = 0;
    const sends: Promise<void>[] = [];
    const end = Date.now() + SECONDS * 1000;
    while (Date.now() < end) {
      const started = Date.now();
      const batch: Uint8Array[] = resend;
      resend = [];
      for (let j = 0; j < perTick; j++) {
        const i = cursor++ % ACCOUNTS;
        const from = accounts[i]!;
        const to =
          Math.random() < SINK_SHARE
            ? sink
            : accounts[(i + 1 + Math.floor(Math.random() * (ACCOUNTS - 1))) % ACCOUNTS]!;
        batch.push(tx(from, next(from), { type: 'transfer', asset: `L${i}`, to: to.publicKey, amount: 1n }));
      }
      if (tick % anchorEvery === 0)
        batch.push(
          tx(notary, next(notary), {
            type: 'anchor',
            hash: new Uint8Array(32).map(() => Math.floor(Math.random() * 256)),
            metadata: `doc ${tick}`,
          }),
        );
      sends.push(post(apis[tick % apis.length]!, batch));
      tick++;
      await new Promise((r) => setTimeout(r, Math.max(0, SEND_TICK_MS - (Date.now() - started))));
    }
    await Promise.all(sends);
    loopDelay.disable();
    log(
      `bench process event-loop delay under load (receiver included): p50 ${(loopDelay.percentile(50) / 1e6).toFixed(0)} ms, p99 ${(loopDelay.percentile(99) / 1e6).toFixed(0)} ms`,
    );
    // let the last accepted txs commit, then read the chain back
    await new Promise((r) => setTimeout(r, 3 * BLOCK_INTERVAL_MS));
    const lastHeight = await height();
    const expected = new Map<string, { sub: string; id: string }[]>();
    let committedTxs = 0;
    for (let h = fromHeight; h <= lastHeight; h++) {
      const blk = (await (await fetch(`${apis[0]}/v1/blocks/${h}`)).json()) as Json;
      const list = [{ sub: subs['blocks']!, id: `${h}:0:blocks` }];
      (blk.txs as string[]).forEach((hex, i) => {
        committedTxs++;
        const t = decodeTx(fromHex(hex));
        const body = t.body;
        if (toHex(t.signer) === sinkHex || ('to' in body && toHex(body.to) === sinkHex))
          list.push({ sub: subs['account_txs']!, id: `${h}:${i}:account_txs` });
        if (
          (body.type === 'transfer' || body.type === 'issue_asset' || body.type === 'burn_asset') &&
          body.asset === 'L0'
        )
          list.push({ sub: subs['asset_movements']!, id: `${h}:${i}:asset_movements` });
        if (body.type === 'anchor') list.push({ sub: subs['anchors']!, id: `${h}:${i}:anchors` });
      });
      expected.set(String(h), list);
    }
    const all = [...expected.values()].flat();
    const key = (sub: string, id: string) => `${sub}/${id}`;
    const receivedKeys = () => new Set(rx.received.map((r) => key(r.subscriptionId, r.eventId)));
    log(
      `chain: heights ${fromHeight}..${lastHeight}, ${committedTxs} txs committed (${(committedTxs / SECONDS).toFixed(0)} tx/s); ${all.length} events expected; draining`,
    );
    await waitFor(
      'every expected event',
      async () => {
        const got = receivedKeys();
        return all.every((e) => got.has(key(e.sub, e.id))) || undefined;
      },
      DRAIN_TIMEOUT_MS,
      250,
    ).catch(() => undefined);

    const got = receivedKeys();
    const lost = all.filter((e) => !got.has(key(e.sub, e.id))).length;
    const wanted = new Set(all.map((e) => key(e.sub, e.id)));
    const first = new Map<string, number>();
    let badSignatures = 0;
    for (const r of rx.received) {
      const k = key(r.subscriptionId, r.eventId);
      if (!rx.signatureValid(r)) badSignatures++;
      if (wanted.has(k) && !first.has(k)) first.set(k, r.at - Date.parse(r.event.at));
    }
    const latencies = [...first.values()];
    const perSub: Record<string, string> = {};
    for (const [name, sid] of Object.entries(subs)) {
      const xs = [...first.entries()].filter(([k]) => k.startsWith(`${sid}/`)).map(([, v]) => v);
      perSub[name] = `p50 ${pct(xs, 50)} / p99 ${pct(xs, 99)} ms`;
    }
    log(`latency per subscription: ${JSON.stringify(perSub)}`);
    const byKind: Record<string, number> = {};
    for (const [name, sid] of Object.entries(subs)) byKind[name] = all.filter((e) => e.sub === sid).length;
    log(
      `events per subscription: ${JSON.stringify(byKind)}; duplicates received: ${rx.received.length - got.size}; bad signatures: ${badSignatures}`,
    );
    log(
      `latency commit->receipt: p50 ${pct(latencies, 50)} ms, p90 ${pct(latencies, 90)} ms, p99 ${pct(latencies, 99)} ms, max ${pct(latencies, 100)} ms`,
    );
    const summary = JSON.stringify({
      p50_ms: pct(latencies, 50),
      p99_ms: pct(latencies, 99),
      delivered: latencies.length,
      lost,
      expected: all.length,
      duplicates: rx.received.length - got.size,
      bad_signatures: badSignatures,
      posts: rx.deliveries.length,
      events_per_post: Number((rx.received.length / Math.max(1, rx.deliveries.length)).toFixed(1)),
      offered_tps: RATE_TPS,
      committed_tps: Math.round(committedTxs / SECONDS),
      seconds: SECONDS,
      block_interval_ms: BLOCK_INTERVAL_MS,
      events_by_subscription: byKind,
    });
    process.stdout.write(`${summary}\n`);
  } finally {
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:events failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
