import { randomUUID } from 'node:crypto';
import { fetch as undiciFetch, type Agent } from 'undici';
import { ConsortiaError } from '../lib/errors.js';
import { tlsDispatcher, tlsFailure, type TlsTrust } from '../lib/tls-client.js';
import { CliCodes, usage } from './errors.js';

/**
 * Thin REST client: bearer auth, JSON bodies, Idempotency-Key on creates, API errors kept with their code.
 * HTTPS servers are verified with the system CAs, `trust.caFile`, or the pinned `trust.fingerprint` (lib/tls-client.ts).
 */
export class ApiClient {
  private readonly dispatcher: Agent | undefined;

  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
    private readonly timeoutMs = 30_000,
    trust: TlsTrust = {},
  ) {
    const pinnedOrCa = trust.fingerprint !== undefined || trust.caFile !== undefined;
    if (pinnedOrCa && !baseUrl.toLowerCase().startsWith('https:')) {
      throw usage(`--tls-fingerprint / --ca need an https:// API URL, got ${JSON.stringify(baseUrl)}`);
    }
    this.dispatcher = pinnedOrCa ? tlsDispatcher(trust) : undefined;
  }

  get<T = unknown>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }
  post<T = unknown>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', path, body);
  }
  delete<T = unknown>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }

  /** Follows `nextCursor` until exhausted (bounded). */
  async list<T = unknown>(path: string, max = 10_000): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 1000 && items.length < max; page++) {
      const sep = path.includes('?') ? '&' : '?';
      const res = await this.get<{ items?: T[]; nextCursor?: string | null } | T[]>(
        `${path}${cursor ? `${sep}cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      if (Array.isArray(res)) return res;
      items.push(...(res.items ?? []));
      if (!res.nextCursor) break;
      cursor = res.nextCursor;
    }
    return items;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = this.baseUrl.replace(/\/+$/, '') + path;
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, accept: 'application/json' };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      if (method === 'POST') headers['idempotency-key'] = randomUUID();
    }
    let res: Awaited<ReturnType<typeof undiciFetch>>;
    try {
      res = await undiciFetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
        ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
      });
    } catch (err) {
      const tls = tlsFailure(err, this.baseUrl);
      if (tls) throw tls;
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new ConsortiaError(
        CliCodes.API_UNREACHABLE,
        `cannot reach the control plane at ${this.baseUrl} (${cause})`,
      );
    }
    const text = await res.text();
    let parsed: unknown = undefined;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (!res.ok) {
      const e = (
        parsed as { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | undefined
      )?.error;
      const code = e?.code ?? `HTTP_${res.status}`;
      const detail = describeDetails(e?.details);
      throw new ConsortiaError(
        code,
        `${method} ${path} failed: ${res.status} ${code}: ${e?.message ?? (typeof parsed === 'string' ? parsed : res.statusText)}${detail}`,
        {
          status: res.status,
          ...(e?.details ?? {}),
        },
      );
    }
    return parsed as T;
  }
}

function describeDetails(details: Record<string, unknown> | undefined): string {
  if (!details) return '';
  const field = details.field ?? details.fields ?? details.path;
  return field === undefined ? '' : ` (field: ${Array.isArray(field) ? field.join(', ') : String(field)})`;
}
