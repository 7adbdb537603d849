/**
 * README "Build an application", word for word, through the real `consortia` binary and the SDK:
 * two organizations with profiles, a 4-validator consortium on the local runtime, accounts, a
 * gateway that issues a token, transfers, a redemption (transfer back + burn), an anchored file
 * verified offline from its proof bundle, `tx show`, and SDK reads that refuse a lying node.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsortiaClient, SdkCodes, fileSigner, sha256, toHex } from '../../src/sdk/index.js';
import { builtArtifactsPresent, CLI_MAIN, startControlPlane, type ControlPlane } from '../harness/cp-harness.js';
import { LyingProxy } from '../harness/lying-proxy.js';

const run = promisify(execFile);

describe.skipIf(!builtArtifactsPresent() || !existsSync(CLI_MAIN))(
  'application path e2e: accounts, a gateway token, anchors (CLI + SDK)',
  () => {
    let cp: ControlPlane;
    let home = '';
    let work = '';
    const proxies: LyingProxy[] = [];
    beforeAll(async () => {
      cp = await startControlPlane({ hostRange: { first: 231, last: 250 } });
      home = mkdtempSync(join(tmpdir(), 'consortia-app-e2e-'));
      work = mkdtempSync(join(tmpdir(), 'consortia-app-files-'));
    });
    afterAll(async () => {
      for (const p of proxies) await p.stop();
      await cp?.shutdown();
      rmSync(home, { recursive: true, force: true });
      rmSync(work, { recursive: true, force: true });
    });

    /** `consortia ARGS` as a user types it (the config home is the test's). */
    async function consortia(args: string[]): Promise<{ code: number; out: string; err: string }> {
      try {
        const r = await run(process.execPath, [CLI_MAIN, ...args], {
          timeout: 180_000,
          cwd: work,
          env: { ...process.env, CONSORTIA_HOME: home, CONSORTIA_PROFILE: '' },
        });
        return { code: 0, out: r.stdout, err: r.stderr };
      } catch (err) {
        const e = err as { code?: number; stdout?: string; stderr?: string };
        return { code: typeof e.code === 'number' ? e.code : 1, out: e.stdout ?? '', err: e.stderr ?? '' };
      }
    }
    async function ok(args: string[]): Promise<string> {
      const r = await consortia(args);
      if (r.code !== 0) throw new Error(`consortia ${args.join(' ')} failed (${r.code}): ${r.err}`);
      return r.out;
    }
    async function json(args: string[]): Promise<any> {
      return JSON.parse(await ok(['--json', ...args]));
    }

    it('follows README "Build an application"', async () => {
      // --- 1. two organizations, one profile each (the platform admin's token creates them)
      await ok(['login', '--api-url', cp.url, '--token', cp.token]);
      const acmeKey = (await json(['keys', 'create', '--org', 'acme'])).publicKey as string;
      const globexKey = (await json(['keys', 'create', '--org', 'globex'])).publicKey as string;
      const ACME = (await json(['org', 'create', '--name', 'acme', '--key-org', 'acme'])).id as string;
      const GLOBEX = (await json(['org', 'create', '--name', 'globex', '--key-org', 'globex'])).id as string;
      const ACME_TOKEN = (await json(['token', 'create', '--org', ACME, '--name', 'app', '--role', 'org-admin']))
        .token as string;
      const GLOBEX_TOKEN = (await json(['token', 'create', '--org', GLOBEX, '--name', 'app', '--role', 'org-admin']))
        .token as string;
      await ok([
        '--profile',
        'acme',
        'login',
        '--api-url',
        cp.url,
        '--token',
        ACME_TOKEN,
        '--org',
        ACME,
        '--key-org',
        'acme',
      ]);
      await ok([
        '--profile',
        'globex',
        'login',
        '--api-url',
        cp.url,
        '--token',
        GLOBEX_TOKEN,
        '--org',
        GLOBEX,
        '--key-org',
        'globex',
      ]);
      await ok(['use', 'acme']);

      // --- 2. a consortium with 4 validators (2 per organization), the genesis ceremony
      const CID = (
        await json([
          'consortium',
          'create',
          '--name',
          'loyalty',
          '--founders',
          `${ACME},${GLOBEX}`,
          '--block-interval-ms',
          '200',
        ])
      ).id as string;
      await ok(['node', 'create', CID, '--role', 'validator', '--count', '2', '--wait', '--timeout', '120']);
      await ok([
        '--profile',
        'globex',
        'node',
        'create',
        CID,
        '--role',
        'validator',
        '--count',
        '2',
        '--wait',
        '--timeout',
        '120',
      ]);
      await ok(['ceremony', 'start', CID, '--wait', '--timeout', '120']);
      await ok(['ceremony', 'approve', CID, '--yes']);
      await ok(['--profile', 'globex', 'ceremony', 'approve', CID, '--yes']);
      await ok(['node', 'wait', CID, '--ready', '--timeout', '120']);
      await ok(['config', 'set', 'consortiumId', CID]);
      await ok(['--profile', 'globex', 'config', 'set', 'consortiumId', CID]);

      // --- 3. accounts: one per organization key
      const a = await json(['account', 'create']);
      expect(a).toMatchObject({ account: acmeKey, code: 'OK' });
      await json(['--profile', 'globex', 'account', 'create']);

      // --- 4. acme is the gateway of POINTS: it issues, globex holds, globex redeems
      expect((await json(['asset', 'create', 'POINTS'])).issuer).toBe(acmeKey);
      const issued = await json(['asset', 'issue', 'POINTS', '--amount', '1000']);
      expect(issued.code).toBe('OK');
      await json(['asset', 'transfer', 'POINTS', '--to', globexKey, '--amount', '300']);
      const notIssuer = await consortia(['--profile', 'globex', 'asset', 'issue', 'POINTS', '--amount', '5']);
      expect(notIssuer.code).toBe(1);
      expect(notIssuer.err).toContain('NOT_ISSUER');
      await json(['--profile', 'globex', 'asset', 'transfer', 'POINTS', '--to', acmeKey, '--amount', '100']);
      await json(['asset', 'burn', 'POINTS', '--amount', '100']);
      const shown = await json(['asset', 'show', 'POINTS']);
      expect(shown).toMatchObject({
        id: 'POINTS',
        issuer: acmeKey,
        issuerOrganization: ACME,
        supply: '900',
        ledger: { issued: '1000', burned: '100' },
      });
      const holder = await json(['--profile', 'globex', 'account', 'show']);
      expect(holder.balances).toEqual([{ asset: 'POINTS', amount: '200' }]);

      // --- 5. anchor a document, verify it offline from its proof bundle
      writeFileSync(join(work, 'batch-4711.pdf'), 'vaccine batch 4711: 10000 doses, 2-8 C\n');
      const put = await json(['anchor', 'put', 'batch-4711.pdf', '--proof-out', 'batch-4711.proof.json']);
      expect(put.sha256).toBe(toHex(sha256(Buffer.from('vaccine batch 4711: 10000 doses, 2-8 C\n'))));
      // offline: an unreachable control plane proves no network is used
      const verified = await consortia([
        '--api-url',
        'http://127.0.0.1:9',
        'anchor',
        'verify',
        'batch-4711.pdf',
        '--proof',
        'batch-4711.proof.json',
      ]);
      expect(verified.code).toBe(0);
      expect(verified.out).toContain('anchor OK');
      expect(verified.out).toContain(`height:       ${put.height}`);
      expect(verified.out).toContain(`organization: ${ACME} (acme)`);
      expect(verified.out).toContain(', pinned'); // the genesis pinned at first use, read from <home>/trust/
      const otherGenesis = await consortia([
        'anchor',
        'verify',
        'batch-4711.pdf',
        '--proof',
        'batch-4711.proof.json',
        '--genesis-hash',
        '77'.repeat(32),
      ]);
      expect(otherGenesis.err).toContain(SdkCodes.GENESIS_UNTRUSTED);
      const v = await json(['anchor', 'verify', 'batch-4711.pdf', '--proof', 'batch-4711.proof.json']);
      expect(v.certifiedBy.length).toBeGreaterThanOrEqual(3); // > 2/3 of 4 equal-power validators
      writeFileSync(join(work, 'batch-4711.pdf'), 'vaccine batch 4711: 99999 doses\n');
      const changed = await consortia(['anchor', 'verify', 'batch-4711.pdf', '--proof', 'batch-4711.proof.json']);
      expect(changed.code).toBe(1);
      expect(changed.err).toContain(SdkCodes.BUNDLE_INVALID);

      // --- 6. any tx, proven included in a certified block
      const tx = await json(['tx', 'show', put.hash]);
      expect(tx).toMatchObject({ hash: put.hash, height: put.height, code: 'OK', type: 'anchor', signer: acmeKey });

      // --- 7. the SDK: same chain, same key file; a lying node is caught
      const client = await ConsortiaClient.connect({
        controlPlane: { url: cp.url, token: GLOBEX_TOKEN },
        consortiumId: CID,
      });
      expect(client.pool.urls.length).toBe(4);
      const signer = fileSigner(join(home, 'keys', 'globex.key'));
      const r = await client.transfer(signer, { asset: 'POINTS', to: acmeKey, amount: 50n });
      expect(r.code).toBe('OK');
      expect(await client.balance(globexKey, 'POINTS')).toBe(150n);
      expect(await client.asset('POINTS')).toMatchObject({ supply: 900n, ledger: { issued: 1000n, burned: 100n } });

      const liar = new LyingProxy(client.pool.urls[0]!, client.chainId);
      await liar.start();
      proxies.push(liar);
      liar.mode = 'tamper-proof';
      const genesis = (
        (await (
          await fetch(`${cp.url}/v1/consortia/${CID}/ceremony/genesis`, {
            headers: { authorization: `Bearer ${GLOBEX_TOKEN}` },
          })
        ).json()) as { sealedGenesis: unknown }
      ).sealedGenesis;
      const onlyLiar = new ConsortiaClient({ nodes: [liar.url], sealedGenesis: genesis });
      await expect(onlyLiar.account(globexKey)).rejects.toMatchObject({ code: SdkCodes.PROOF_REJECTED });
      expect(liar.lies).toBeGreaterThan(0);
      const withHonest = new ConsortiaClient({ nodes: [liar.url, client.pool.urls[1]!], sealedGenesis: genesis });
      const acct = await withHonest.account(globexKey); // the liar answers first, is benched, the honest node answers
      expect(acct?.balances).toEqual([{ asset: 'POINTS', amount: 150n }]);
      liar.mode = 'forge-header';
      const forged = new ConsortiaClient({ nodes: [liar.url], sealedGenesis: genesis });
      await expect(forged.asset('POINTS')).rejects.toMatchObject({ code: SdkCodes.PROOF_REJECTED });

      // resubmitting the same signed tx is idempotent: the second submit reports the same commit
      const again = await client.submit(signer, {
        type: 'anchor',
        hash: sha256(Buffer.from('once')),
        metadata: 'once',
      });
      const t = await client.tx(again.hash);
      expect(await client.submitSigned(t!.encoded)).toMatchObject({
        hash: again.hash,
        height: again.height,
        index: again.index,
      });
    }, 900_000);
  },
);
