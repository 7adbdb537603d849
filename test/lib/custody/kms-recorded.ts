import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { portable } from '../../../src/chain/index.js';

/*
 * A recorded KMS contract: no KMS-compatible server with Ed25519 keys is available here (moto
 * 5.2.6, the newest on PyPI, has no ECC_NIST_EDWARDS25519 key spec), so tests check the exact
 * requests the AWS SDK sends (awsJson1_1: X-Amz-Target + JSON body) and get recorded KMS response
 * shapes back. The signature in a Sign response is a real Ed25519 signature of the request's
 * Message by a key held here, so what the backend returns is verified with the project's verify.
 */
export const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
export const KEY_ARN = `arn:aws:kms:eu-west-1:111122223333:key/${KEY_ID}`;

export interface RecordedRequest {
  target: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

export interface RecordedKms {
  endpoint: string;
  /** The key KMS would hold (the test's stand-in for the key inside KMS). */
  key: { publicKey: Uint8Array; secretKey: Uint8Array };
  spki: Buffer;
  seen: RecordedRequest[];
  /** The key spec GetPublicKey reports (a test may switch it to another spec). */
  keySpec: string;
  /** When set, Sign answers this recorded KMS error instead (e.g. 400 ThrottlingException). */
  signError: { status: number; type: string; message: string } | null;
  close(): Promise<void>;
}

/**
 * `seed`: a fixed 32-byte Ed25519 secret for the key KMS holds, so request bodies are fixed bytes too.
 * `signDelayMs`: each Sign answers after this long, as a KMS round trip does (the node must not care).
 */
export async function startRecordedKms(opts: { seed?: Uint8Array; signDelayMs?: number } = {}): Promise<RecordedKms> {
  // The SDK signs requests (SigV4) with whatever credentials the default chain finds; these are AWS's documented example keys.
  process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE';
  process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
  const key =
    opts.seed === undefined
      ? portable.generateKeyPair()
      : { secretKey: opts.seed, publicKey: portable.getPublicKey(opts.seed) };
  const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(key.publicKey)]);
  const kms: RecordedKms = {
    endpoint: '',
    key,
    spki,
    seen: [],
    keySpec: 'ECC_NIST_EDWARDS25519',
    signError: null,
    close: async () => undefined,
  };

  const respond = (
    target: string,
    body: Record<string, unknown>,
  ): { status: number; json: Record<string, unknown> } => {
    switch (target) {
      case 'TrentService.GetPublicKey':
        if (body.KeyId === 'missing')
          return { status: 400, json: { __type: 'NotFoundException', message: `Key '${KEY_ARN}' does not exist` } };
        return {
          status: 200,
          json: {
            CustomerMasterKeySpec: kms.keySpec,
            KeyId: KEY_ARN,
            KeySpec: kms.keySpec,
            KeyUsage: 'SIGN_VERIFY',
            PublicKey: spki.toString('base64'),
            SigningAlgorithms: ['ED25519_SHA_512', 'ED25519_PH_SHA_512'],
          },
        };
      case 'TrentService.Sign': {
        if (kms.signError !== null)
          return { status: kms.signError.status, json: { __type: kms.signError.type, message: kms.signError.message } };
        const msg = new Uint8Array(Buffer.from(String(body.Message), 'base64'));
        return {
          status: 200,
          json: {
            KeyId: KEY_ARN,
            Signature: Buffer.from(portable.sign(key.secretKey, msg)).toString('base64'),
            SigningAlgorithm: 'ED25519_SHA_512',
          },
        };
      }
      case 'TrentService.CreateKey':
        return {
          status: 200,
          json: {
            KeyMetadata: {
              AWSAccountId: '111122223333',
              Arn: KEY_ARN,
              KeyId: KEY_ID,
              KeySpec: body.KeySpec,
              KeyUsage: body.KeyUsage,
              Enabled: true,
              KeyState: 'Enabled',
            },
          },
        };
      default:
        return { status: 400, json: { __type: 'UnknownOperationException' } };
    }
  };

  const server: Server = createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target']);
      const body = JSON.parse(data) as Record<string, unknown>;
      kms.seen.push({ target, headers: req.headers, body });
      const r = respond(target, body);
      const send = (): void => {
        res.writeHead(r.status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(r.json));
      };
      if (target === 'TrentService.Sign' && (opts.signDelayMs ?? 0) > 0) setTimeout(send, opts.signDelayMs);
      else send();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  kms.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  kms.close = () => new Promise<void>((ok) => server.close(() => ok()));
  return kms;
}
