/**
 * V8 flags every chain-node process starts with, whoever launches it (the image's entrypoint,
 * the local runtime, the dev network, the e2e harness).
 *
 * 32 MB semi-spaces (V8's default caps them at 16 MB): a pending tx's objects live about one
 * block (~0.5-1 s), and at ~3,000 tx/s a node allocates ~28 MB/s, so a 16 MB semi-space filled
 * in about that time; they survived scavenges, were copied and promoted, and were freed by a
 * major GC later. bench:chain measured ~5% less non-signature CPU per committed tx with 32 MB
 * (A/B, twice). It costs up to 32 MB more memory at full load and nothing when idle (V8 grows the
 * young generation only under allocation pressure).
 * node-image/entrypoint.sh repeats these flags (a shell script cannot import them); a test
 * keeps the two equal.
 */
export const CHAIN_NODE_V8_FLAGS: readonly string[] = ['--max-semi-space-size=32'];
