import { ConsortiaError } from '../../lib/errors.js';
import { NodeApiCodes } from './errors.js';

/** JSON rendering rules of the node API: bytes as lowercase hex, bigint as decimal string. */
export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** Recursively converts domain values into JSON-safe values (Uint8Array -> hex, bigint -> string, Map -> object). */
export function toJsonValue(v: unknown): unknown {
  if (v === null || v === undefined) return v ?? null;
  if (v instanceof Uint8Array) return hex(v);
  if (typeof v === 'bigint') return v.toString(10);
  if (Array.isArray(v)) return v.map(toJsonValue);
  if (v instanceof Map) {
    const o: Record<string, unknown> = {};
    for (const [k, val] of v) o[String(k)] = toJsonValue(val);
    return o;
  }
  if (v instanceof Set) return [...v].map(toJsonValue);
  if (typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
      if (val !== undefined && typeof val !== 'function') o[k] = toJsonValue(val);
    }
    return o;
  }
  return v;
}

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

/** Parses hex from a request (either case accepted), throwing `code` (400) when malformed. */
export function parseHex(
  s: string,
  what: string,
  code: string = NodeApiCodes.INVALID_REQUEST,
  expectLen?: number,
): Uint8Array {
  if (!HEX_RE.test(s)) throw new ConsortiaError(code, `${what} must be an even-length hex string`);
  const b = new Uint8Array(Buffer.from(s, 'hex'));
  if (expectLen !== undefined && b.length !== expectLen) {
    throw new ConsortiaError(code, `${what} must be ${expectLen} bytes (${expectLen * 2} hex chars)`, {
      length: b.length,
    });
  }
  return b;
}
