import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeTx,
  fromHex,
  generateKeyPair,
  governanceActionHash,
  sha256,
  signGovernanceVote,
  signTx,
  toHex,
  verifyProofOfPossession,
  type GovernanceAction,
  type TxBody,
} from '../../src/chain/index.js';
import { ConsortiaClient } from '../../src/sdk/index.js';
import { SOFTHSM_MODULE } from '../lib/custody/softhsm.js';
import { ChainNet, MAIN, waitUntil, type NodeHandle } from '../harness/chain-net.js';

// One of 4 validators rotates its consensus key while txs keep flowing: the node makes the key,
// the member votes a rotate_validator_key, and the chain goes on without a halt or a fork, the
// rotated validator signing commits with its new key from the switch height on (also after a
// kill -9 and restart right after the switch). Run twice: validator 0's keys in files, then in
// its own SoftHSM2 token (the new key is generated inside the token, like the first).
const BLOCK_INTERVAL_MS = 500;
/** "No halt": consecutive block times stay below this many block intervals across the switch. */
const MAX_GAP_INTERVALS = 5;
const ADMIN_TOKEN = 'rotation-e2e-admin-token-0123456789abcdef';
const HSM_PIN = '135790';

/** Validator 0's key in its own SoftHSM2 token: made by `main.js keygen` inside it (as test/e2e/key-custody.test.ts). */
function hsmKey(dataDir: string, chainId: string) {
  const dir = join(dataDir, 'softhsm');
  mkdirSync(join(dir, 'tokens'), { recursive: true });
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  const env = { ...process.env, SOFTHSM2_CONF: conf, NODE_HSM_PIN: HSM_PIN };
  execFileSync(
    'softhsm2-util',
    ['--init-token', '--free', '--label', 'rot-0', '--pin', HSM_PIN, '--so-pin', `${HSM_PIN}0`],
    {
      env,
      stdio: 'pipe',
    },
  );
  const out = execFileSync(
    process.execPath,
    [MAIN, 'keygen', '--key-file', join(dataDir, 'unused.json'), '--chain-id', chainId],
    {
      env: {
        ...env,
        CONSORTIA_NODE_KEY_BACKEND: 'pkcs11',
        CONSORTIA_NODE_KEY_MODULE: SOFTHSM_MODULE,
        CONSORTIA_NODE_KEY_TOKEN_LABEL: 'rot-0',
        CONSORTIA_NODE_KEY_KEY_LABEL: 'consensus',
        CONSORTIA_NODE_KEY_PIN_ENV: 'NODE_HSM_PIN',
      },
      encoding: 'utf8',
    },
  );
  const j = JSON.parse(out.trim().split('\n').pop()!) as { publicKey: string; proofOfPossession: string };
  return { publicKey: fromHex(j.publicKey, 32), proofOfPossession: fromHex(j.proofOfPossession, 64), conf };
}

