/**
 * Helpers for the strict HTTP contract tests of both APIs (src/lib/http-contract.ts): one raw
 * HTTP/1.1 exchange, for what fetch or inject cannot send, and the error-shape assertion.
 */
import { connect } from 'node:net';
import { expect } from 'vitest';

export function expectShape(body: unknown, code: string): void {
  expect(body).toMatchObject({ error: { code, message: expect.any(String), details: expect.any(Object) } });
}

/** Writes `text` to 127.0.0.1:port as is and parses whatever answer comes back. */
export function raw(
  port: number,
  text: string,
): Promise<{ status: number; headers: Record<string, string>; body: any }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(text));
    let data = '';
    s.on('data', (d) => (data += d.toString('latin1')));
    s.on('error', reject);
    s.on('close', () => {
      const [head = '', body = ''] = data.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(
        lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
      );
      let parsed: unknown = body;
      try {
        parsed = JSON.parse(body);
      } catch {
        /* keep text */
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: parsed });
    });
    setTimeout(() => s.end(), 1500).unref();
  });
}
