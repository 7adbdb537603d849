import { usage } from './errors.js';

/** Flag value parsers: each error names the flag and what was wrong. */
export function intFlag(flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value)) throw usage(`${flag} must be an integer, got ${JSON.stringify(value)}`);
  const n = Number(value);
  if (n < min || n > max) throw usage(`${flag} must be between ${min} and ${max}, got ${n}`);
  return n;
}

export function choiceFlag<T extends string>(
  flag: string,
  value: string | undefined,
  choices: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value))
    throw usage(`${flag} must be one of ${choices.join(', ')}, got ${JSON.stringify(value)}`);
  return value as T;
}

export function hexFlag(flag: string, value: string, bytes: number): string {
  const v = value.toLowerCase();
  if (!new RegExp(`^[0-9a-f]{${bytes * 2}}$`).test(v))
    throw usage(`${flag} must be ${bytes} bytes of hex (${bytes * 2} hex digits), got ${JSON.stringify(value)}`);
  return v;
}

export function listFlag(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export function decimalFlag(flag: string, value: string): bigint {
  if (!/^(0|[1-9]\d{0,19})$/.test(value))
    throw usage(`${flag} must be a non-negative decimal integer, got ${JSON.stringify(value)}`);
  return BigInt(value);
}

export function seconds(flag: string, value: string | undefined, dflt: number): number {
  return intFlag(flag, value, 1, 86_400) ?? dflt;
}

export function enc(id: string): string {
  return encodeURIComponent(id);
}
