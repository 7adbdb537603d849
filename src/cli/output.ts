import type { CliIo } from './io.js';

export type Column<T> = [header: string, value: (row: T) => unknown];

/** Prints rows as an aligned table, or the raw JSON with --json. */
export function printTable<T>(io: CliIo, json: boolean, rows: T[], columns: Column<T>[]): void {
  if (json) {
    io.out(JSON.stringify(rows, null, 2));
    return;
  }
  if (rows.length === 0) {
    io.out('(none)');
    return;
  }
  const cells = rows.map((r) => columns.map(([, f]) => cell(f(r))));
  const widths = columns.map(([h], i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (vals: string[]): string =>
    vals
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  io.out([line(columns.map(([h]) => h)), ...cells.map(line)].join('\n'));
}

/** Prints one object as "key: value" lines, or JSON. */
export function printObject(io: CliIo, json: boolean, obj: unknown, fields?: Column<Record<string, unknown>>[]): void {
  if (json) {
    io.out(JSON.stringify(obj, null, 2));
    return;
  }
  const o = (obj ?? {}) as Record<string, unknown>;
  const pairs: [string, unknown][] = fields ? fields.map(([h, f]) => [h, f(o)]) : Object.entries(o);
  const w = Math.max(...pairs.map(([k]) => k.length));
  io.out(pairs.map(([k, v]) => `${(k + ':').padEnd(w + 1)} ${cell(v)}`).join('\n'));
}

function cell(v: unknown): string {
  if (v === undefined || v === null) return '-';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
