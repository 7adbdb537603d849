import { describe, expect, it } from 'vitest';
import {
  fromHex,
  generateKeyPair,
  secretKeySigner,
  governanceActionHash,
  governanceVotePayload,
  toHex,
  verifyDomain,
} from '../../src/chain/index.js';
import type { OrgKey } from '../../src/cli/key-file.js';
import { signNodeRegistration, type RegistrationView } from '../../src/cli/signing.js';

describe('consortia node register: client-side signature of a node registration', () => {
  const kp = generateKeyPair();
  const org: OrgKey = {
    org: 'org_b',
    file: 'org_b.key',
    backend: 'file',
    publicKey: kp.publicKey,
    signer: secretKeySigner(kp.secretKey),
  };
  const nodeKey = toHex(generateKeyPair().publicKey);
  const honestHash = toHex(
    governanceActionHash({
      type: 'register_node',
      memberId: 'org_b',
      publicKey: fromHex(nodeKey, 32),
      role: 'ordinary',
    }),
  );
  const view = (over: Partial<NonNullable<RegistrationView['registration']>> = {}): RegistrationView => ({
    id: 'node_1',
    orgId: 'org_b',
    role: 'ordinary',
    status: { identity: { publicKey: nodeKey } },
    registration: {
      status: 'AWAITING_SIGNATURE',
      proposalId: 'node-registration-node_1',
      action: { type: 'register_node', memberId: 'org_b', publicKey: nodeKey, role: 'ordinary' },
      actionHash: honestHash,
      ...over,
    },
  });

  it('signs a YES vote over the action hash it recomputes from the node key and role', async () => {
    const body = await signNodeRegistration(org, 'org_b', 'chain-1', view({ actionHash: 'ff'.repeat(32) })); // a served hash is ignored
    expect(body.adminKey).toBe(toHex(org.publicKey));
    const payload = governanceVotePayload('chain-1', 'node-registration-node_1', fromHex(honestHash, 32), 'YES');
    expect(verifyDomain('consortia/gov-vote/v1', org.publicKey, payload, fromHex(body.signature, 64))).toBe(true);
  });

  it('refuses to sign an action that does not match the node, or when nothing awaits a signature', async () => {
    const other = toHex(generateKeyPair().publicKey);
    await expect(
      signNodeRegistration(
        org,
        'org_b',
        'chain-1',
        view({ action: { type: 'register_node', memberId: 'org_b', publicKey: other, role: 'ordinary' } }),
      ),
    ).rejects.toThrow(/does not match/);
    await expect(
      signNodeRegistration(
        org,
        'org_b',
        'chain-1',
        view({ action: { type: 'register_node', memberId: 'org_b', publicKey: nodeKey, role: 'super' } }),
      ),
    ).rejects.toThrow(/does not match/);
    await expect(signNodeRegistration(org, 'org_a', 'chain-1', view())).rejects.toThrow(/does not match/);
    await expect(signNodeRegistration(org, 'org_b', 'chain-1', view({ status: 'REGISTERED' }))).rejects.toThrow(
      /not awaiting/,
    );
  });
});
