/**
 * Open-loop load of signed transfers for multi-process tests and benches: funded accounts
 * send 1 USD to each other (and now and then to a `sink` account) through the binary batch
 * endpoint. Nonces are tracked locally; a refused tx gives its nonce back.
 */
import { encodeTx, generateKeyPair, signTx, type KeyPair } from '../../src/chain/index.js';
import { encodeLengthPrefixed } from '../../src/node/rpc/routes/txs.js';

export class TxLoad {
  readonly accounts: KeyPair[];
  private readonly nonces: number[];
  private timer: NodeJS.Timeout | null = null;
  private i = 0;
  sent = 0;
  refused = 0;

  constructor(
    readonly chainId: string,
    count: number,
    readonly sink: Uint8Array | null = null,
  ) {
    this.accounts = Array.from({ length: count }, () => generateKeyPair());
    this.nonces = this.accounts.map(() => 0);
  }

  /** Genesis entries funding every load account. */
  genesisAccounts(amount = 1_000_000_000n): { publicKey: Uint8Array; balances: { asset: string; amount: bigint }[] }[] {
    return this.accounts.map((a) => ({ publicKey: a.publicKey, balances: [{ asset: 'USD', amount }] }));
  }

  /** One batch: every account sends one transfer; every `sinkEvery`-th goes to the sink. */
  async tick(api: string, sinkEvery = 10): Promise<void> {
    const txs: Uint8Array[] = [];
    const n = this.accounts.length;
    for (let k = 0; k < n; k++) {
      const from = this.accounts[k]!;
      const to =
        this.sink && (this.i + k) % sinkEvery === 0
          ? this.sink
          : this.accounts[(k + 1 + (this.i % (n - 1))) % n]!.publicKey;
      txs.push(
        encodeTx(
          signTx(
            {
              chainId: this.chainId,
              signer: from.publicKey,
              nonce: this.nonces[k]!,
              body: { type: 'transfer', asset: 'USD', to, amount: 1n },
            },
            from.secretKey,
          ),
        ),
      );
    }
    this.i++;
    const r = await fetch(`${api}/v1/txs/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: encodeLengthPrefixed(txs),
      signal: AbortSignal.timeout(10_000),
    });
    if (!r.ok) {
      this.refused += n;
      return;
    }
    const body = (await r.json()) as { results: { status: string }[] };
    body.results.forEach((res, k) => {
      if (res.status === 'accepted') {
        this.nonces[k]!++;
        this.sent++;
      } else this.refused++;
    });
  }

  /** Ticks every `ms` against the APIs in turn until stop(). Errors only skip a tick. */
  start(apis: string[], ms: number, sinkEvery = 10): void {
    let busy = false;
    let j = 0;
    this.timer = setInterval(() => {
      if (busy) return;
      busy = true;
      void this.tick(apis[j++ % apis.length]!, sinkEvery)
        .catch(() => undefined)
        .finally(() => {
          busy = false;
        });
    }, ms);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
