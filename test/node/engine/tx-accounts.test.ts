import { describe, expect, it } from 'vitest';
import { encodeTx, generateKeyPair, signTx, toHex, type UnsignedTx } from '../../../src/chain/index.js';
import { accountsOfTx } from '../../../src/node/engine/tx-accounts.js';

const signer = generateKeyPair();
const other = generateKeyPair();
const tx = (body: UnsignedTx['body']) =>
  encodeTx(signTx({ chainId: 'c', signer: signer.publicKey, nonce: 1, body }, signer.secretKey));

describe('accounts a committed tx touches (the account-tx index)', () => {
  it('the signer, and the account on the other side of a transfer, an issue or an asset created for an issuer', () => {
    const me = toHex(signer.publicKey);
    const them = toHex(other.publicKey);
    expect(accountsOfTx(tx({ type: 'transfer', asset: 'USD', to: other.publicKey, amount: 5n }))).toEqual([me, them]);
    expect(accountsOfTx(tx({ type: 'issue_asset', asset: 'USD', to: other.publicKey, amount: 5n }))).toEqual([
      me,
      them,
    ]);
    expect(accountsOfTx(tx({ type: 'create_asset', asset: 'PTS', issuer: other.publicKey }))).toEqual([me, them]);
    expect(accountsOfTx(tx({ type: 'create_asset', asset: 'PTS', issuer: signer.publicKey }))).toEqual([me]);
    expect(accountsOfTx(tx({ type: 'anchor', hash: new Uint8Array(32), metadata: 'm' }))).toEqual([me]);
    expect(accountsOfTx(new Uint8Array([1, 2, 3]))).toEqual([]);
  });
});
