import type { ConsortiaError } from '../../../lib/errors.js';

/** Waits on conditions over pods and StatefulSets, re-checked on each of their watch events. */
export class PodChanges {
  private readonly listeners = new Set<() => void>();

  /** A Pod or StatefulSet changed. */
  notify(): void {
    for (const l of this.listeners) l();
  }

  /** Resolves once `pred` holds; rejects with `onTimeout()` after `timeoutMs`. */
  waitFor(pred: () => boolean, timeoutMs: number, onTimeout: () => ConsortiaError): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (!pred()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(onTimeout());
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
    });
  }
}
