import { genesisHash, sealedGenesisFromJSON, toHex, type SealedGenesis } from '../chain/index.js';
import { ConsortiaError } from '../lib/errors.js';
import { GENESIS_MISMATCH } from '../lib/node-exit.js';
import type { NodeConfig } from './config.js';

/**
 * Which genesis a node accepts. A sealed genesis only proves that its own members approved it, and
 * a node's public key and proof of possession are public: anyone can build a self-consistent genesis
 * around a node. So a node accepts only the genesis of the consortium it was provisioned for:
 *  - the configured chain id;
 *  - `expectedGenesis.hash`: exactly that genesis (the control plane pins it once the ceremony sealed it);
 *  - `expectedGenesis.members`: exactly the founding members, each with only its own admin keys.
 *    verifySealedGenesis requires every member's approval, so such a genesis cannot be sealed
 *    without the founders' private keys (which never leave their organizations);
 *  - `expectedGenesis.includesSelf`: this node's key is a validator (role validator) or a node of it.
 * And a genesis persisted in the data directory must be the configured one: a node never silently
 * prefers what it stored over what it was given.
 */

type GenesisConfig = Pick<NodeConfig, 'chainId' | 'role' | 'expectedGenesis'>;

function mismatch(message: string, details?: Record<string, unknown>): ConsortiaError {
  return new ConsortiaError(GENESIS_MISMATCH, message, details);
}

export function genesisHashHex(sealed: SealedGenesis): string {
  return toHex(genesisHash(sealed.genesis));
}

/** Throws GENESIS_MISMATCH unless `sealed` is a genesis this node was provisioned for. No signature checks (verifySealedGenesis does those). */
export function checkProvisionedGenesis(sealed: SealedGenesis, cfg: GenesisConfig, self: Uint8Array): void {
  const g = sealed.genesis;
  if (g.chainId !== cfg.chainId) {
    throw mismatch(`genesis is for chain ${g.chainId}; this node was provisioned for chain ${cfg.chainId}`, {
      expectedChainId: cfg.chainId,
      chainId: g.chainId,
    });
  }
  const exp = cfg.expectedGenesis;
  if (exp?.hash !== undefined) {
    const h = genesisHashHex(sealed);
    if (h !== exp.hash.toLowerCase()) {
      throw mismatch(`genesis ${h} is not the genesis this node was provisioned for (${exp.hash})`, {
        expectedGenesisHash: exp.hash,
        genesisHash: h,
      });
    }
  }
  if (exp?.members !== undefined) {
    const want = new Map(exp.members.map((m) => [m.memberId, new Set(m.adminKeys.map((k) => k.toLowerCase()))]));
    const got = g.members.map((m) => m.memberId);
    if (got.length !== want.size || got.some((id) => !want.has(id))) {
      throw mismatch(
        `genesis members [${got.join(', ')}] are not this consortium's founders [${[...want.keys()].join(', ')}]`,
        {
          expectedMembers: [...want.keys()],
          members: got,
        },
      );
    }
    for (const m of g.members) {
      const keys = want.get(m.memberId)!;
      const foreign = m.adminKeys.map(toHex).find((k) => !keys.has(k));
      if (foreign !== undefined) {
        throw mismatch(`genesis gives member ${m.memberId} admin key ${foreign}, which is not one of its keys`, {
          memberId: m.memberId,
          adminKey: foreign,
        });
      }
    }
  }
  if (exp?.includesSelf === true) {
    const me = toHex(self);
    const listed =
      cfg.role === 'validator'
        ? g.validators.some((v) => toHex(v.publicKey) === me)
        : g.nodes.some((n) => toHex(n.publicKey) === me);
    if (!listed) {
      throw mismatch(
        `genesis does not list this node (${me}) as a ${cfg.role === 'validator' ? 'validator' : 'node'}`,
        { publicKey: me },
      );
    }
  }
}

/**
 * The genesis a node starts with: the one persisted in its data directory, or else the configured
 * file. When both exist they must be the same genesis (by hash): a data directory that holds another
 * chain stops the node (GENESIS_MISMATCH) instead of running it. Either way the genesis must pass
 * checkProvisionedGenesis. Returns undefined when there is none (awaiting genesis).
 */
export function startupGenesis(
  src: { stored?: string | undefined; configured?: string | undefined; configuredFrom?: string | undefined },
  cfg: GenesisConfig,
  self: Uint8Array,
): SealedGenesis | undefined {
  const stored = src.stored !== undefined ? sealedGenesisFromJSON(JSON.parse(src.stored)) : undefined;
  const configured = src.configured !== undefined ? sealedGenesisFromJSON(JSON.parse(src.configured)) : undefined;
  if (stored && configured) {
    const hs = genesisHashHex(stored);
    const hc = genesisHashHex(configured);
    if (hs !== hc) {
      throw mismatch(
        `the data directory holds genesis ${hs} (chain ${stored.genesis.chainId}), not the configured genesis ${hc}` +
          `${src.configuredFrom ? ` (${src.configuredFrom})` : ''}: refusing to start on a chain this node was not provisioned for`,
        { storedGenesisHash: hs, configuredGenesisHash: hc },
      );
    }
  }
  const sealed = stored ?? configured;
  if (!sealed) return undefined;
  try {
    checkProvisionedGenesis(sealed, cfg, self);
  } catch (err) {
    if (stored && err instanceof ConsortiaError) {
      throw mismatch(
        `the data directory holds a genesis this node was not provisioned for: ${err.message}`,
        err.details,
      );
    }
    throw err;
  }
  return sealed;
}
