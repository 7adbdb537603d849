/**
 * The genesis ceremony transcript: its hash chain is src/chain/transcript.ts, shared with the CLI
 * (which verifies a downloaded transcript); canonicalJson is src/lib/canonical-json.ts.
 */
export {
  appendEntry,
  entryHash,
  verifyTranscript,
  GENESIS_PREV_HASH,
  type TranscriptEntry,
  type TranscriptVerdict,
} from './chain-port.js';
export { canonicalJson } from '../../lib/canonical-json.js';
