/**
 * What one request may cost the node API, as named constants with their units. The node runs
 * consensus on the same event loop as its API, so no request may hold that loop for long: a
 * request's size is bounded (bytes, items), its per-item work is done in slices that yield to
 * the loop, and its response is bounded or streamed in slices. Exceeding a limit is a 4xx (or
 * 503 for node-wide capacity) with a stable code and the limit in `error.details`.
 */

/** Most txs (items) one POST /v1/txs/batch may carry; more is 413 BATCH_TOO_LARGE before any is admitted. */
export const TXS_PER_BATCH_MAX = 4096;
/** Largest body of POST /v1/txs/batch, bytes (binary or JSON); more is 413 BODY_TOO_LARGE. Also capped by `api.bodyLimitBytes`. */
export const BATCH_BODY_BYTES_MAX = 4 * 1024 * 1024;
/** Largest body of a route that declares no limit of its own (anything but /v1/txs, /v1/txs/batch, /v1/genesis), bytes. */
export const OTHER_BODY_BYTES_MAX = 64 * 1024;

/** Admission (decode, signature, mempool) of API txs runs for at most this long per event-loop turn, milliseconds. */
export const ADMIT_SLICE_MS = 4;
/** Txs handed to the node per admission step inside a slice (the slice is checked between steps). */
export const ADMIT_STEP_TXS = 16;
/**
 * The same when the node verifies signatures in its worker pool (verifyWorkers > 0): a step then
 * waits for one pool job, so it carries a full job's worth (VERIFY_BATCH_TXS_MAX).
 */
export const ADMIT_STEP_TXS_OFF_THREAD = 256;
/**
 * Longest an API tx waits in the admission queue for its step, milliseconds; then it is refused
 * 429 MEMPOOL_BUSY with the rest of its batch. Under overload a node's verifier is shared with
 * gossip and block validation, and a batch it took could wait 5-8 s before it was admitted, all of
 * it added to its txs' commit latency (BENCH_SLOW=1 npm run bench:chain); refused, its client
 * retries and its txs are admitted in turn.
 */
export const ADMIT_WAIT_MS_MAX = 1_000;
/** API txs waiting for admission on this node, over all requests; a batch that does not fit is 503 BUSY. */
export const ADMIT_QUEUE_TXS_MAX = 4 * TXS_PER_BATCH_MAX;
/** Longest `error.message` of one rejected item in a batch answer, characters (bounds the answer: items x this). */
export const BATCH_ITEM_MESSAGE_CHARS_MAX = 160;

/** Large answers (snapshot, account txs) are rendered for at most this long per event-loop turn, milliseconds. */
export const RENDER_SLICE_MS = 4;
/** Snapshots being served at once (each holds a copy of the whole state); more is 503 BUSY. */
export const SNAPSHOTS_IN_FLIGHT_MAX = 2;

/** GET /v1/headers `count`: headers per page. */
export const HEADERS_PER_PAGE_MAX = 500;
/** GET /v1/accounts/:pk/txs `limit`: txs per page. */
export const ACCOUNT_TXS_PER_PAGE_MAX = 1000;

/** Open /v1/events streams on this node; more is 503 BUSY. */
export const SSE_STREAMS_MAX = 256;
/** Open /v1/events streams of one client (IP); more is 429 RATE_LIMITED. */
export const SSE_STREAMS_PER_CLIENT_MAX = 16;

/**
 * Per-client (IP) request rate limit of the node API: `api.rateLimitMax` requests per
 * `api.rateLimitWindowMs`. /healthz, /readyz and /metrics are never limited. The default is
 * 300 requests/s per client, 15x what bench:chain sends one node (one batch per 50 ms tick) and
 * 60x the e2e suites' polling; loopback is NOT exempt, because the embedded (local) runtime puts
 * every node and client on 127.0.0.x, where an exemption would switch the limit off.
 */
export const RATE_LIMIT_MAX_DEFAULT = 3000;
export const RATE_LIMIT_WINDOW_MS_DEFAULT = 10_000;
