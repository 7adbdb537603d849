import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { RENDER_SLICE_MS } from './limits.js';

/**
 * A JSON object `{ ...head, [listKey]: [render(item), ...], ...tail }` as a stream rendered in
 * slices of at most `sliceMs` per event-loop turn. For answers whose size grows with the data
 * (a whole-state snapshot, pages of large txs): JSON.stringify of tens of MB in one call would
 * hold the event loop, and consensus behind it, for a long time. The bytes equal JSON.stringify's.
 */
export function jsonListStream<T>(
  head: Record<string, unknown>,
  listKey: string,
  items: readonly T[],
  render: (item: T) => unknown,
  tail: Record<string, unknown> = {},
  sliceMs: number = RENDER_SLICE_MS,
): Readable {
  async function* chunks(): AsyncGenerator<string> {
    const open = JSON.stringify(head);
    yield `${open.length > 2 ? `${open.slice(0, -1)},` : '{'}${JSON.stringify(listKey)}:[`;
    let parts: string[] = [];
    let end = performance.now() + sliceMs;
    for (let i = 0; i < items.length; i++) {
      parts.push(JSON.stringify(render(items[i]!)) ?? 'null');
      if ((i & 15) === 15 && performance.now() >= end) {
        yield (i + 1 > parts.length ? ',' : '') + parts.join(',');
        parts = [];
        await nextTurn();
        end = performance.now() + sliceMs;
      }
    }
    const close = JSON.stringify(tail);
    yield (parts.length > 0 && items.length > parts.length ? ',' : '') +
      parts.join(',') +
      `]${close.length > 2 ? `,${close.slice(1)}` : '}'}`;
  }
  return Readable.from(chunks(), { objectMode: false });
}
