/**
 * Setup file (vitest `setupFiles`): every test ends with one turn of the event loop.
 *
 * A test worker reports results to vitest over IPC and fails with "Timeout calling onTaskUpdate"
 * when a reply is not read within 60 s (vitest's fixed RPC timeout). Replies are read in the
 * loop's poll phase, which a file of synchronous tests (helm and promtool run with spawnSync)
 * never reaches until the file ends: past 60 s on a slow host, the expired timer fires before the
 * reply is read, and a green run exits 1. A turn per test reads the replies as they come.
 */
import { setImmediate as afterPoll } from 'node:timers/promises';
import { afterEach } from 'vitest';

afterEach(async () => {
  await afterPoll(); // the check phase, right after poll: the replies that arrived are read
});
