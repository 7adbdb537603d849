import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Tags,
  domainMessage,
  secretKeySigner,
  signTxWith,
  verify,
  verifyTxSignature,
} from '../../../src/chain/index.js';
import { CustodyCodes } from '../../../src/lib/custody/errors.js';
import type { Pkcs11KeyRef } from '../../../src/lib/custody/key-ref.js';
import { ed25519FromEcPoint, generatePkcs11Key, openPkcs11Signer, pkcs11Pin } from '../../../src/lib/custody/pkcs11.js';
import { SOFTHSM_MODULE, createSoftHsmToken, type SoftHsmToken } from './softhsm.js';

let token: SoftHsmToken;
const ref = (keyLabel: string): Pkcs11KeyRef => ({
  backend: 'pkcs11',
  module: SOFTHSM_MODULE,
  tokenLabel: 'custody-unit',
  keyLabel,
  pinEnv: 'TEST_HSM_PIN',
});

beforeAll(() => {
  token = createSoftHsmToken('custody-unit');
  process.env.TEST_HSM_PIN = token.pin;
});
afterAll(() => token.remove());

describe('pkcs11 signer (SoftHSM2)', () => {
  it('generates an Ed25519 key inside the token whose CKM_EDDSA signatures verify', async () => {
    const s = generatePkcs11Key(ref('org-a'), pkcs11Pin(ref('org-a'), process.env));
    expect(s.publicKey.length).toBe(32);
    const msg = domainMessage(Tags.GOV_VOTE, new Uint8Array([1, 2, 3]));
    const sig = await s.sign(msg);
    expect(sig.length).toBe(64);
    expect(verify(s.publicKey, msg, sig)).toBe(true);
    expect(verify(s.publicKey, domainMessage(Tags.GOV_VOTE, new Uint8Array([1, 2, 4])), sig)).toBe(false);
    s.close();
  });

  it('reopens the key by label with the same public key, and signs txs through signTxWith', async () => {
    const s = openPkcs11Signer(ref('org-a'), token.pin);
    const again = openPkcs11Signer(ref('org-a'), token.pin);
    expect(Buffer.from(again.publicKey).equals(Buffer.from(s.publicKey))).toBe(true);
    const tx = await signTxWith(s, {
      chainId: 'c',
      signer: s.publicKey,
      nonce: 0,
      body: { type: 'transfer', asset: 'COIN', to: secretKeySigner(new Uint8Array(32)).publicKey, amount: 1n },
    });
    expect(verifyTxSignature(tx)).toBe(true);
    expect(verify(s.publicKey, new Uint8Array([9]), s.signSync(new Uint8Array([9])))).toBe(true);
    s.close();
    again.close();
  });

  it('refuses to generate over an existing label and reports a missing key', () => {
    expect(() => generatePkcs11Key(ref('org-a'), token.pin)).toThrow(
      expect.objectContaining({ code: CustodyCodes.KEY_EXISTS }),
    );
    expect(() => openPkcs11Signer(ref('nobody'), token.pin)).toThrow(
      expect.objectContaining({ code: CustodyCodes.KEY_NOT_FOUND }),
    );
  });

  it('reports an unknown token, a wrong PIN and an unset PIN variable', () => {
    expect(() => openPkcs11Signer({ ...ref('org-a'), tokenLabel: 'no-such-token' }, token.pin)).toThrow(
      expect.objectContaining({ code: CustodyCodes.BACKEND_UNAVAILABLE }),
    );
    const other = createSoftHsmToken('custody-wrong-pin');
    expect(() => openPkcs11Signer({ ...ref('x'), tokenLabel: other.tokenLabel }, '000000')).toThrow(
      expect.objectContaining({ code: CustodyCodes.BACKEND_UNAVAILABLE }),
    );
    expect(() => pkcs11Pin({ ...ref('x'), pinEnv: 'TEST_HSM_PIN_UNSET' }, {})).toThrow(
      expect.objectContaining({ code: CustodyCodes.KEY_REF_INVALID }),
    );
  });

  it('reads CKA_EC_POINT as a DER OCTET STRING or bare, and rejects anything else', () => {
    const k = new Uint8Array(32).fill(7);
    expect(ed25519FromEcPoint(new Uint8Array([4, 32, ...k]))).toEqual(k);
    expect(ed25519FromEcPoint(k)).toEqual(k);
    expect(() => ed25519FromEcPoint(new Uint8Array(65))).toThrow(
      expect.objectContaining({ code: CustodyCodes.KEY_UNSUITABLE }),
    );
  });
});
