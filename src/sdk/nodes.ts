import { ConsortiaError } from '../lib/errors.js';
import { SdkCodes } from './errors.js';

/** A node's HTTP answer: status and parsed JSON (null when the body was not JSON). */
export interface NodeReply<T = unknown> {
  status: number;
  body: T;
}
/** The HTTP seam (fetch by default); tests and custom transports (TLS agents, proxies) plug in here. */
export type FetchLike = (url: string, init?: RequestInit) => Promise<Response>;

/** Per-request limit when the caller gives none. */
export const NODE_REQUEST_TIMEOUT_MS = 15_000;
/** How long a node whose answer failed verification is skipped. */
export const NODE_BENCH_MS = 30_000;

/** An answer that failed verification: the node lied or is broken. */
export class ProofRejected extends ConsortiaError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(SdkCodes.PROOF_REJECTED, message, details);
  }
}

/**
 * The consortium's node API endpoints, tried in order. A node that does not answer is skipped
 * for that call; a node whose answer failed verification is benched for NODE_BENCH_MS. Nothing a
 * node says is believed here: callers verify what comes back.
 */
export class NodePool {
  private readonly benched = new Map<string, number>();
  private next = 0;

  constructor(
    readonly urls: readonly string[],
    private readonly fetchFn: FetchLike = fetch,
    private readonly timeoutMs = NODE_REQUEST_TIMEOUT_MS,
  ) {
    if (urls.length === 0) throw new ConsortiaError(SdkCodes.NODES_UNREACHABLE, 'no node endpoints given');
  }

  /** Endpoints not benched, starting with a different one each call (spreads load, finds a live one fast). */
  order(): string[] {
    const now = Date.now();
    const live = this.urls.filter((u) => (this.benched.get(u) ?? 0) <= now);
    const list = live.length > 0 ? live : [...this.urls];
    const start = this.next++ % list.length;
    return [...list.slice(start), ...list.slice(0, start)].map((u) => u.replace(/\/+$/, ''));
  }

  bench(url: string): void {
    this.benched.set(url, Date.now() + NODE_BENCH_MS);
  }

  async request<T = unknown>(
    base: string,
    path: string,
    init?: RequestInit,
    timeoutMs = this.timeoutMs,
  ): Promise<NodeReply<T>> {
    const res = await this.fetchFn(base + path, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = null;
    }
    return { status: res.status, body: body as T };
  }

  /**
   * Runs `fn` against nodes in turn until one gives a usable result. ProofRejected benches the
   * node and moves on; network errors, 5xx and 404 move on (a 404 from one node may be a lagging
   * or lying node: "not found" is believed only when no node has it). Another 4xx is a definite
   * answer and is thrown at once.
   */
  async any<T>(what: string, fn: (base: string) => Promise<T>): Promise<T> {
    let last: unknown;
    let notFound: unknown;
    for (const base of this.order()) {
      try {
        return await fn(base);
      } catch (err) {
        last = err;
        if (err instanceof ProofRejected) this.bench(base);
        else if (err instanceof ConsortiaError && err.details?.status === 404) notFound = err;
        else if (err instanceof ConsortiaError && err.code !== SdkCodes.NODES_UNREACHABLE) throw err;
      }
    }
    if (notFound !== undefined) throw notFound;
    if (last instanceof ProofRejected) throw last;
    throw new ConsortiaError(
      SdkCodes.NODES_UNREACHABLE,
      `no node answered ${what}: ${(last as Error | undefined)?.message ?? 'no nodes'}`,
      { nodes: this.urls },
    );
  }
}

/** Turns a non-2xx node answer into an error: 5xx and unknown shapes count as "unreachable" (try another node). */
export function nodeError(r: NodeReply, what: string): ConsortiaError {
  const e = (r.body as { error?: { code?: string; message?: string } } | null)?.error;
  if (r.status >= 500 || !e?.code)
    return new ConsortiaError(SdkCodes.NODES_UNREACHABLE, `${what}: HTTP ${r.status}`, { status: r.status });
  return new ConsortiaError(e.code, `${what}: ${e.code}: ${e.message ?? ''}`, { status: r.status });
}
