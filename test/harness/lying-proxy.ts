/**
 * A full node that lies: an HTTP server on 127.0.0.1 that forwards to a real node's API and,
 * depending on `mode`, tampers with answers a light client verifies:
 *   'honest'        forwards unchanged
 *   'forge-header'  /v1/headers: the first header gets another state root, certified by a key that is not a validator
 *   'tamper-proof'  /v1/accounts/<pk>: every balance value is raised (proof left as is)
 */
import { createServer, type Server } from 'node:http';
import {
  blockHash,
  decodeHeader,
  encodeAmount,
  encodeCommit,
  encodeHeader,
  fromHex,
  generateKeyPair,
  signVote,
  toHex,
  decodeAmount,
} from '../../src/chain/index.js';

export type LieMode = 'honest' | 'forge-header' | 'tamper-proof';

export class LyingProxy {
  mode: LieMode = 'honest';
  lies = 0;
  private server: Server | null = null;
  url = '';
  private readonly impostor = generateKeyPair();

  /** `target` may be set after construction (the proxied node's address is known only after ChainNet.init). */
  constructor(
    public target: string,
    private readonly chainId: string,
  ) {}

  async start(host = '127.0.0.1'): Promise<void> {
    this.server = createServer((req, res) => {
      void this.handle(req.url ?? '/').then(
        (r) => {
          res.writeHead(r.status, { 'content-type': 'application/json' });
          res.end(r.body);
        },
        () => {
          res.writeHead(502);
          res.end('{}');
        },
      );
    });
    await new Promise<void>((r) => this.server!.listen(0, host, () => r()));
    const a = this.server.address() as { port: number };
    this.url = `http://${host}:${a.port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private async handle(path: string): Promise<{ status: number; body: string }> {
    const r = await fetch(this.target + path, { signal: AbortSignal.timeout(10_000) });
    const text = await r.text();
    if (r.status !== 200 || this.mode === 'honest') return { status: r.status, body: text };
    const body = JSON.parse(text);
    if (this.mode === 'forge-header' && path.startsWith('/v1/headers') && body.headers?.length > 0) {
      const h = decodeHeader(fromHex(body.headers[0].header));
      h.stateRoot = new Uint8Array(32).fill(7);
      const hash = blockHash(h);
      const vote = signVote(
        this.chainId,
        this.impostor.secretKey,
        this.impostor.publicKey,
        'precommit',
        h.height,
        0,
        hash,
      );
      body.headers = [
        {
          height: h.height,
          header: toHex(encodeHeader(h)),
          commit: toHex(
            encodeCommit({
              height: h.height,
              round: 0,
              blockHash: hash,
              signatures: [{ validator: this.impostor.publicKey, signature: vote.signature }],
            }),
          ),
        },
      ];
      this.lies++;
    } else if (this.mode === 'tamper-proof' && /^\/v1\/accounts\/[0-9a-f]{64}$/.test(path.split('?')[0]!)) {
      for (const p of body.proof ?? []) {
        if (typeof p.key === 'string' && p.key.startsWith('bal/') && p.value)
          p.value = toHex(encodeAmount(decodeAmount(fromHex(p.value)) + 1_000_000n));
      }
      for (const b of body.balances ?? []) b.amount = (BigInt(b.amount) + 1_000_000n).toString();
      this.lies++;
    }
    return { status: 200, body: JSON.stringify(body) };
  }
}
