/**
 * V8 flags every chain-node process starts with, whoever launches it (the image's entrypoint,
 * the local runtime, the dev network, the e2e harness).
 *
 * A 32 MB young generation (V8's default caps it at 16 MB): a pending tx's objects live about
 * one block (~0.5-1 s), and at ~3,000 tx/s a 16 MB semi-space fills in well under that, so they
 * survived scavenges and were copied and promoted, to be freed by a major GC later. bench:chain
 * measured ~5% less non-signature CPU per committed tx with 32 MB; it costs up to ~50 MB of
 * memory at full load and nothing when idle (V8 grows the space on demand).
 * node-image/entrypoint.sh repeats these flags (a shell script cannot import them); a test
 * keeps the two equal.
 */
export const CHAIN_NODE_V8_FLAGS: readonly string[] = ['--max-semi-space-size=32'];
