/**
 * A batch of state writes: key -> new value, null deletes. Its own file so that genesis-state.ts and
 * world-state.ts both use it without importing each other.
 */
export type StateWrites = Map<string, Uint8Array | null>;