function rotationSuite(label: string, hsm: boolean): void {
  describe.sequential(label, () => {
    const payer = generateKeyPair();
    const confs = new Map<number, string>();
    const net = new ChainNet({
      validators: 4,
      params: { blockIntervalMs: BLOCK_INTERVAL_MS },
      accounts: [{ publicKey: payer.publicKey, balances: [{ asset: 'USD', amount: 1_000_000n }] }],
      ...(hsm
        ? {
            externalKey: (i: number, chainId: string, dataDir: string) => {
              if (i !== 0) return undefined;
              const k = hsmKey(dataDir, chainId);
              confs.set(i, k.conf);
              return k;
            },
            nodeEnv: (n: NodeHandle): Record<string, string> =>
              confs.has(n.index) ? { SOFTHSM2_CONF: confs.get(n.index)!, NODE_HSM_PIN: HSM_PIN } : {},
          }
        : {}),
      nodeConfig: (n) => ({
        adminTokenFile: join(n.dataDir, 'admin-token'),
        ...(hsm && n.index === 0
          ? {
              key: {
                backend: 'pkcs11',
                module: SOFTHSM_MODULE,
                tokenLabel: 'rot-0',
                keyLabel: 'consensus',
                pinEnv: 'NODE_HSM_PIN',
              },
            }
          : {}),
      }),
    });

    let nonce = 0;
    async function submit(n: NodeHandle, body: TxBody): Promise<string> {
      const bytes = encodeTx(
        signTx({ chainId: net.chainId, signer: payer.publicKey, nonce: nonce++, body }, payer.secretKey),
      );
      const r = await fetch(`${n.api}/v1/txs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ tx: toHex(bytes) }),
        signal: AbortSignal.timeout(10_000),
      });
      if (r.status !== 200 && r.status !== 202) throw new Error(`submit: ${r.status} ${await r.text()}`);
      return toHex(sha256(bytes));
    }

    async function commitSigners(n: NodeHandle, h: number): Promise<string[]> {
      const c = await net.get(n, `/v1/blocks/${h}/commit`);
      if (c.status !== 200) throw new Error(`commit ${h}: ${c.status}`);
      return (c.body as { signatures: { validator: string }[] }).signatures.map((s) => s.validator);
    }
    /**
     * Validators whose precommits are recorded for heights from..to: the decided certificate holds the
     * first 2f+1 only, the next block's lastCommit also the late ones (src/node/engine/engine.ts).
     */
    async function signersIn(n: NodeHandle, from: number, to: number): Promise<Set<string>> {
      const out = new Set<string>();
      for (let h = from; h <= to; h++) {
        for (const k of await commitSigners(n, h)) out.add(k);
        const next = await net.get(n, `/v1/blocks/${h + 1}`);
        const lc = (next.body as { lastCommit?: { signatures: { validator: string }[] } | null } | null)?.lastCommit;
        for (const s of lc?.signatures ?? []) out.add(s.validator);
      }
      return out;
    }
    async function blockTime(n: NodeHandle, h: number): Promise<number> {
      const b = await net.get(n, `/v1/blocks/${h}/header`);
      return Number((b.body as { header: { time: number | string } }).header.time);
    }

    let load: Promise<void> | null = null;
    let loading = true;

    beforeAll(async () => {
      await net.init();
      for (const n of net.nodes) writeFileSync(join(n.dataDir, 'admin-token'), ADMIN_TOKEN, { mode: 0o600 });
      await net.startAll();
      await net.waitHeight(net.nodes, 2, 60_000);
      // txs flow through the whole test: anchors from one account, to the nodes in turn
      load = (async () => {
        let i = 0;
        while (loading) {
          await submit(net.nodes[1 + (i % 3)]!, {
            type: 'anchor',
            hash: sha256(new TextEncoder().encode(`a${i}`)),
            metadata: '',
          }).catch(() => undefined);
          i++;
          await new Promise((r) => setTimeout(r, 50)); // paces the load; nothing waits on it
        }
      })();
    }, 120_000);
    afterAll(async () => {
      loading = false;
      await load;
      if (process.env.CHAIN_E2E_LOGS)
        for (const n of net.nodes) console.log(`--- node${n.index}\n${net.dumpLogs(n.index)}`);
      await net.stop();
    });

    describe('a validator rotates its consensus key without halting the chain', () => {
      it('makes the key on request (admin only), switches at the next height, keeps signing, and survives a restart', async () => {
        const v = net.nodes[0]!;
        const oldHex = toHex(v.key.publicKey);

        // the admin route refuses a caller without the node's admin token
        const anon = await fetch(`${v.api}/v1/consensus-keys`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        });
        expect(anon.status).toBe(401);

        const prep = async () => {
          const r = await fetch(`${v.api}/v1/consensus-keys`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
            body: '{}',
          });
          expect(r.status).toBe(200);
          return (await r.json()) as {
            publicKey: string;
            proofOfPossession: string;
            currentKey: string;
            created: boolean;
          };
        };
        const k = await prep();
        expect(k.created).toBe(true);
        expect(k.currentKey).toBe(oldHex);
        expect(Object.keys(k).sort()).toEqual(['created', 'currentKey', 'proofOfPossession', 'publicKey']); // no secret
        expect(verifyProofOfPossession(net.chainId, fromHex(k.publicKey, 32), fromHex(k.proofOfPossession, 64))).toBe(
          true,
        );
        expect((await prep()).publicKey).toBe(k.publicKey); // a retry gets the same pending key

        const action: GovernanceAction = {
          type: 'rotate_validator_key',
          oldPublicKey: v.key.publicKey,
          newPublicKey: fromHex(k.publicKey, 32),
          proofOfPossession: fromHex(k.proofOfPossession, 64),
        };
        const pid = 'rotate-node0';
        const vote = signGovernanceVote(
          net.chainId,
          pid,
          governanceActionHash(action),
          'YES',
          'org1',
          net.adminKey.secretKey,
          net.adminKey.publicKey,
        );
        const txHash = await submit(net.nodes[1]!, { type: 'governance', proposalId: pid, action, votes: [vote] });
        let switchAt = 0;
        await waitUntil(
          async () => {
            const r = await net.get(net.nodes[1]!, `/v1/txs/${txHash}`);
            if (r.status !== 200) return false;
            expect(r.body.code).toBe('OK');
            switchAt = (r.body.height as number) + 1; // the set of H+1 is the one block H leaves
            return true;
          },
          30_000,
          'rotation committed',
        );

        // the validator signs the commits after the switch with its new key
        await net.waitHeight(net.nodes, switchAt + 4, 60_000);
        await waitUntil(
          async () =>
            (await signersIn(net.nodes[1]!, switchAt, (await net.height(net.nodes[1]!)) - 1)).has(k.publicKey),
          30_000,
          'a commit signed with the new key',
        );
        expect(await signersIn(net.nodes[1]!, switchAt, switchAt + 3)).not.toContain(oldHex);
        const before = await signersIn(net.nodes[1]!, Math.max(1, switchAt - 4), switchAt - 1);
        expect(before).toContain(oldHex);
        expect(before).not.toContain(k.publicKey);

        const keys = await net.get(v, '/v1/consensus-keys');
        if (hsm) {
          // made inside the token, next to the first key: no key file anywhere
          const manifest = JSON.parse(readFileSync(join(v.dataDir, 'consensus-keys.json'), 'utf8'));
          expect(manifest.keys[0]).toMatchObject({
            backend: 'pkcs11',
            keyLabel: 'consensus.consensus.1',
            publicKey: k.publicKey,
          });
          expect(existsSync(join(v.dataDir, 'consensus-keys'))).toBe(false);
          expect(existsSync(join(v.dataDir, 'node-key.json'))).toBe(false);
        }
        const active = (
          keys.body as { keys: { publicKey: string; active: boolean; activeFromHeight?: number }[] }
        ).keys.find((x) => x.active);
        expect(active).toMatchObject({ publicKey: k.publicKey, activeFromHeight: switchAt });

        // the SDK verifies reads through the rotation: a client trusting only the genesis follows the
        // validator-set change (epoch) to a header certified with the new key
        const client = new ConsortiaClient({
          nodes: net.nodes.slice(1).map((n) => n.api),
          sealedGenesis: JSON.parse(readFileSync(net.genesisFile, 'utf8')),
        });
        expect(await client.balance(payer.publicKey, 'USD')).toBe(1_000_000n);
        const trusted = client.trustState();
        expect(trusted.height).toBeGreaterThanOrEqual(switchAt);
        expect(trusted.validators.map((x) => x.publicKey)).toContain(k.publicKey);
        expect(trusted.validators.map((x) => x.publicKey)).not.toContain(oldHex);

        // kill -9 and restart: it signs with the new key again (the switch is on disk, not only in memory)
        await net.kill(0);
        const down = await net.height(net.nodes[1]!);
        net.start(0);
        await net.waitReady(v);
        await net.waitHeight(net.nodes, down + 6, 60_000);
        await waitUntil(
          async () =>
            (await signersIn(net.nodes[1]!, down + 3, (await net.height(net.nodes[1]!)) - 1)).has(k.publicKey),
          30_000,
          'the restarted validator signing with its new key',
        );

        // no fork: every node has the same hash at every height
        const top = Math.min(...(await Promise.all(net.nodes.map((n) => net.height(n)))));
        await net.agreedHashes(net.nodes, top);

        // no halt across the switch: consecutive block times stay close
        const from = Math.max(2, switchAt - 5);
        const times: number[] = [];
        for (let h = from; h <= switchAt + 5; h++) times.push(await blockTime(net.nodes[1]!, h));
        const gaps = times.slice(1).map((t, i) => t - times[i]!);
        expect(Math.max(...gaps)).toBeLessThan(MAX_GAP_INTERVALS * BLOCK_INTERVAL_MS);

        // txs kept committing across the switch
        let txsAfter = 0;
        for (let h = switchAt; h <= switchAt + 4; h++)
          txsAfter += ((await net.get(net.nodes[2]!, `/v1/blocks/${h}`)).body as { txs: string[] }).txs.length;
        expect(txsAfter).toBeGreaterThan(0);
      }, 240_000);
    });
  });
}

rotationSuite('file keys', false);
rotationSuite('SoftHSM2 keys', true);
