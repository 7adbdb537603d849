import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_PARAMS,
  genesisHash,
  generateKeyPair,
  sealedGenesisToJSON,
  signGenesisApproval,
  signProofOfPossession,
  toHex,
  type Genesis,
  type KeyPair,
  type SealedGenesis,
} from '../../src/chain/index.js';
import { createLogger } from '../../src/lib/logging.js';
import { ChainNode } from '../../src/node/chain-node.js';
import { parseNodeConfig, type NodeConfig } from '../../src/node/config.js';
import { checkProvisionedGenesis, startupGenesis } from '../../src/node/genesis-policy.js';
import { LightNode } from '../../src/node/light/index.js';
import { ChainStore } from '../../src/node/store/index.js';

/**
 * A node accepts only the genesis of the consortium it was provisioned for, and never runs a
 * stored genesis that differs from the configured one. Attacked as an outsider would: the
 * victim's public key and proof of possession are public, so the outsider can build a
 * self-consistent sealed genesis around it (one member of its own, or the founders' member ids
 * with its own keys, or a second chain id), but cannot sign as a founder.
 */
const CHAIN = 'policy-chain';
const log = createLogger('silent');
const dir = mkdtempSync(join(tmpdir(), 'consortia-genesis-policy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

const acme = generateKeyPair();
const globex = generateKeyPair();
const mallory = generateKeyPair();
const FOUNDERS = [
  { memberId: 'acme', adminKeys: [toHex(acme.publicKey)] },
  { memberId: 'globex', adminKeys: [toHex(globex.publicKey)] },
];

function nodeConfig(over: Record<string, unknown> = {}): NodeConfig {
  const d = join(dir, `n${n++}`);
  return parseNodeConfig({
    chainId: CHAIN,
    dataDir: d,
    p2pListen: '127.0.0.1:0',
    apiListen: '127.0.0.1:0',
    logLevel: 'silent',
    ...over,
  });
}

/** A genesis with `members` (each approving with its key) and `validators` (node keys, PoP made for `chainId`). */
function genesisOf(
  members: { memberId: string; keys: KeyPair[] }[],
  validators: KeyPair[],
  o: { chainId?: string; time?: number; approve?: boolean } = {},
): SealedGenesis {
  const chainId = o.chainId ?? CHAIN;
  const genesis: Genesis = {
    chainId,
    genesisTime: o.time ?? 1_700_000_000_000,
    params: DEFAULT_PARAMS,
    members: members.map((m) => ({
      memberId: m.memberId,
      name: m.memberId,
      adminKeys: m.keys.map((k) => k.publicKey),
    })),
    validators: validators.map((v) => ({
      memberId: members[0]!.memberId,
      publicKey: v.publicKey,
      power: 1,
      proofOfPossession: signProofOfPossession(chainId, v.secretKey, v.publicKey),
    })),
    nodes: validators.map((v) => ({
      memberId: members[0]!.memberId,
      publicKey: v.publicKey,
      role: 'validator' as const,
    })),
    accounts: [],
  };
  const approvals =
    o.approve === false
      ? []
      : members.map((m) => signGenesisApproval(genesis, m.memberId, m.keys[0]!.secretKey, m.keys[0]!.publicKey));
  return { genesis, approvals };
}

const founders = [
  { memberId: 'acme', keys: [acme] },
  { memberId: 'globex', keys: [globex] },
];
const codeOf = async (p: Promise<unknown> | (() => unknown)): Promise<string | undefined> => {
  try {
    await (typeof p === 'function' ? p() : p);
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
};

describe("a key-generation node accepts only its consortium's genesis", () => {
  it("refuses every outsider-built genesis around its public identity, then installs the founders' one", async () => {
    const cfg = nodeConfig({ expectedGenesis: { members: FOUNDERS, includesSelf: true } });
    const node = await ChainNode.open(cfg, { logger: log });
    try {
      const id = node.identity();
      const self: KeyPair = { publicKey: id.publicKey, secretKey: new Uint8Array(32) }; // public half only: what an outsider has
      const withSelf = (s: SealedGenesis): SealedGenesis => ({
        ...s,
        genesis: {
          ...s.genesis,
          validators: [
            {
              memberId: s.genesis.members[0]!.memberId,
              publicKey: id.publicKey,
              power: 1,
              proofOfPossession: id.proofOfPossession,
            },
          ],
          nodes: [{ memberId: s.genesis.members[0]!.memberId, publicKey: id.publicKey, role: 'validator' }],
        },
      });
      const reseal = (s: SealedGenesis, signers: { memberId: string; keys: KeyPair[] }[]): SealedGenesis => ({
        genesis: s.genesis,
        approvals: signers.map((m) =>
          signGenesisApproval(s.genesis, m.memberId, m.keys[0]!.secretKey, m.keys[0]!.publicKey),
        ),
      });
      const probes: [string, SealedGenesis][] = [
        [
          'one member of its own',
          reseal(withSelf(genesisOf([{ memberId: 'mallory', keys: [mallory] }], [self], { approve: false })), [
            { memberId: 'mallory', keys: [mallory] },
          ]),
        ],
        [
          "founders' member ids with the outsider's keys",
          reseal(
            withSelf(
              genesisOf(
                [
                  { memberId: 'acme', keys: [mallory] },
                  { memberId: 'globex', keys: [mallory] },
                ],
                [self],
                { approve: false },
              ),
            ),
            [
              { memberId: 'acme', keys: [mallory] },
              { memberId: 'globex', keys: [mallory] },
            ],
          ),
        ],
        [
          'one founder plus the outsider',
          reseal(withSelf(genesisOf([{ memberId: 'acme', keys: [mallory] }], [self], { approve: false })), [
            { memberId: 'acme', keys: [mallory] },
          ]),
        ],
        [
          "a founder's key added to the outsider's",
          reseal(
            withSelf(
              genesisOf(
                [
                  { memberId: 'acme', keys: [mallory, acme] },
                  { memberId: 'globex', keys: [globex] },
                ],
                [self],
                { approve: false },
              ),
            ),
            [
              { memberId: 'acme', keys: [mallory] },
              { memberId: 'globex', keys: [globex] },
            ],
          ),
        ],
        ["the founders' genesis without this node", genesisOf(founders, [generateKeyPair()])],
      ];
      for (const [what, g] of probes) {
        expect(await codeOf(node.installGenesis(g)), what).toBe('GENESIS_MISMATCH');
        expect(node.status().genesisInstalled, what).toBe(false);
      }
      const otherChain = withSelf(genesisOf(founders, [self], { chainId: 'other-chain', approve: false }));
      expect(await codeOf(node.installGenesis(reseal(otherChain, founders)))).toBe('GENESIS_MISMATCH');

      const real = reseal(withSelf(genesisOf(founders, [self], { approve: false })), founders);
      await node.installGenesis(real);
      expect(node.status().genesisInstalled).toBe(true);
      expect(toHex(genesisHash(node.genesis()!.genesis))).toBe(toHex(genesisHash(real.genesis)));
    } finally {
      await node.close();
    }
  });

  it('with the genesis hash pinned, another genesis of the same founders and node is refused too', () => {
    const self = generateKeyPair();
    const a = genesisOf(founders, [self], { time: 1 });
    const b = genesisOf(founders, [self], { time: 2 });
    const cfg = {
      chainId: CHAIN,
      role: 'validator' as const,
      expectedGenesis: { hash: toHex(genesisHash(a.genesis)) },
    };
    expect(() => checkProvisionedGenesis(a, cfg, self.publicKey)).not.toThrow();
    expect(() => checkProvisionedGenesis(b, cfg, self.publicKey)).toThrow(
      /not the genesis this node was provisioned for/,
    );
  });
});

describe('a stored genesis never silently wins over the configured one', () => {
  const self = generateKeyPair();
  const real = genesisOf(founders, [self]);
  const foreign = genesisOf([{ memberId: 'mallory', keys: [mallory] }], [self]);
  const json = (s: SealedGenesis) => JSON.stringify(sealedGenesisToJSON(s));

  it('startupGenesis: equal is fine, different is GENESIS_MISMATCH naming both hashes', async () => {
    expect(
      startupGenesis(
        { stored: json(real), configured: json(real) },
        { chainId: CHAIN, role: 'validator' },
        self.publicKey,
      ),
    ).toBeDefined();
    expect(() =>
      startupGenesis(
        { stored: json(foreign), configured: json(real), configuredFrom: '/etc/g.json' },
        { chainId: CHAIN, role: 'validator' },
        self.publicKey,
      ),
    ).toThrow(
      new RegExp(
        `data directory holds genesis ${toHex(genesisHash(foreign.genesis))}.*${toHex(genesisHash(real.genesis))} \\(/etc/g.json\\)`,
      ),
    );
    // nothing configured (key-generation mode): the stored one must still be the provisioned one
    expect(
      await codeOf(() =>
        startupGenesis(
          { stored: json(foreign) },
          { chainId: CHAIN, role: 'validator', expectedGenesis: { members: FOUNDERS, includesSelf: true } },
          self.publicKey,
        ),
      ),
    ).toBe('GENESIS_MISMATCH');
    expect(startupGenesis({}, { chainId: CHAIN, role: 'validator' }, self.publicKey)).toBeUndefined();
  });

  it('a chain node whose data directory holds a foreign genesis refuses to open (and releases its store)', async () => {
    const cfg = nodeConfig({ genesisFile: join(dir, 'real.json') });
    writeFileSync(cfg.genesisFile!, json(real));
    const store = await ChainStore.open(join(cfg.dataDir, 'chain'));
    await store.putGenesisJson(json(foreign)); // e.g. installed by an outsider before the ceremony
    await store.close();
    expect(await codeOf(ChainNode.open(cfg, { logger: log }))).toBe('GENESIS_MISMATCH');
    // key-generation config (no genesis file, founders expected): refused as well
    const keygenCfg = {
      ...cfg,
      genesisFile: undefined,
      expectedGenesis: { members: FOUNDERS, includesSelf: true },
    } as NodeConfig;
    expect(await codeOf(ChainNode.open(keygenCfg, { logger: log }))).toBe('GENESIS_MISMATCH');
    // the store was closed on the way out: it can be opened again
    const again = await ChainStore.open(join(cfg.dataDir, 'chain'));
    expect(await again.getGenesisJson()).toBe(json(foreign));
    await again.close();
  });

  it('a light node whose data directory holds a foreign genesis refuses to open', async () => {
    const cfg = nodeConfig({ role: 'light', genesisFile: join(dir, 'real-light.json') });
    writeFileSync(cfg.genesisFile!, json(real));
    const { mkdirSync } = await import('node:fs');
    mkdirSync(cfg.dataDir, { recursive: true });
    writeFileSync(join(cfg.dataDir, 'genesis.json'), json(foreign));
    expect(await codeOf(LightNode.open(cfg, { logger: log }))).toBe('GENESIS_MISMATCH');
  });
});
