import { ConsortiaError } from '../lib/errors.js';
import { SdkCodes } from './errors.js';
import type { FetchLike } from './nodes.js';

export interface ControlPlaneOptions {
  /** e.g. https://consortia.example.com */
  url: string;
  /** An organization's API token (bearer). */
  token: string;
  fetch?: FetchLike;
  timeoutMs?: number;
}

interface NodeView {
  id: string;
  role: string;
  desired?: string;
  status: { ready?: boolean; endpoints?: { api?: string } };
}

/**
 * The control plane, asked only where things are: a consortium's node endpoints and its sealed
 * genesis. Neither is trusted as such: the genesis is verified (member approvals), every node
 * answer is verified against certified headers.
 */
export class ControlPlaneClient {
  private readonly fetchFn: FetchLike;
  constructor(private readonly o: ControlPlaneOptions) {
    this.fetchFn = o.fetch ?? fetch;
  }

  private async get<T>(path: string): Promise<T> {
    const url = this.o.url.replace(/\/+$/, '') + path;
    let res: Response;
    try {
      res = await this.fetchFn(url, {
        headers: { authorization: `Bearer ${this.o.token}`, accept: 'application/json' },
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 30_000),
      });
    } catch (err) {
      throw new ConsortiaError(
        SdkCodes.CONTROL_PLANE,
        `cannot reach the control plane at ${this.o.url}: ${(err as Error).message}`,
      );
    }
    const body = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
    if (!res.ok) {
      const code = body?.error?.code ?? `HTTP_${res.status}`;
      throw new ConsortiaError(code, `GET ${path}: ${res.status} ${code}: ${body?.error?.message ?? ''}`, {
        status: res.status,
      });
    }
    return body as T;
  }

  /** API base URLs of the consortium's ready nodes (any role that serves the node API). */
  async nodeEndpoints(consortiumId: string): Promise<string[]> {
    const out: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 100; page++) {
      const q = cursor ? `?cursor=${encodeURIComponent(cursor)}` : '';
      const r = await this.get<{ items?: NodeView[]; nextCursor?: string | null } | NodeView[]>(
        `/v1/consortia/${encodeURIComponent(consortiumId)}/nodes${q}`,
      );
      const items = Array.isArray(r) ? r : (r.items ?? []);
      for (const n of items)
        if (n.desired !== 'deleted' && n.status.ready && n.status.endpoints?.api) out.push(n.status.endpoints.api);
      cursor = Array.isArray(r) ? undefined : (r.nextCursor ?? undefined);
      if (!cursor) break;
    }
    return out;
  }

  /** The sealed genesis JSON (unverified: the client verifies it). */
  async sealedGenesis(consortiumId: string): Promise<unknown> {
    const r = await this.get<{ status: string; sealedGenesis: unknown }>(
      `/v1/consortia/${encodeURIComponent(consortiumId)}/ceremony/genesis`,
    );
    if (r.status !== 'SEALED')
      throw new ConsortiaError(
        SdkCodes.GENESIS_UNTRUSTED,
        `the genesis ceremony of ${consortiumId} is ${r.status}, not SEALED`,
      );
    return r.sealedGenesis;
  }
}
