/** Small bounded HTTP GETs against a node API (observe() must never hang the reconciler). */
export interface ProbeResult {
  status: number;
  body: unknown;
}

export async function probe(url: string, timeoutMs: number): Promise<ProbeResult | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* not JSON: keep text */
    }
    return { status: res.status, body };
  } catch {
    return undefined;
  }
}
